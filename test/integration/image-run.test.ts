// nsx run IMAGE on the real kernel: the sandbox images (built here from busybox-static, loaded into a
// test store), overlayfs mounted inside the container (and a copy where it is not used), the
// container's writable layer gone with it and the shared layers never touched, whiteouts, the two
// server versions side by side, rootless, Ctrl-C and kill -9, and the run flow from a real registry.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import {
  buildAll,
  buildImage,
  buildLayer,
  busyboxFiles,
  dirFiles,
  layoutName,
  loadLayout,
  writeLayout,
} from '../../src/image/build.js';
import { ImageStore } from '../../src/image/store.js';
import { gzipSync } from 'node:zlib';
import { makeTar, sha256 } from '../tars.js';
import {
  ROOT,
  TEST_NSX_ROOT,
  UNPRIVILEGED_UID,
  eventsOf,
  evidenceAfter,
  isRoot,
  itRoot,
  nsx,
  stripAnsi,
  type NsxResult,
} from '../helpers.js';
import { leftovers } from '../leaks.js';
import { containerInit, readOr, waitFor } from '../live.js';
import { haveRegistry, haveSkopeo, skopeo, startRegistry, type RunningRegistry } from '../registry.js';

const OCI = join(ROOT, 'test', '.work', 'oci');
const CONTAINERS = join(TEST_NSX_ROOT, 'containers');
const REGISTRIES = join(TEST_NSX_ROOT, 'registries.json');
const ENV = { NSX_ROOT: TEST_NSX_ROOT, NSX_REGISTRIES_CONFIG: REGISTRIES };
const haveBusybox = existsSync('/bin/busybox');
const itImages = (haveBusybox ? itRoot : it.skip) as typeof it;

/** `nsx run --pull never IMAGE …` from the test store. */
function run(
  args: string[],
  extra: { env?: Record<string, string>; uid?: number; timeoutMs?: number; onSpawn?: (pid: number) => void } = {},
): Promise<NsxResult> {
  return nsx(['runtime', 'run', '--pull', 'never', ...args], { ...extra, env: { ...ENV, ...extra.env } });
}

/** Every path of the unpacked layers (or another part of the store) with its type, size, mode, owner
 *  and mtime: the layers must never change. */
function layersSnapshot(root = TEST_NSX_ROOT, part = 'layers'): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      const st = lstatSync(p);
      // A directory's mtime changes when a temporary entry comes and goes: its entries are listed instead.
      out.push(
        `${relative(root, p)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.isDirectory() ? '' : st.mtimeMs} ${st.rdev}`,
      );
      if (st.isDirectory()) walk(p);
    }
  };
  walk(join(root, part));
  return out;
}

const containerDirs = () => (existsSync(CONTAINERS) ? readdirSync(CONTAINERS) : []);

beforeAll(async () => {
  if (!isRoot || !haveBusybox) return;
  rmSync(TEST_NSX_ROOT, { recursive: true, force: true });
  mkdirSync(TEST_NSX_ROOT, { recursive: true, mode: 0o755 });
  chmodSync(TEST_NSX_ROOT, 0o755); // a private user namespace's root (an unprivileged host uid) walks through it
  writeFileSync(REGISTRIES, JSON.stringify({ unqualifiedSearchRegistries: ['docker.io'], insecure: [] }));
  const store = new ImageStore(TEST_NSX_ROOT, { searchRegistries: ['docker.io'] });
  for (const img of await buildAll(join(ROOT, 'sandbox', 'images', 'images.json'))) {
    writeLayout(join(OCI, layoutName(img.ref)), img);
    await loadLayout(store, join(OCI, layoutName(img.ref)));
  }
  // An image whose top layer deletes things of the layers below: a whiteout, an opaque directory.
  const created = '2024-01-01T00:00:00Z';
  const src = mkdtempSync(join(tmpdir(), 'nsx-wh-'));
  const put = (p: string, body = '') => {
    mkdirSync(join(src, p, '..'), { recursive: true });
    writeFileSync(join(src, p), body);
  };
  put('a/usr/share/demo/keep', 'kept');
  put('a/usr/share/demo/drop', 'dropped');
  put('a/opq/old', 'hidden by the opaque directory above it');
  put('b/usr/share/demo/.wh.drop');
  put('b/opq/.wh..wh..opq');
  put('b/opq/new', 'new');
  put('b/bin/.wh.vi');
  const base = await buildLayer('busybox', busyboxFiles('/bin/busybox'), new Date(created));
  const a = await buildLayer('a', dirFiles(join(src, 'a')), new Date(created));
  const b = await buildLayer('b', dirFiles(join(src, 'b')), new Date(created));
  const wh = buildImage({ ref: 'nsx-test/whiteouts:1', layers: [], config: { Cmd: ['sh'] } }, [base, a, b], created);
  writeLayout(join(OCI, 'whiteouts'), wh);
  await loadLayout(store, join(OCI, 'whiteouts'));
  rmSync(src, { recursive: true, force: true });
}, 120000);

