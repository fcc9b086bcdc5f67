// The real docker CLI (v28, /usr/local/bin/docker) on nsxd's file and image-archive verbs (issue 12):
// docker diff, docker cp both ways (and an escape attempt through a symlink in the container), docker
// export, docker save | docker load, docker load of garbage; and nsx's own verbs of the same names,
// printing what docker prints. An engine of this file's own, with the sandbox images in its store.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImageTestEngine } from '../image-engine.js';
import { ROOT, TEST_ROOTFS, isRoot, nsx } from '../helpers.js';

const DOCKER = '/usr/local/bin/docker';
const why = !isRoot
  ? 'needs root: a test engine with image containers'
  : !existsSync(DOCKER)
    ? `needs the docker CLI at ${DOCKER} (it is not installed here)`
    : !existsSync('/bin/busybox')
      ? 'needs /bin/busybox to build the sandbox images (apt-get install busybox-static)'
      : '';
if (why) console.log(`docker-cli-fs.test.ts: skipped: ${why}`);
const itDocker: typeof it = ((name: string, fn: any, t?: number) =>
  why ? it.skip(`${name} [skipped: ${why}]`, fn, t) : it(name, fn, t)) as any;

const engine = new ImageTestEngine();
const work = mkdtempSync(join(tmpdir(), 'nsx-docker-fs-'));
const config = join(work, 'docker-config');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  raw: Buffer;
}

/** `docker ARGS` (or `sh -c` with DOCKER_HOST set, for pipes) against this file's engine. */
function run(cmd: string, args: string[], input?: Buffer | string, cwd = work): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: {
        PATH: process.env.PATH,
        DOCKER_HOST: `unix://${engine.socket}`,
        DOCKER_CONFIG: config,
        HOME: config,
        ...engine.env,
      },
    });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out);
      resolve({ code, stdout: raw.toString('utf8'), stderr, raw });
    });
  });
}
const docker = (args: string[], input?: Buffer | string) => run(DOCKER, args, input);
const sh = (script: string) => run('sh', ['-c', script]);

/** A busybox container that makes its changes, then sleeps; waits until they are made. */
async function changed(name: string, script: string): Promise<string> {
  const r = await docker(['run', '-d', '--name', name, 'busybox', 'sh', '-c', `${script}; touch /ready; sleep 1000`]);
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  const upper = (await engine.api('GET', `/containers/${id}/json`)).body.GraphDriver.Data.UpperDir;
  for (let i = 0; i < 100 && !existsSync(join(upper, 'ready')); i++) await new Promise((res) => setTimeout(res, 50));
  return id;
}

