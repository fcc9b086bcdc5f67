// The plan: STEP_ORDER, each step's operations, skips with reasons — built for machines we are not on.
import { describe, expect, it } from '@jest/globals';
import { CAPABILITY_NAMES, DOCKER_DEFAULT_CAPS, capNumber } from '../../src/runtime/capabilities.js';
import type { Action, ShimAction } from '../../src/runtime/actions.js';
import { buildExecPlan, buildPlan, swapSteps, type HostFacts, type PlannedStep } from '../../src/runtime/plan.js';
import type { ShimOp } from '../../src/runtime/shim-ops.js';
import {
  DOCKER_MASKED_PATHS,
  DOCKER_READONLY_PATHS,
  defaultMounts,
  type ContainerSpec,
} from '../../src/runtime/spec.js';
import { EXEC_IDS, STEP_IDS, STEP_INFO } from '../../src/runtime/steps.js';
import { CLONE, MS, mountFlags } from '../../src/runtime/steps/common.js';
import { DEFAULT_DEVICE_RULES, compileDeviceRules } from '../../src/runtime/devices/index.js';
import { thrownNsxError } from '../helpers.js';

const ROOT = '/var/lib/nsx/rootfs';

function host(over: Partial<HostFacts> = {}): HostFacts {
  return {
    arch: 'x86_64',
    kernel: '6.1.0',
    root: true,
    deviceCgroup: 'v1',
    lastCap: 40,
    bounding: [...CAPABILITY_NAMES],
    pathKind: (p) =>
      p === '/proc/acpi' || p === '/sys/firmware'
        ? 'dir'
        : p === '/proc/kcore' || DOCKER_READONLY_PATHS.includes(p)
          ? 'file'
          : 'absent',
    compileSeccomp: () => Buffer.alloc(16, 1),
    rootfsHas: (p) => p === '/',
    resolve: (p) => `${ROOT}${p === '/' ? '' : p}`,
    ...over,
  };
}

function spec(over: Partial<ContainerSpec> = {}, linux: Partial<ContainerSpec['linux']> = {}): ContainerSpec {
  return {
    id: 'a'.repeat(64),
    process: {
      args: ['/bin/sh'],
      env: ['PATH=/bin'],
      cwd: '/',
      user: { uid: 0, gid: 0 },
      capabilities: [...DOCKER_DEFAULT_CAPS],
      apparmorProfile: 'nsx-default', // as options.ts sets it without --privileged or apparmor=unconfined
    },
    root: { path: ROOT },
    hostname: 'box',
    mounts: defaultMounts({ sysfs: 'mount', ptsGid: true }),
    linux: {
      namespaces: ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'network'].map((type) => ({ type: type as 'pid' })),
      maskedPaths: DOCKER_MASKED_PATHS,
      readonlyPaths: DOCKER_READONLY_PATHS,
      devices: [...DEFAULT_DEVICE_RULES],
      seccomp: { profile: {}, source: 'test' },
      ...linux,
    },
    nsx: { rootMode: 'pivot_root', network: 'none' },
    ...over,
  };
}

const step = (plan: PlannedStep[], id: string) => plan.find((s) => s.id === id)!;
const ops = (s: PlannedStep) => s.actions.map((a) => (a.kind === 'shim' ? a.op : `host:${a.op}`));
/** The shim actions of a step with this op. */
const shimOps = <K extends ShimOp['op']>(s: PlannedStep, op: K) =>
  s.actions.filter((a): a is Extract<ShimAction, { op: K }> => a.kind === 'shim' && a.op === op);

describe('STEP_ORDER', () => {
  it('is the order real runtimes use', () => {
    const at = (id: (typeof STEP_IDS)[number]) => STEP_IDS.indexOf(id);
    expect(at('cgroup')).toBe(0);
    expect(at('userns')).toBeLessThan(at('namespaces'));
    expect(at('namespaces')).toBeLessThan(at('fork'));
    expect(at('fork')).toBeLessThan(at('mount-private'));
    expect(at('mount-private')).toBeLessThan(at('rootfs'));
    expect(at('tmp')).toBeLessThan(at('pivot-root'));
    expect(at('pivot-root')).toBeLessThan(at('hostname'));
    // runc's standard_init_linux.go: apparmor.ApplyProfile after sethostname, before no_new_privs.
    expect(at('hostname')).toBeLessThan(at('lsm'));
    expect(at('lsm')).toBeLessThan(at('no-new-privs'));
    expect(at('no-new-privs')).toBeLessThan(at('capabilities'));
    expect(at('capabilities')).toBeLessThan(at('seccomp'));
    expect(STEP_IDS[STEP_IDS.length - 1]).toBe('exec');
  });
  it('documents every step with syscalls, a shell equivalent and a man page', () => {
    for (const id of STEP_IDS) {
      const info = STEP_INFO[id];
      expect(info.syscalls.length).toBeGreaterThan(0);
      expect(info.manPage).toMatch(/^[a-z_]+\(\d\)$/);
      expect(info.why.length).toBeGreaterThan(20);
    }
  });
});

