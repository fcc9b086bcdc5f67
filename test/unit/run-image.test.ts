// nsx run IMAGE: docker's rules for the image config (Entrypoint, Cmd, Env, WorkingDir, User), the
// checks made in the image's layers, the root filesystem made last; the rootfs step's overlay mount.
import { describe, expect, it } from '@jest/globals';
import { markCommandStart } from '../../src/cli/run/index.js';
import { parsePullPolicy } from '../../src/cli/run/image.js';
import { NsxError } from '../../src/runtime/errors.js';
import { hintFor } from '../../src/runtime/hints.js';
import {
  imageCommand,
  specFromRunOptions,
  type ImageRun,
  type ImageRunConfig,
  type RootfsView,
  type RunOptions,
} from '../../src/runtime/options.js';
import { buildPlan, type HostFacts } from '../../src/runtime/plan.js';
import { MS } from '../../src/runtime/steps/common.js';
import type { ContainerSpec } from '../../src/runtime/spec.js';

/** An image's files as a map, seen the way LayeredView shows them. */
function view(files: Record<string, string>): RootfsView {
  return {
    describe: "the image's 1 layer",
    has: (p) => p in files || Object.keys(files).some((f) => f.startsWith(p.replace(/\/$/, '') + '/')),
    readFile: (p) => files[p],
  };
}

const FILES = {
  '/bin/sh': '',
  '/bin/echo': '',
  '/usr/bin/server': '',
  '/etc/passwd': 'root:x:0:0::/root:/bin/sh\npg:x:70:70::/var/lib/pg:/bin/sh\n',
  '/etc/group': 'root:x:0:\npg:x:70:\n',
};

function imageRun(config: ImageRunConfig, calls: { prepared: number } = { prepared: 0 }): ImageRun {
  return {
    ref: 'nsx-sandbox/server:1',
    config,
    view: view(FILES),
    prepare: (id) => {
      calls.prepared++;
      return {
        path: `/store/containers/${id}/merged`,
        overlay: {
          lowerdirs: ['/store/layers/sha256/b/diff', '/store/layers/sha256/a/diff'],
          upper: `/u/${id}`,
          work: `/w/${id}`,
          target: `/store/containers/${id}/merged`,
        },
      };
    },
  };
}

const seccomp: RunOptions['loadSeccomp'] = () => ({ profile: { defaultAction: 'SCMP_ACT_ALLOW' }, source: 'default' });
const opts = (o: Partial<RunOptions>): RunOptions => ({ command: [], loadSeccomp: seccomp, root: true, ...o });

describe("imageCommand: docker's Entrypoint and Cmd rule", () => {
  const cfg = { Entrypoint: ['/entry.sh'], Cmd: ['serve', '--port', '80'] };
  it('runs Entrypoint + Cmd by default', () =>
    expect(imageCommand(cfg, [], undefined)).toEqual(['/entry.sh', 'serve', '--port', '80']));
  it('replaces Cmd with the command given', () =>
    expect(imageCommand(cfg, ['version'], undefined)).toEqual(['/entry.sh', 'version']));
  it('--entrypoint replaces Entrypoint and drops Cmd', () => expect(imageCommand(cfg, [], 'sh')).toEqual(['sh']));
  it('--entrypoint with a command', () => expect(imageCommand(cfg, ['-c', 'id'], 'sh')).toEqual(['sh', '-c', 'id']));
  it('--entrypoint "" clears Entrypoint but keeps Cmd', () =>
    expect(imageCommand(cfg, [], '')).toEqual(['serve', '--port', '80']));
  it('Cmd alone, and nothing at all', () => {
    expect(imageCommand({ Cmd: ['echo', 'hello world'] }, [], undefined)).toEqual(['echo', 'hello world']);
    expect(imageCommand({ Entrypoint: null, Cmd: null }, [], undefined)).toEqual([]);
  });
});