afterAll(() => {
  if (isRoot) expect(containerDirs()).toEqual([]);
});

describe('nsx run IMAGE', () => {
  if (!haveBusybox)
    it.skip('[skipped: no /bin/busybox to build the sandbox images from; sudo apt-get install busybox-static]', () =>
      undefined);

  itImages("runs dockerinaction/hello_world's default command from the store", async () => {
    const r = await run(['dockerinaction/hello_world']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello world\n');
    expect(r.code).toBe(0);
    expect(containerDirs()).toEqual([]);
    const cleaned = eventsOf(r, 'cleaned-up')[0];
    expect(cleaned.removed.join('\n')).toMatch(
      new RegExp(`${CONTAINERS}/[0-9a-f]{64} \\(the container's writable layer\\)`),
    );
  });

  for (const mode of ['overlay', 'copy'] as const) {
    describe(`${mode} mode`, () => {
      const env = { NSX_ROOTFS_MODE: mode };

      itImages('mounts the root as it says, inside the container only', async () => {
        let nsxPid = 0;
        const running = run(
          [
            '--entrypoint',
            'sh',
            'busybox',
            '-c',
            'grep " / / " /proc/self/mountinfo; while [ ! -e /tmp/release ]; do usleep 20000; done',
          ],
          { env, onSpawn: (p) => (nsxPid = p) },
        );
        const init = await containerInit(nsxPid);
        const inside = readOr(`/proc/${init}/mountinfo`);
        const host = readOr('/proc/self/mountinfo');
        writeFileSync(`/proc/${init}/root/tmp/release`, '');
        const r = await running;
        expect(r.code).toBe(0);
        const rootLine = r.stdout.split('\n')[0];
        if (mode === 'overlay') {
          expect(rootLine).toMatch(/ - overlay overlay .*lowerdir=/);
          expect(inside).toMatch(/ - overlay /);
          expect(host).not.toContain(TEST_NSX_ROOT); // never mounted on the host
          expect(eventsOf(r, 'step-applied').find((e) => e.step.id === 'rootfs')?.step.title).toMatch(/overlayfs/);
          expect(evidenceAfter(r, 'pivot-root')?.process.root).toMatch(
            new RegExp(`^${CONTAINERS}/[0-9a-f]{64}/merged \\(overlay\\)$`),
          );
        } else {
          expect(rootLine).not.toMatch(/ - overlay /);
          expect(
            eventsOf(r, 'step-applied')
              .find((e) => e.step.id === 'rootfs')
              ?.step.notes.join(' '),
          ).toMatch(/copied into this directory.*NSX_ROOTFS_MODE=copy/);
        }
        expect(containerDirs()).toEqual([]);
      });

      itImages(
        "keeps the container's writes in its own layer: gone with it, the image's layers untouched",
        async () => {
          const before = layersSnapshot();
          const w = await run(
            [
              'busybox',
              'sh',
              '-c',
              'echo mine > /etc/written && echo extra >> /etc/passwd && rm /bin/ls && mkdir -p /usr/share/new && cat /etc/written && ls /bin/ls 2>&1; exit 0',
            ],
            { env },
          );
          expect(w.stderr).toBe('');
          expect(w.code).toBe(0);
          expect(w.stdout).toMatch(/^mine\n.*No such file/s);
          expect(layersSnapshot()).toEqual(before);
          expect(containerDirs()).toEqual([]);
          const r = await run(
            [
              'busybox',
              'sh',
              '-c',
              'ls /etc/written 2>&1; grep -c extra /etc/passwd; ls /bin/ls; ls /usr/share/new 2>&1; exit 0',
            ],
            { env },
          );
          expect(r.stdout).toMatch(/\/etc\/written: No such file or directory\n0\n\/bin\/ls\n.*No such file/);
        },
      );

      itImages('gives server:1 and server:2 each its own files at the same paths', async () => {
        const one = await run(['nsx-sandbox/server:1'], { env });
        const two = await run(['nsx-sandbox/server:2', 'sh', '-c', 'server; pwd; echo $SERVER_HOME; cat FORMAT'], {
          env,
        });
        expect([one.stderr, two.stderr]).toEqual(['', '']);
        expect(one.stdout).toBe('server 1.0 (/usr/lib/server/VERSION)\n');
        expect(two.stdout).toBe(
          'server 2.0 (/usr/lib/server/VERSION)\n/usr/lib/server\n/usr/lib/server\nformat 2: records are JSON (cannot read format 1 data without an upgrade)\n',
        );
      });

      itImages('honours whiteouts and opaque directories of the layers', async () => {
        const r = await run(
          [
            'nsx-test/whiteouts:1',
            'sh',
            '-c',
            'ls /usr/share/demo; ls /opq; ls /bin/vi 2>&1; echo x > /opq/mine; ls /opq; exit 0',
          ],
          { env },
        );
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('keep\nnew\nls: /bin/vi: No such file or directory\nmine\nnew\n');
        expect(containerDirs()).toEqual([]);
      });
    });
  }

  itImages('with a private user namespace as root, copies with the owners shifted', async () => {
    const r = await run([
      '--userns',
      'private',
      'nsx-sandbox/server:1',
      'sh',
      '-c',
      'stat -c "%U %u" /home/learner /usr/lib/server/VERSION; id -u; echo ok > /root/x && cat /root/x',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('learner 1000\nroot 0\n0\nok\n');
    expect(
      eventsOf(r, 'step-applied')
        .find((e) => e.step.id === 'rootfs')
        ?.step.notes.join(' '),
    ).toMatch(/shifts file owners/);
  });

  itImages(
    "runs rootless from the user's own store: overlayfs in the user namespace (userxattr)",
    async () => {
      const root = join(TEST_NSX_ROOT, 'rootless');
      mkdirSync(root, { recursive: true });
      chownSync(root, UNPRIVILEGED_UID, UNPRIVILEGED_UID);
      const out = join(root, 'oci');
      const load = spawnSync(
        process.execPath,
        [join(ROOT, 'scripts', 'build-sandbox-images.mjs'), '--load', '--out', out],
        {
          env: { ...process.env, NSX_ROOT: root, NSX_REGISTRIES_CONFIG: REGISTRIES, HOME: root },
          uid: UNPRIVILEGED_UID,
          gid: UNPRIVILEGED_UID,
          encoding: 'utf8',
        },
      );
      expect(load.stderr).toBe('');
      const r = await run(
        [
          'nsx-sandbox/server:2',
          'sh',
          '-c',
          'server; id -u; echo w > /usr/lib/server/VERSION; cat /usr/lib/server/VERSION',
        ],
        { uid: UNPRIVILEGED_UID, env: { NSX_ROOT: root, HOME: root } },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('server 2.0 (/usr/lib/server/VERSION)\n0\nw\n');
      expect(r.events.find((e) => e.type === 'step-applied' && e.step.id === 'rootfs')).toBeDefined();
      expect(readdirSync(join(root, 'containers'))).toEqual([]);
      expect(
        spawnSync('grep', [
          '-rq',
          'w',
          ...readdirSync(join(root, 'layers', 'sha256'))
            .map((d) => join(root, 'layers', 'sha256', d, 'diff', 'usr/lib/server/VERSION'))
            .filter(existsSync),
        ]).status,
      ).not.toBe(0);
      rmSync(root, { recursive: true, force: true });
    },
    60000,
  );

  itImages('fails like docker for an image not in the store with --pull never, creating nothing', async () => {
    const r = await run(['nsx-sandbox/nothing:here', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/No such image: nsx-sandbox\/nothing:here/);
    const e = await run(['busybox', 'no-such-command']);
    expect(e.code).toBe(127);
    expect(e.stderr).toMatch(/exec: "no-such-command": executable file not found/);
    expect(containerDirs()).toEqual([]);
  });

  itImages('removes the writable layer when interrupted (Ctrl-C)', async () => {
    let nsxPid = 0;
    const running = run(['busybox', 'sleep', '30'], { onSpawn: (p) => (nsxPid = p) });
    await containerInit(nsxPid);
    expect(containerDirs().length).toBe(1);
    process.kill(nsxPid, 'SIGINT');
    const r = await running;
    expect(r.code).toBe(130);
    expect(containerDirs()).toEqual([]);
  });

  itImages(
    "after kill -9 of nsx, the next run removes the dead container's directory; nothing stays mounted",
    async () => {
      let nsxPid = 0;
      const running = run(['busybox', 'sleep', '30'], { onSpawn: (p) => (nsxPid = p) });
      const init = await containerInit(nsxPid);
      process.kill(nsxPid, 'SIGKILL');
      await running;
      await waitFor(() => !readOr(`/proc/${init}/status`)); // the shim's supervisor kills the container
      expect(containerDirs().length).toBe(1);
      expect(leftovers().mounts).toEqual([]);
      const r = await run(['dockerinaction/hello_world']);
      expect(r.stdout).toBe('hello world\n');
      expect(containerDirs()).toEqual([]);
    },
  );
});

describe('nsx run IMAGE from a registry', () => {
  const itReg = (haveRegistry && haveBusybox ? itRoot : it.skip) as typeof it;
  if (!haveRegistry)
    it.skip('[skipped: no /usr/bin/docker-registry; sudo apt-get install docker-registry]', () => undefined);
  let reg: RunningRegistry | undefined;
  let store = '';
  beforeAll(async () => {
    if (!isRoot || !haveRegistry || !haveBusybox) return;
    reg = await startRegistry();
    // The builder pushes the sandbox images (npm run sandbox:images -- --push REGISTRY) from a store of its own.
    const pusher = join(TEST_NSX_ROOT, 'pusher');
    const push = spawnSync(
      process.execPath,
      [join(ROOT, 'scripts', 'build-sandbox-images.mjs'), '--push', reg.host, '--out', join(pusher, 'oci')],
      {
        env: { ...process.env, NSX_ROOT: pusher, NSX_REGISTRIES_CONFIG: REGISTRIES },
        encoding: 'utf8',
      },
    );
    if (push.status !== 0) throw new Error(`sandbox:images --push failed: ${push.stderr}`);
    store = join(TEST_NSX_ROOT, 'pulled');
    mkdirSync(store, { recursive: true });
    writeFileSync(
      join(store, 'registries.json'),
      JSON.stringify({ unqualifiedSearchRegistries: [reg.host, 'docker.io'], insecure: [] }),
    );
  }, 120000);
  afterAll(async () => {
    await reg?.stop();
  });
  const pullEnv = () => ({ NSX_ROOT: store, NSX_REGISTRIES_CONFIG: join(store, 'registries.json') });

  itReg("pulls what it does not have, in docker's words, then runs it; a second run pulls nothing", async () => {
    const first = await nsx(['runtime', 'run', 'dockerinaction/hello_world'], { env: pullEnv() });
    expect(first.code).toBe(0);
    expect(first.stdout).toBe('hello world\n');
    const err = stripAnsi(first.stderr);
    expect(err).toMatch(/Unable to find image 'dockerinaction\/hello_world:latest' locally/);
    expect(err).toMatch(/latest: Pulling from dockerinaction\/hello_world/);
    expect(err).toMatch(/Digest: sha256:[0-9a-f]{64}/);
    expect(err).toMatch(/Status: Downloaded newer image for /);
    const second = await nsx(['runtime', 'run', 'dockerinaction/hello_world'], { env: pullEnv() });
    expect(second.stderr).toBe('');
    expect(second.stdout).toBe('hello world\n');
  });

  itReg(
    'refuses a layer that writes outside itself: the pull fails, the store is as it was, nothing written outside',
    async () => {
      const pusher = new ImageStore(join(TEST_NSX_ROOT, 'pusher'), { searchRegistries: ['docker.io'] });
      const escape = join(tmpdir(), `nsx-escaped-${process.pid}`);
      const tar = await makeTar([
        { name: 'ok', body: 'fine' },
        { name: `../../../../../../../..${escape}`, body: 'escaped' },
      ]);
      const gz = gzipSync(tar);
      const layer = { name: 'evil', bytes: gz, digest: sha256(gz), size: gz.length, diffId: sha256(tar) };
      const evil = buildImage(
        { ref: `${reg!.host}/evil/layer:1`, layers: [], config: { Cmd: ['sh'] } },
        [layer],
        '2024-01-01T00:00:00Z',
      );
      writeLayout(join(TEST_NSX_ROOT, 'pusher', 'oci', 'evil'), evil);
      await loadLayout(pusher, join(TEST_NSX_ROOT, 'pusher', 'oci', 'evil'));
      const pushed = await nsx(['push', `${reg!.host}/evil/layer:1`], {
        env: { NSX_ROOT: pusher.root, NSX_REGISTRIES_CONFIG: REGISTRIES },
      });
      expect(pushed.code).toBe(0);
      const before = layersSnapshot(store);
      const blobs = layersSnapshot(store, 'images/blobs');
      const images = (await nsx(['images', '-q'], { env: pullEnv() })).stdout;
      for (const argv of [
        ['pull', `${reg!.host}/evil/layer:1`],
        ['runtime', 'run', `${reg!.host}/evil/layer:1`],
      ]) {
        const r = await nsx(argv, { env: pullEnv() });
        expect(r.code).toBe(argv[0] === 'pull' ? 1 : 125);
        expect(r.stderr).toMatch(/"\.\.\/\.\.\/[^"]*escaped-\d+": a "\.\." component would climb out of the layer/);
        expect(existsSync(escape)).toBe(false);
        expect(layersSnapshot(store)).toEqual(before);
        expect(layersSnapshot(store, 'images/blobs')).toEqual(blobs);
        expect((await nsx(['images', '-q'], { env: pullEnv() })).stdout).toBe(images);
        expect(existsSync(join(store, 'containers')) ? readdirSync(join(store, 'containers')) : []).toEqual([]);
      }
    },
  );

  (haveSkopeo ? itReg : it.skip)(
    'runs a sandbox image that skopeo, a client no one here wrote, copied from its OCI layout',
    async () => {
      skopeo([
        'copy',
        '--dest-tls-verify=false',
        `oci:${join(OCI, layoutName('nsx-sandbox/server:2'))}:2`,
        `docker://${reg!.host}/copied/server:2`,
      ]);
      const r = await nsx(['runtime', 'run', `${reg!.host}/copied/server:2`], { env: pullEnv() });
      expect(r.stdout).toBe('server 2.0 (/usr/lib/server/VERSION)\n');
      expect(r.code).toBe(0);
    },
  );

  itReg('shares layers: server:2 after server:1 downloads only its own layer', async () => {
    const one = await nsx(['runtime', 'run', 'nsx-sandbox/server:1'], { env: pullEnv() });
    expect(one.stdout).toBe('server 1.0 (/usr/lib/server/VERSION)\n');
    const two = await nsx(['runtime', 'run', '--pull', 'always', 'nsx-sandbox/server:2'], { env: pullEnv() });
    expect(two.stdout).toBe('server 2.0 (/usr/lib/server/VERSION)\n');
    expect(stripAnsi(two.stderr)).toMatch(/Already exists/);
    expect(readdirSync(join(store, 'layers', 'sha256')).filter((n) => !n.startsWith('.')).length).toBe(3); // busybox, server-1, server-2
    expect(readdirSync(join(store, 'containers'))).toEqual([]);
  });
});