describe('buildPlan', () => {
  it('has every step in STEP_ORDER, in order', () => {
    expect(buildPlan(spec(), host()).map((s) => s.id)).toEqual([...STEP_IDS]);
  });

  it('skips the user namespace, the lsm (no AppArmor) and no_new_privs by default, with the reason', () => {
    const plan = buildPlan(spec(), host());
    expect(plan.filter((s) => s.skip).map((s) => s.id)).toEqual(['userns', 'lsm', 'no-new-privs']);
    expect(step(plan, 'userns').skip).toMatch(/--userns host/);
  });

  it('creates the namespaces in one unshare with exactly the asked flags', () => {
    const s = step(buildPlan(spec(), host()), 'namespaces');
    expect(s.actions).toEqual([
      {
        kind: 'shim',
        op: 'unshare',
        flags: CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS | CLONE.NEWCGROUP | CLONE.NEWNET,
      },
    ]);
    expect(shimOps(s, 'unshare')[0].flags).toBe(
      CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS | CLONE.NEWCGROUP | CLONE.NEWNET,
    );
    expect(s.syscalls[0]).toContain('CLONE_NEWNET');
    expect(s.shell).toBe('unshare --uts --ipc --net --mount --cgroup');
  });

  it('forks after unsharing the PID namespace', () => {
    expect(ops(step(buildPlan(spec(), host()), 'fork'))).toEqual(['unshare', 'fork']);
  });

  it('writes the id maps from the host between unshare(CLONE_NEWUSER) and becoming root inside', () => {
    const s = spec(
      {},
      {
        namespaces: [{ type: 'user' }, { type: 'pid' }, { type: 'uts' }, { type: 'mount' }],
        uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
        gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      },
    );
    const userns = step(buildPlan(s, host({ root: false })), 'userns');
    expect(ops(userns)).toEqual(['unshare', 'host:id-maps', 'setresgid', 'setresuid']);
    expect(userns.actions[1]).toEqual({
      kind: 'host',
      op: 'id-maps',
      uidMap: '0 1000 1\n',
      gidMap: '0 1000 1\n',
      setgroups: 'deny',
    });
  });

  it('refuses a user namespace without maps', () => {
    expect(() => buildPlan(spec({}, { namespaces: [{ type: 'user' }, { type: 'mount' }] }), host())).toThrow(
      /uid and gid mappings/,
    );
  });

  it('mounts into the rootfs before pivot_root, and masks after it', () => {
    const plan = buildPlan(spec(), host());
    const [proc] = shimOps(step(plan, 'proc'), 'mount');
    expect(proc).toEqual({
      kind: 'shim',
      op: 'mount',
      source: 'proc',
      target: `${ROOT}/proc`,
      fstype: 'proc',
      flags: MS.NOSUID | MS.NOEXEC | MS.NODEV,
      data: '',
    });
    const mask = shimOps(step(plan, 'mask-paths'), 'mount').map((a) => [a.source, a.target]);
    expect(mask).toContainEqual(['/dev/null', '/proc/kcore']);
    expect(mask).toContainEqual(['tmpfs', '/proc/acpi']);
    expect(mask.some(([, target]) => target.startsWith(ROOT))).toBe(false);
  });

  it("makes read-only paths read-only by a bind remount that keeps /proc's locked flags", () => {
    const remount = shimOps(step(buildPlan(spec(), host()), 'mask-paths'), 'mount').find(
      (a) => a.target === '/proc/sys' && a.flags & MS.REMOUNT,
    )!;
    expect(remount.flags).toBe(MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  });

  it('binds /sys instead of mounting sysfs when a user namespace shares the host network', () => {
    const mounts = defaultMounts({ sysfs: 'bind', ptsGid: false });
    const sys = mounts.find((m) => m.destination === '/sys')!;
    expect(sys.type).toBe('bind');
    expect(mounts.find((m) => m.destination === '/dev/pts')!.options).not.toContain('gid=5');
  });

  it('drops from the bounding set exactly the capabilities not kept', () => {
    const caps = step(buildPlan(spec(), host()), 'capabilities');
    const [{ caps: drop }] = shimOps(caps, 'bset_drop');
    expect(drop).toHaveLength(CAPABILITY_NAMES.length - DOCKER_DEFAULT_CAPS.length);
    expect(drop).toContain('CAP_SYS_ADMIN');
    expect(drop).not.toContain('CAP_CHOWN');
  });

  it('keeps CAP_SYS_ADMIN until the filter is in when no_new_privs is off, then drops it', () => {
    const plan = buildPlan(spec(), host());
    const effective = (s: PlannedStep) => shimOps(s, 'capset').map((a) => a.effective);
    expect(effective(step(plan, 'capabilities'))[0]).toContain('CAP_SYS_ADMIN');
    expect(ops(step(plan, 'seccomp'))).toEqual(['seccomp', 'capset']);
    expect(effective(step(plan, 'seccomp'))[0]).not.toContain('CAP_SYS_ADMIN');
    expect(step(plan, 'capabilities').notes.join(' ')).toMatch(/CAP_SYS_ADMIN/);
  });

  it('needs no CAP_SYS_ADMIN detour with no_new_privs', () => {
    const s = spec();
    s.process.noNewPrivileges = true;
    const plan = buildPlan(s, host());
    expect(ops(step(plan, 'seccomp'))).toEqual(['seccomp']);
    expect(ops(step(plan, 'no-new-privs'))).toEqual(['no_new_privs']);
  });

  it('uses chroot only when asked, and labels it unsafe', () => {
    const s = buildPlan(spec({ nsx: { rootMode: 'chroot', network: 'none' } }), host());
    expect(step(s, 'pivot-root').title).toMatch(/UNSAFE/);
    expect(ops(step(s, 'pivot-root'))).toEqual(['chroot']);
  });

  it('makes the working directory when the rootfs lacks it', () => {
    const s = spec();
    s.process.cwd = '/work';
    expect(ops(step(buildPlan(s, host()), 'pivot-root'))).toEqual(['pivot_root', 'mkdir']);
  });

  it('refuses a hostname without a UTS namespace', () => {
    expect(() => buildPlan(spec({}, { namespaces: [{ type: 'pid' }, { type: 'mount' }] }), host())).toThrow(
      /UTS namespace/,
    );
  });

  it('refuses --network veth without root', () => {
    expect(() => buildPlan(spec({ nsx: { rootMode: 'pivot_root', network: 'veth' } }), host({ root: false }))).toThrow(
      /needs root/,
    );
  });

  it('passes argv and env to exec in one instruction', () => {
    const exec = step(buildPlan(spec(), host()), 'exec');
    expect(exec.actions.at(-1)).toEqual({ kind: 'shim', op: 'exec', argv: ['/bin/sh'], env: ['PATH=/bin'] });
  });
});

describe('whole plans: every action of every step', () => {
  const sh = (op: ShimOp): Action => ({ kind: 'shim', ...op });
  const mount = (source: string, target: string, fstype: string, flags: number, data = '') =>
    sh({ op: 'mount', source, target, fstype, flags, data });
  const mkdir = (path: string) => sh({ op: 'mkdir', path, mode: 0o755 });
  const device = (d: string) => [
    sh({ op: 'touch', path: `${ROOT}/dev/${d}` }),
    mount(`/dev/${d}`, `${ROOT}/dev/${d}`, '', MS.BIND),
  ];
  const link = (target: string, name: string) => sh({ op: 'symlink', target, path: `${ROOT}/dev/${name}` });
  const readOnly = (p: string) => [
    mount(p, p, '', MS.BIND | MS.REC),
    mount(p, p, '', MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC),
  ];
  const kept = [...DOCKER_DEFAULT_CAPS];
  const dropped = CAPABILITY_NAMES.filter((c) => !kept.includes(c));
  const actionsOf = (plan: PlannedStep[]) => Object.fromEntries(plan.map((s) => [s.id, s.actions]));

  /** A default root container (docker run's defaults): seccomp without no_new_privs, so CAP_SYS_ADMIN
   *  is kept until the filter is in. */
  const defaults = (): Record<string, Action[]> => ({
    cgroup: [{ kind: 'host', op: 'cgroup', limits: {} }],
    devices: [{ kind: 'host', op: 'devices', via: 'v1', rules: [...DEFAULT_DEVICE_RULES] }],
    userns: [],
    namespaces: [
      sh({ op: 'unshare', flags: CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET | CLONE.NEWNS | CLONE.NEWCGROUP }),
    ],
    network: [sh({ op: 'loopback_up' })],
    fork: [sh({ op: 'unshare', flags: CLONE.NEWPID }), sh({ op: 'fork' })],
    'mount-private': [mount('', '/', '', MS.REC | MS.PRIVATE)],
    rootfs: [mount(ROOT, ROOT, '', MS.BIND | MS.REC)],
    proc: [mkdir(`${ROOT}/proc`), mount('proc', `${ROOT}/proc`, 'proc', MS.NOSUID | MS.NODEV | MS.NOEXEC)],
    dev: [
      mkdir(`${ROOT}/dev`),
      mount('tmpfs', `${ROOT}/dev`, 'tmpfs', MS.NOSUID | MS.STRICTATIME, 'mode=755,size=65536k'),
      ...['null', 'zero', 'full', 'random', 'urandom', 'tty'].flatMap(device),
      link('/proc/self/fd', 'fd'),
      link('/proc/self/fd/0', 'stdin'),
      link('/proc/self/fd/1', 'stdout'),
      link('/proc/self/fd/2', 'stderr'),
      link('pts/ptmx', 'ptmx'),
      mkdir(`${ROOT}/dev/pts`),
      mount('devpts', `${ROOT}/dev/pts`, 'devpts', MS.NOSUID | MS.NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5'),
      mkdir(`${ROOT}/dev/shm`),
      mount('shm', `${ROOT}/dev/shm`, 'tmpfs', MS.NOSUID | MS.NODEV | MS.NOEXEC, 'mode=1777,size=65536k'),
      mkdir(`${ROOT}/dev/mqueue`),
      mount('mqueue', `${ROOT}/dev/mqueue`, 'mqueue', MS.NOSUID | MS.NODEV | MS.NOEXEC),
    ],
    sys: [mkdir(`${ROOT}/sys`), mount('sysfs', `${ROOT}/sys`, 'sysfs', MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC)],
    tmp: [mkdir(`${ROOT}/tmp`), mount('tmpfs', `${ROOT}/tmp`, 'tmpfs', MS.NOSUID | MS.NODEV, 'mode=1777')],
    'pivot-root': [sh({ op: 'pivot_root', root: ROOT })],
    'mask-paths': [
      mount('tmpfs', '/proc/acpi', 'tmpfs', MS.RDONLY),
      mount('/dev/null', '/proc/kcore', '', MS.BIND),
      mount('tmpfs', '/sys/firmware', 'tmpfs', MS.RDONLY),
      ...['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'].flatMap(readOnly),
    ],
    hostname: [sh({ op: 'sethostname', name: 'box' })],
    lsm: [], // host() has no AppArmor
    'no-new-privs': [],
    capabilities: [
      sh({ op: 'bset_drop', caps: dropped }),
      sh({ op: 'keep_caps', on: true }),
      sh({ op: 'setgroups', gids: [] }),
      sh({ op: 'setresgid', gid: 0 }),
      sh({ op: 'setresuid', uid: 0 }),
      sh({ op: 'keep_caps', on: false }),
      sh({
        op: 'capset',
        effective: [...kept, 'CAP_SYS_ADMIN'],
        permitted: [...kept, 'CAP_SYS_ADMIN'],
        inheritable: [],
      }),
    ],
    seccomp: [
      sh({ op: 'seccomp', flags: 0, filter: '01'.repeat(16) }),
      sh({ op: 'capset', effective: kept, permitted: kept, inheritable: [] }),
    ],
    exec: [sh({ op: 'chdir', path: '/' }), sh({ op: 'exec', argv: ['/bin/sh'], env: ['PATH=/bin'] })],
  });

  it('a default container', () => {
    expect(actionsOf(buildPlan(spec(), host()))).toEqual(defaults());
  });

  it('-m 64m --pids-limit 20 --cpus 0.5: the cgroup step carries the limits, and names the values it writes', () => {
    const resources = { memory: { limit: 64 << 20 }, pids: { limit: 20 }, cpu: { quota: 50000, period: 100000 } };
    const plan = buildPlan(spec({}, { resources }), host());
    const limits = { memoryBytes: 64 << 20, pidsMax: 20, cpuQuotaUs: 50000, cpuPeriodUs: 100000 };
    expect(actionsOf(plan)).toEqual({ ...defaults(), cgroup: [{ kind: 'host', op: 'cgroup', limits }] });
    // No layout known: v2's names (a machine's own layout: test/unit/cgroup-words.test.ts).
    expect(step(plan, 'cgroup').syscalls).toEqual([
      'mkdir("/sys/fs/cgroup/nsx/<id>")',
      'write("/sys/fs/cgroup/nsx/<id>/memory.max", "67108864")',
      'write("/sys/fs/cgroup/nsx/<id>/memory.swap.max", "0") (if the file exists)',
      'write("/sys/fs/cgroup/nsx/<id>/pids.max", "20")',
      'write("/sys/fs/cgroup/nsx/<id>/cpu.max", "50000 100000")',
      'write("/sys/fs/cgroup/nsx/<id>/cgroup.procs", pid)',
    ]);
    // On a v1 machine, v1's files in each controller's hierarchy, in the syscalls and by hand.
    const v1 = {
      version: 'v1' as const,
      unifiedControllers: [],
      v1: { memory: '/cg/memory', pids: '/cg/pids', cpu: '/cg/cpu' },
    };
    const onV1 = step(buildPlan(spec({}, { resources }), host({ cgroups: v1 })), 'cgroup');
    expect(onV1.syscalls).toContain('write("/cg/memory/nsx/<id>/memory.limit_in_bytes", "67108864")');
    expect(onV1.syscalls).toContain('write("/cg/cpu/nsx/<id>/cpu.cfs_quota_us", "50000")');
    expect(onV1.shell).toContain('echo 67108864 > /cg/memory/nsx/<id>/memory.limit_in_bytes');
    expect([...onV1.syscalls, onV1.shell].join('\n')).not.toMatch(/memory\.max|cpu\.max/);
  });

  it('rootless: no cgroup, a user namespace with its maps, no supplementary groups', () => {
    const maps = {
      uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    };
    const namespaces = ['user', 'pid', 'ipc', 'uts', 'mount', 'cgroup', 'network'].map((type) => ({
      type: type as 'pid',
    }));
    const plan = buildPlan(spec({}, { namespaces, ...maps }), host({ root: false }));
    const whole = defaults();
    expect(actionsOf(plan)).toEqual({
      ...whole,
      cgroup: [],
      devices: [],
      userns: [
        sh({ op: 'unshare', flags: CLONE.NEWUSER }),
        { kind: 'host', op: 'id-maps', uidMap: '0 1000 1\n', gidMap: '0 1000 1\n', setgroups: 'deny' },
        sh({ op: 'setresgid', gid: 0 }),
        sh({ op: 'setresuid', uid: 0 }),
      ],
      capabilities: whole.capabilities.filter((a) => !(a.kind === 'shim' && a.op === 'setgroups')),
    });
    expect(step(plan, 'cgroup').skip).toMatch(/without root/);
    expect(step(plan, 'devices').skip).toMatch(/without root: nsx sets no device cgroup/);
  });

  it("devices: v1's rules, or on a cgroup2-only machine the eBPF program; --privileged: none", () => {
    const v1 = step(buildPlan(spec(), host()), 'devices');
    expect(v1.notes[0]).toMatch(
      /^cgroup v1 devices controller, the last matching rule wins: deny a \*:\* rwm; allow c \*:\* m; /,
    );
    const bpf = step(buildPlan(spec(), host({ deviceCgroup: 'bpf' })), 'devices');
    expect(bpf.actions).toEqual([{ kind: 'host', op: 'devices', via: 'bpf', rules: [...DEFAULT_DEVICE_RULES] }]);
    expect(bpf.notes[0]).toContain(
      `an eBPF program of ${compileDeviceRules(DEFAULT_DEVICE_RULES).length} instructions`,
    );
    expect(bpf.manPage).toBe('bpf(2)');
    expect(step(buildPlan(spec({}, { devices: undefined }), host()), 'devices').skip).toMatch(
      /--privileged: every device is allowed/,
    );
    expect(step(buildPlan(spec(), host({ deviceCgroup: undefined })), 'devices').skip).toMatch(/no cgroup filesystem/);
  });
});

describe('lsm: the AppArmor profile, applied at exec where AppArmor is enabled', () => {
  const attr = '/proc/self/attr/apparmor/exec';
  const enabled = (profiles?: string[]) => host({ apparmor: { execAttr: attr, ...(profiles ? { profiles } : {}) } });
  const load = { kind: 'host', op: 'apparmor-load', profile: 'nsx-default' };
  const write = (profile: string) => ({ kind: 'shim', op: 'write', path: attr, text: `exec ${profile}` });

  it('enabled: nsx-default is loaded when the kernel lacks it, then asked for at exec; the whole plan', () => {
    const plan = buildPlan(spec(), enabled(['docker-default', 'other']));
    const lsm = step(plan, 'lsm');
    expect(lsm.skip).toBeUndefined();
    expect(lsm.actions).toEqual([load, write('nsx-default')]);
    expect(lsm.syscalls).toEqual([`write("${attr}", "exec nsx-default")`]);
    // Only the lsm step differs from the plan on a machine without AppArmor.
    const without = buildPlan(spec(), host());
    expect(plan.map((s) => (s.id === 'lsm' ? [] : s.actions))).toEqual(without.map((s) => s.actions));
    // Already loaded: only the write. securityfs unreadable (profiles unknown): loaded again, --replace.
    expect(step(buildPlan(spec(), enabled(['nsx-default'])), 'lsm').actions).toEqual([write('nsx-default')]);
    expect(step(buildPlan(spec(), enabled()), 'lsm').actions).toEqual([load, write('nsx-default')]);
    // The older kernels' shared attr file, as execAttrPath found it.
    const old = buildPlan(spec(), host({ apparmor: { execAttr: '/proc/self/attr/exec', profiles: ['nsx-default'] } }));
    expect(step(old, 'lsm').actions).toEqual([
      { kind: 'shim', op: 'write', path: '/proc/self/attr/exec', text: 'exec nsx-default' },
    ]);
  });

  it('enabled: a profile named with apparmor=NAME is only written, never generated; not loaded: an error naming it', () => {
    const named = (p: string) => spec({ process: { ...spec().process, apparmorProfile: p } });
    expect(step(buildPlan(named('mine'), enabled(['mine'])), 'lsm').actions).toEqual([write('mine')]);
    const e = thrownNsxError(() => buildPlan(named('absent'), enabled(['mine'])));
    expect(e.message).toBe('AppArmor profile absent is not loaded in the kernel');
    expect(e.info.hint).toMatch(/apparmor_parser -r \/etc\/apparmor.d\/absent/);
  });

  it('disabled (this machine, CI): skipped with the reason, and a note when a profile was named', () => {
    const lsm = step(buildPlan(spec(), host()), 'lsm');
    expect(lsm.actions).toEqual([]);
    expect(lsm.skip).toMatch(/AppArmor is not enabled on this machine/);
    expect(lsm.notes).toEqual([]);
    const named = step(buildPlan(spec({ process: { ...spec().process, apparmorProfile: 'mine' } }), host()), 'lsm');
    expect(named.skip).toMatch(/AppArmor is not enabled/);
    expect(named.notes).toEqual(['the profile mine (--security-opt apparmor=mine) is not applied: no AppArmor']);
  });

  it('unconfined and --privileged: skipped, saying which, even where AppArmor is enabled', () => {
    const unconfined = spec({ process: { ...spec().process, apparmorProfile: undefined } });
    const u = buildPlan(unconfined, enabled(['nsx-default']));
    expect(step(u, 'lsm')).toMatchObject({ actions: [], skip: expect.stringMatching(/^apparmor=unconfined/) });
    const privileged = spec({ process: { ...spec().process, apparmorProfile: undefined } }, { devices: undefined });
    expect(step(buildPlan(privileged, enabled()), 'lsm').skip).toMatch(/^--privileged: no AppArmor profile/);
    expect(step(buildPlan(spec(), { ...enabled(), root: false }), 'lsm').skip).toMatch(/without root/);
  });
});

describe('step properties: what code outside the runtime asks of a step, carried in the plan', () => {
  it('pivot-root changes the root (also as chroot), fork forks, exec starts the command; no other step does', () => {
    for (const p of [
      buildPlan(spec(), host()),
      buildPlan(spec({ nsx: { rootMode: 'chroot', network: 'none' } }), host()),
    ]) {
      expect(p.filter((s) => s.changesRoot).map((s) => s.id)).toEqual(['pivot-root']);
      expect(p.filter((s) => s.forks).map((s) => s.id)).toEqual(['fork']);
      expect(p.filter((s) => s.startsCommand).map((s) => s.id)).toEqual(['exec']);
    }
  });
  it("docker exec: joining the namespaces enters the container's root; fork and exec as in the container", () => {
    const p = buildExecPlan(spec(), host(), 42);
    expect(p.filter((s) => s.changesRoot).map((s) => s.id)).toEqual(['namespaces']);
    expect(p.filter((s) => s.forks).map((s) => s.id)).toEqual(['fork']);
    expect(p.filter((s) => s.startsCommand).map((s) => s.id)).toEqual(['exec']);
  });
  it('survive JSON, as a plan does on its way to the engine', () => {
    const p = buildPlan(spec(), host());
    expect(JSON.parse(JSON.stringify(p))).toEqual(p);
  });
});

describe('swapSteps', () => {
  it('swaps two steps for the "break it" lesson, leaving the original alone', () => {
    const plan = buildPlan(spec(), host());
    const broken = swapSteps(plan, 'capabilities', 'mount-private');
    expect(broken.findIndex((s) => s.id === 'capabilities')).toBe(plan.findIndex((s) => s.id === 'mount-private'));
    expect(plan.map((s) => s.id)).toEqual([...STEP_IDS]);
  });
});

describe('mountFlags', () => {
  it('splits OCI options into flags and data', () => {
    expect(mountFlags(['nosuid', 'noexec', 'mode=755', 'size=65536k'])).toEqual({
      flags: MS.NOSUID | MS.NOEXEC,
      data: 'mode=755,size=65536k',
    });
    expect(mountFlags(['rbind', 'ro'])).toEqual({ flags: MS.BIND | MS.REC | MS.RDONLY, data: '' });
  });
});

describe('capabilities on this kernel and for this user', () => {
  it('never names a capability the kernel does not know (PR_CAPBSET_DROP would fail with EINVAL)', () => {
    const s = spec();
    s.process.capabilities = [...CAPABILITY_NAMES];
    const plan = buildPlan(s, host({ lastCap: 37 }));
    const caps = plan.find((x) => x.id === 'capabilities')!;
    const [capset] = shimOps(caps, 'capset');
    expect(capset.effective.filter((c) => capNumber(c) > 37)).toEqual([]);
    expect(caps.actions.find((a) => a.kind === 'shim' && a.op === 'bset_drop')).toBeUndefined();
  });
  it('leaves a non-root user no effective capabilities, as Docker does', () => {
    const s = spec();
    s.process.user = { uid: 1000, gid: 1000 };
    s.process.noNewPrivileges = true;
    const caps = buildPlan(s, host()).find((x) => x.id === 'capabilities')!;
    expect(shimOps(caps, 'capset')).toEqual([
      { kind: 'shim', op: 'capset', effective: [], permitted: [], inheritable: [] },
    ]);
  });
});

describe('capabilities nsx itself lacks', () => {
  it('are left out, and the step says so', () => {
    const s = spec();
    s.process.capabilities = [...CAPABILITY_NAMES];
    const caps = buildPlan(s, host({ bounding: CAPABILITY_NAMES.filter((c) => c !== 'CAP_SYS_RESOURCE') })).find(
      (x) => x.id === 'capabilities',
    )!;
    const [capset] = shimOps(caps, 'capset');
    expect(capset.effective).not.toContain('CAP_SYS_RESOURCE');
    expect(capset.effective).toContain('CAP_SYS_ADMIN');
    expect(caps.notes.join(' ')).toMatch(/CAP_SYS_RESOURCE/);
  });
});

describe('shellQuote', () => {
  it('quotes what a shell would split or expand, and nothing else', async () => {
    const { shellQuote } = await import('../../src/shellwords.js');
    expect(shellQuote('/bin/sh')).toBe('/bin/sh');
    expect(shellQuote('echo $HOME; ls')).toBe("'echo $HOME; ls'");
    expect(shellQuote("it's")).toBe(`"it's"`);
    // Double quotes only where nothing inside them would expand.
    expect(shellQuote("it's $HOME")).toBe("'it'\\''s $HOME'");
  });
});

describe('-t: the console', () => {
  const ops = (p: PlannedStep[], id: string) =>
    p
      .find((s) => s.id === id)!
      .actions.map((a) => (a.kind === 'shim' ? [a.op, ...Object.values(a).slice(2)].join(' ') : a.op));

  it("opens the container's own devpts ptmx at the end of the dev step, after devpts is mounted", () => {
    const s = spec();
    const p = buildPlan({ ...s, process: { ...s.process, terminal: true } }, host());
    const dev = ops(p, 'dev');
    expect(dev[dev.length - 1]).toBe(`console ${ROOT}/dev/pts/ptmx`);
    expect(dev.findIndex((o) => o.startsWith('mount devpts'))).toBeLessThan(dev.length - 1);
  });

  it('makes no terminal without -t', () => {
    expect(ops(buildPlan(spec(), host()), 'dev').some((o) => o.startsWith('console'))).toBe(false);
  });
});

describe('buildExecPlan (docker exec)', () => {
  const exec = (over: Partial<ContainerSpec['process']> = {}, h: Partial<HostFacts> = {}) => {
    const s = spec();
    return buildExecPlan({ ...s, process: { ...s.process, args: ['ps', '-ef'], cwd: '/srv', ...over } }, host(h), 4242);
  };

  it("follows EXEC_ORDER: the container's cgroup, its namespaces, a fork into its PID namespace, its security settings, exec", () => {
    const p = exec();
    expect(p.map((s) => s.id)).toEqual([...EXEC_IDS]);
    expect(p[0].actions).toEqual([{ kind: 'host', op: 'cgroup-join', id: 'a'.repeat(64) }]);
    expect(p[1].actions).toEqual([{ kind: 'shim', op: 'setns', pid: 4242 }]);
    expect(p[1].manPage).toBe('setns(2)');
    expect(p[2].actions).toEqual([{ kind: 'shim', op: 'fork' }]);
    expect(p.find((s) => s.id === 'exec')!.actions).toEqual([
      { kind: 'shim', op: 'chdir', path: '/srv' },
      { kind: 'shim', op: 'exec', argv: ['ps', '-ef'], env: ['PATH=/bin'] },
    ]);
  });

  it("takes the same capabilities and seccomp filter as the container's own plan", () => {
    const own = buildPlan(spec(), host());
    const p = exec();
    for (const id of ['capabilities', 'seccomp', 'no-new-privs'] as const)
      expect(p.find((s) => s.id === id)!.actions).toEqual(own.find((s) => s.id === id)!.actions);
  });

  it("applies the container's AppArmor profile after the user switch, before seccomp (runc's setns_init)", () => {
    expect(EXEC_IDS.indexOf('lsm')).toBe(EXEC_IDS.indexOf('capabilities') + 1);
    expect(EXEC_IDS.indexOf('lsm')).toBe(EXEC_IDS.indexOf('seccomp') - 1);
    const apparmor = { execAttr: '/proc/self/attr/apparmor/exec', profiles: ['nsx-default'] };
    expect(exec({}, { apparmor }).find((s) => s.id === 'lsm')!.actions).toEqual([
      { kind: 'shim', op: 'write', path: '/proc/self/attr/apparmor/exec', text: 'exec nsx-default' },
    ]);
    expect(exec().find((s) => s.id === 'lsm')!.skip).toMatch(/AppArmor is not enabled/);
  });

  it('joins no cgroup rootless (the container has none of its own) and gives -t its terminal after the fork', () => {
    const p = exec({ terminal: true }, { root: false });
    expect(p[0].skip).toMatch(/without root/);
    expect(p[2].actions.map((a) => (a.kind === 'shim' ? a.op : a.op))).toEqual(['fork', 'console']);
    expect(p[2].actions[1]).toEqual({ kind: 'shim', op: 'console', ptmx: '/dev/pts/ptmx' });
  });

  describe('into a container still being built (applied: its steps so far)', () => {
    const half = (applied: string[], over: Partial<ContainerSpec['process']> = {}) => {
      const s = spec();
      const proc = { ...s.process, args: ['/bin/sh'], terminal: true, ...over };
      return buildExecPlan({ ...s, process: proc }, host(), 4242, new Set(applied));
    };
    const full = exec({ terminal: true });
    const byId = (p: PlannedStep[], id: string) => p.find((s) => s.id === id)!;

    it('leaves out no_new_privs, the user switch with the capabilities, and seccomp until applied', () => {
      const p = half(['cgroup', 'namespaces', 'fork', 'dev', 'pivot-root']);
      for (const id of ['no-new-privs', 'capabilities', 'seccomp']) {
        expect(byId(p, id).actions).toEqual([]);
        expect(byId(p, id).skip).toMatch(`has not applied its ${id} step yet`);
      }
      // Root in the container's user namespace, as the userns step left it (not the unmapped host root).
      expect(byId(p, 'namespaces').actions).toEqual([
        { kind: 'shim', op: 'setns', pid: 4242 },
        { kind: 'shim', op: 'setresgid', gid: 0 },
        { kind: 'shim', op: 'setresuid', uid: 0 },
      ]);
      expect(byId(p, 'cgroup').actions).toEqual(byId(full, 'cgroup').actions);
    });

    it('takes each once the container has it, as a running container would', () => {
      const all = ['cgroup', 'namespaces', 'fork', 'dev', 'pivot-root', 'no-new-privs', 'capabilities', 'seccomp'];
      const p = half(all);
      for (const id of ['no-new-privs', 'capabilities', 'seccomp', 'namespaces', 'fork'])
        expect(byId(p, id).actions).toEqual(byId(full, id).actions);
      const caps = half(['cgroup', 'namespaces', 'fork', 'dev', 'capabilities']);
      expect(byId(caps, 'capabilities').actions).toEqual(byId(full, 'capabilities').actions);
      expect(byId(caps, 'no-new-privs').actions).toEqual([]);
    });

    it("joins no cgroup before the container has one, and takes a pty from the host's /dev/ptmx before /dev", () => {
      const p = half(['devices']);
      expect(byId(p, 'cgroup').actions).toEqual([]);
      expect(byId(p, 'fork').actions).toEqual([
        { kind: 'shim', op: 'fork' },
        { kind: 'shim', op: 'console', ptmx: '/dev/ptmx' },
      ]);
    });
  });
});