describe('specFromRunOptions with an image', () => {
  it("takes Env under -e, WorkingDir, User (looked up in the image's /etc/passwd) and the command from the config", () => {
    const s = specFromRunOptions(
      opts({
        image: imageRun({
          Env: ['PATH=/usr/bin:/bin', 'SERVER_HOME=/usr/lib/server', 'MODE=image'],
          Cmd: ['server'],
          WorkingDir: '/usr/lib/server',
          User: 'pg',
        }),
        env: ['MODE=cli'],
      }),
    );
    expect(s.process.args).toEqual(['server']);
    expect(s.process.env).toEqual(
      expect.arrayContaining([
        'PATH=/usr/bin:/bin',
        'SERVER_HOME=/usr/lib/server',
        'MODE=cli',
        `HOSTNAME=${s.hostname}`,
      ]),
    );
    expect(s.process.env.filter((e) => e.startsWith('PATH=') || e.startsWith('MODE='))).toEqual([
      'PATH=/usr/bin:/bin',
      'MODE=cli',
    ]);
    expect(s.process.cwd).toBe('/usr/lib/server');
    expect(s.process.user).toEqual({ uid: 70, gid: 70, additionalGids: [] });
    expect(s.root.overlay?.target).toBe(s.root.path);
  });

  it('lets -w and -u override the image, and defaults PATH and / when the image says nothing', () => {
    const s = specFromRunOptions(
      opts({ image: imageRun({ Cmd: ['sh'], WorkingDir: '/x', User: 'pg' }), workdir: '/tmp', user: '0:0' }),
    );
    expect(s.process.cwd).toBe('/tmp');
    expect(s.process.user.uid).toBe(0);
    const d = specFromRunOptions(opts({ image: imageRun({ Cmd: ['sh'] }) }));
    expect(d.process.cwd).toBe('/');
    expect(d.process.env[0]).toBe('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  it("finds the command in the image's layers, and fails like docker (127) when it is not there, creating nothing", () => {
    const calls = { prepared: 0 };
    let err: unknown;
    try {
      specFromRunOptions(opts({ image: imageRun({ Cmd: ['nginx'] }, calls) }));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NsxError);
    expect((err as NsxError).message).toMatch(/exec: "nginx": executable file not found/);
    expect((err as NsxError).exitCode).toBe(127);
    expect((err as NsxError).info.hint).toMatch(/nsx run --entrypoint ls nsx-sandbox\/server:1 \/bin/);
    expect(calls.prepared).toBe(0);
  });

  it('says "no command specified" when the image names none, and makes the root only for good options', () => {
    const calls = { prepared: 0 };
    expect(() => specFromRunOptions(opts({ image: imageRun({}, calls) }))).toThrow(/no command specified/);
    expect(() => specFromRunOptions(opts({ image: imageRun({ Cmd: ['sh'] }, calls), network: 'bridge' }))).toThrow(
      /--network bridge/,
    );
    expect(() => specFromRunOptions(opts({ image: imageRun({ Cmd: ['sh'], User: 'nobody' }, calls) }))).toThrow(
      /no user "nobody"/,
    );
    expect(calls.prepared).toBe(0);
    specFromRunOptions(opts({ image: imageRun({ Cmd: ['sh'] }, calls) }));
    expect(calls.prepared).toBe(1);
  });

  it('passes the user namespace maps to prepare (copy mode shifts owners through them)', () => {
    let got: unknown;
    const run = imageRun({ Cmd: ['sh'] });
    specFromRunOptions(
      opts({ image: { ...run, prepare: (id, maps) => ((got = maps), run.prepare(id, maps)) }, userns: 'private' }),
    );
    expect(got).toMatchObject({
      uidMappings: [{ containerID: 0, size: expect.any(Number) }],
      gidMappings: [{ containerID: 0 }],
    });
  });
});

describe('the rootfs step with an overlay root', () => {
  const host: HostFacts = {
    arch: 'x86_64',
    kernel: '6.1.0',
    root: true,
    lastCap: 40,
    bounding: [],
    pathKind: () => 'absent',
    rootfsHas: () => true,
    resolve: (p) => `/merged${p}`,
  };
  const spec = (): ContainerSpec =>
    specFromRunOptions(opts({ image: imageRun({ Cmd: ['sh'] }), securityOpt: ['seccomp=unconfined'] }));

  it("mounts overlayfs (layers top first, the container's upper and work) on the new root instead of a bind mount", () => {
    const s = spec();
    const step = buildPlan(s, host).find((p) => p.id === 'rootfs')!;
    expect(step.title).toMatch(/overlayfs/);
    expect(step.actions).toEqual([
      {
        kind: 'shim',
        op: 'mount',
        source: 'overlay',
        target: s.root.path,
        fstype: 'overlay',
        flags: 0,
        data: `lowerdir=/store/layers/sha256/b/diff:/store/layers/sha256/a/diff,upperdir=/u/${s.id},workdir=/w/${s.id}`,
      },
    ]);
    expect(step.shell).toMatch(/^mount -t overlay overlay -o lowerdir=/);
    expect(step.why).toMatch(/overlayfs\.rst/);
    expect(step.notes.join('\n')).toMatch(/2 layers \(top first\)/);
    // pivot_root then takes the overlay's mount point as the new root
    expect(buildPlan(s, host).find((p) => p.id === 'pivot-root')!.actions[0]).toEqual({
      kind: 'shim',
      op: 'pivot_root',
      root: s.root.path,
    });
  });

  it('adds userxattr rootless, and binds as before without an overlay (noting a copy)', () => {
    const s = spec();
    s.root.overlay!.userxattr = true;
    const [mount] = buildPlan(s, host).find((p) => p.id === 'rootfs')!.actions as { data: string }[];
    expect(mount.data).toMatch(/,userxattr$/);
    const copied: ContainerSpec = {
      ...s,
      root: { path: '/c/rootfs', copied: { layers: 2, reason: 'NSX_ROOTFS_MODE=copy' } },
    };
    const step = buildPlan(copied, host).find((p) => p.id === 'rootfs')!;
    expect(step.actions).toEqual([
      {
        kind: 'shim',
        op: 'mount',
        source: '/c/rootfs',
        target: '/c/rootfs',
        fstype: '',
        flags: MS.BIND | MS.REC,
        data: '',
      },
    ]);
    expect(step.notes[0]).toMatch(
      /the image's 2 layers were copied into this directory, the container's own \(NSX_ROOTFS_MODE=copy\)/,
    );
  });
});

describe('hints for a failed overlay mount', () => {
  it('says what overlayfs needs, and how to copy instead', () => {
    const s = specFromRunOptions(opts({ image: imageRun({ Cmd: ['sh'] }) }));
    expect(hintFor('rootfs', { syscall: 'mount', errnoName: 'EINVAL' }, s)).toMatch(
      /overlayfs refused its options.*NSX_ROOTFS_MODE=copy/,
    );
    expect(hintFor('rootfs', { syscall: 'mount', errnoName: 'ENODEV' }, s)).toMatch(/no overlay filesystem/);
    expect(hintFor('rootfs', { syscall: 'mount', errnoName: 'ENOENT', detail: '/x' }, s)).toMatch(
      /mount point \/x does not exist/,
    ); // the usual ones still
  });
});

describe('the command line', () => {
  it('ends the options at the image: the rest is the command, verbatim', () => {
    expect(markCommandStart(['run', '--pull', 'never', '-e', 'A=1', 'busybox', 'sh', '-c', 'ls -l'])).toEqual([
      'run',
      '--pull',
      'never',
      '-e',
      'A=1',
      '--',
      'busybox',
      'sh',
      '-c',
      'ls -l',
    ]);
    expect(markCommandStart(['run', '--entrypoint', 'ls', 'busybox', '-l'])).toEqual([
      'run',
      '--entrypoint',
      'ls',
      '--',
      'busybox',
      '-l',
    ]);
  });
  it("knows docker's pull policies", () => {
    expect(parsePullPolicy(undefined)).toBe('missing');
    expect(parsePullPolicy('never')).toBe('never');
    expect(() => parsePullPolicy('sometimes')).toThrow(/--pull sometimes: unknown policy/);
  });
});