describe('the docker CLI: diff, cp, export, save and load through nsxd', () => {
  beforeAll(async () => {
    if (why) return;
    await engine.startWithImages(); // the engine (and nsx) inherit NSX_ROOT and the registries
  }, 120000);
  afterAll(async () => {
    await engine.stopAndRemove();
    rmSync(work, { recursive: true, force: true });
  });

  itDocker('docker diff: C, A and D as docker prints them; a --rootfs container is refused with why', async () => {
    await changed('fs-diff', 'echo x >> /etc/passwd; rm /bin/vi; mkdir /d; echo f > /d/f');
    const d = await docker(['diff', 'fs-diff']);
    expect(d.code).toBe(0);
    expect(d.stderr).toBe('');
    expect(d.stdout).toBe(['C /bin', 'D /bin/vi', 'A /d', 'A /d/f', 'C /etc/passwd', 'A /ready', ''].join('\n'));
    const mine = await nsx(['diff', 'fs-diff'], { env: engine.env });
    expect([mine.code, mine.stdout]).toEqual([0, d.stdout]);

    const c = await engine.api('POST', '/containers/create?name=fs-diff-rootfs', {
      Rootfs: TEST_ROOTFS,
      Cmd: ['true'],
    });
    const refused = await docker(['diff', 'fs-diff-rootfs']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Error response from daemon: cannot list the changes of container');
    expect(refused.stderr).toContain('--rootfs');
    await engine.api('DELETE', `/containers/${c.body.Id}`);
  });

  itDocker('docker cp both ways; a symlink in the container pointing out does not lead out', async () => {
    await changed('fs-cp', 'ln -s / /root/evil; ln -s ../../../../../../../etc /root/up');
    const out = join(work, 'out');
    mkdirSync(out);
    // Out: a file into an existing directory, a directory to a new name, a directory's contents.
    expect((await docker(['cp', 'fs-cp:/etc/passwd', out])).code).toBe(0);
    expect(readFileSync(join(out, 'passwd'), 'utf8')).toContain('learner:x:1000');
    expect((await docker(['cp', 'fs-cp:/etc', join(out, 'etc2')])).code).toBe(0);
    expect(readFileSync(join(out, 'etc2', 'group'), 'utf8')).toContain('learner');
    // Through the container's symlinks: the container's files, never the host's.
    expect((await docker(['cp', 'fs-cp:/root/evil/etc/passwd', join(out, 'viaroot')])).code).toBe(0);
    expect(readFileSync(join(out, 'viaroot'), 'utf8')).toBe(readFileSync(join(out, 'passwd'), 'utf8'));
    expect((await docker(['cp', 'fs-cp:/root/up/passwd', join(out, 'viaup')])).code).toBe(0);
    expect(readFileSync(join(out, 'viaup'), 'utf8')).toContain('learner:x:1000');
    const missing = await docker(['cp', 'fs-cp:/nope', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Could not find the file /nope in container fs-cp');

    // In: a host file, and the escape attempt: /root/evil is "/" in the container.
    const name = `nsx-cp-escape-${process.pid}`;
    writeFileSync(join(work, name), 'from the host\n');
    expect((await docker(['cp', join(work, name), 'fs-cp:/root/evil/'])).code).toBe(0);
    expect(existsSync(`/${name}`)).toBe(false);
    expect((await docker(['exec', 'fs-cp', 'cat', `/${name}`])).stdout).toBe('from the host\n');
    expect((await docker(['cp', join(work, name), 'fs-cp:/root/up/'])).code).toBe(0);
    expect(existsSync(`/etc/${name}`)).toBe(false);
    expect((await docker(['exec', 'fs-cp', 'cat', `/etc/${name}`])).stdout).toBe('from the host\n');
    expect((await docker(['cp', join(work, name), 'fs-cp:/renamed'])).code).toBe(0);
    expect((await docker(['exec', 'fs-cp', 'cat', '/renamed'])).stdout).toBe('from the host\n');

    // nsx cp does the same.
    expect((await nsx(['cp', 'fs-cp:/renamed', join(out, 'nsx-renamed')], { env: engine.env })).code).toBe(0);
    expect(readFileSync(join(out, 'nsx-renamed'), 'utf8')).toBe('from the host\n');
    expect((await nsx(['cp', join(work, name), 'fs-cp:/root/evil/nsx-in'], { env: engine.env })).code).toBe(0);
    expect(existsSync('/nsx-in')).toBe(false);
    expect((await docker(['exec', 'fs-cp', 'cat', '/nsx-in'])).stdout).toBe('from the host\n');
    // "-": a tar on stdin into the container, a tar to stdout out of it.
    const nsxBin = `node ${join(ROOT, 'bin', 'nsx.cjs')}`;
    const piped = await sh(
      `tar cf - -C ${work} ${name} | ${nsxBin} cp - fs-cp:/tmp && ${nsxBin} cp fs-cp:/tmp/${name} - | tar t`,
    );
    expect(piped).toEqual(expect.objectContaining({ code: 0, stdout: `${name}\n` }));
    expect((await sh(`${DOCKER} cp fs-cp:/tmp/${name} - | tar t`)).stdout).toBe(`${name}\n`);
    const bad = await nsx(['cp', 'a', 'b'], { env: engine.env });
    expect(bad.code).toBe(125);
    expect(bad.stderr).toContain('must specify at least one container source');
  });

  itDocker('docker export | tar t lists the container’s files', async () => {
    await changed('fs-export', 'echo e > /exported');
    const r = await sh(`${DOCKER} export fs-export | tar t`);
    expect(r.code).toBe(0);
    const names = r.stdout.split('\n');
    expect(names).toEqual(expect.arrayContaining(['bin/busybox', 'etc/passwd', 'exported', 'proc/']));
    const mine = await sh(`nsx() { node ${join(ROOT, 'bin', 'nsx.cjs')} "$@"; }; nsx export fs-export | tar t`);
    expect(mine.stdout.split('\n')).toEqual(expect.arrayContaining(['bin/busybox', 'exported']));
  });

  itDocker('docker save | docker load round trip; docker load of garbage says what it wants', async () => {
    expect((await docker(['tag', 'busybox', 'nsx-fs-test:1'])).code).toBe(0);
    const tar = join(work, 'saved.tar');
    expect((await docker(['save', '-o', tar, 'nsx-fs-test:1'])).code).toBe(0);
    const listed = await sh(`tar tf ${tar}`);
    expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining(['manifest.json', 'index.json', 'oci-layout']));
    const rmi = await docker(['rmi', 'nsx-fs-test:1']);
    expect(rmi.stdout).toContain('Untagged: nsx-fs-test:1');
    const load = await docker(['load', '-i', tar]);
    expect(load).toEqual(expect.objectContaining({ code: 0, stdout: 'Loaded image: nsx-fs-test:1\n' }));
    const piped = await sh(`${DOCKER} save nsx-fs-test:1 | ${DOCKER} load -q`);
    expect(piped).toEqual(expect.objectContaining({ code: 0, stdout: 'Loaded image: nsx-fs-test:1\n' }));
    expect((await docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout).toContain('nsx-fs-test:1\n');
    const mine = await nsx(['load', '-i', tar], { env: engine.env });
    expect([mine.code, mine.stdout]).toEqual([0, 'Loaded image: nsx-fs-test:1\n']);

    const garbage = await docker(['load'], Buffer.from('this is not a tar archive\n'.repeat(40)));
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain('Error response from daemon: ');
    expect(garbage.stderr).toContain('docker load reads what docker save writes');
    const noSuch = await docker(['save', '-o', join(work, 'x.tar'), 'nope:1']);
    expect(noSuch.code).toBe(1);
    expect(noSuch.stderr).toContain('No such image: nope:1');
  });
});
