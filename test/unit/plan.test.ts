// The plan: STEP_ORDER, each step's operations, skips with reasons — built for machines we are not on.
import { describe, expect, it } from '@jest/globals';
import { CAPABILITY_NAMES, DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities.js';
import { CLONE, MS, buildExecPlan, buildPlan, mountFlags, swapSteps, type HostFacts, type PlannedStep } from '../../src/runtime/plan.js';
import { DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS, defaultMounts, type ContainerSpec } from '../../src/runtime/spec.js';
import { EXEC_ORDER, STEP_INFO, STEP_ORDER } from '../../src/runtime/steps.js';

const ROOT = '/var/lib/nsx/rootfs';

function host(over: Partial<HostFacts> = {}): HostFacts {
  return {
    arch: 'x86_64',
    kernel: '6.1.0',
    root: true,
    lastCap: 40,
    bounding: [...CAPABILITY_NAMES],
    pathKind: (p) => (p === '/proc/acpi' || p === '/sys/firmware' ? 'dir' : p === '/proc/kcore' || DOCKER_READONLY_PATHS.includes(p) ? 'file' : 'absent'),
    compileSeccomp: () => Buffer.alloc(16, 1),
    rootfsHas: (p) => p === '/',
    resolve: (p) => `${ROOT}${p === '/' ? '' : p}`,
    ...over,
  };
}

function spec(over: Partial<ContainerSpec> = {}, linux: Partial<ContainerSpec['linux']> = {}): ContainerSpec {
  return {
    id: 'a'.repeat(64),
    process: { args: ['/bin/sh'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0 }, capabilities: [...DOCKER_DEFAULT_CAPS] },
    root: { path: ROOT },
    hostname: 'box',
    mounts: defaultMounts({ sysfs: 'mount', ptsGid: true }),
    linux: {
      namespaces: ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'network'].map((type) => ({ type: type as 'pid' })),
      maskedPaths: DOCKER_MASKED_PATHS,
      readonlyPaths: DOCKER_READONLY_PATHS,
      seccomp: { profile: {}, source: 'test' },
      ...linux,
    },
    nsx: { rootMode: 'pivot_root', network: 'none' },
    ...over,
  };
}

const step = (plan: PlannedStep[], id: string) => plan.find((s) => s.id === id)!;
const ops = (s: PlannedStep) => s.actions.map((a) => (a.kind === 'shim' ? a.op : `host:${a.op}`));

describe('STEP_ORDER', () => {
  it('is the order real runtimes use', () => {
    const at = (id: (typeof STEP_ORDER)[number]) => STEP_ORDER.indexOf(id);
    expect(at('cgroup')).toBe(0);
    expect(at('userns')).toBeLessThan(at('namespaces'));
    expect(at('namespaces')).toBeLessThan(at('fork'));
    expect(at('fork')).toBeLessThan(at('mount-private'));
    expect(at('mount-private')).toBeLessThan(at('rootfs'));
    expect(at('tmp')).toBeLessThan(at('pivot-root'));
    expect(at('pivot-root')).toBeLessThan(at('hostname'));
    expect(at('no-new-privs')).toBeLessThan(at('capabilities'));
    expect(at('capabilities')).toBeLessThan(at('seccomp'));
    expect(STEP_ORDER[STEP_ORDER.length - 1]).toBe('exec');
  });
  it('documents every step with syscalls, a shell equivalent and a man page', () => {
    for (const id of STEP_ORDER) {
      const info = STEP_INFO[id];
      expect(info.syscalls.length).toBeGreaterThan(0);
      expect(info.manPage).toMatch(/^[a-z_]+\(\d\)$/);
      expect(info.why.length).toBeGreaterThan(20);
    }
  });
});

describe('buildPlan', () => {
  it('has every step in STEP_ORDER, in order', () => {
    expect(buildPlan(spec(), host()).map((s) => s.id)).toEqual([...STEP_ORDER]);
  });

  it('skips the user namespace and no_new_privs by default, with the reason', () => {
    const plan = buildPlan(spec(), host());
    expect(plan.filter((s) => s.skip).map((s) => s.id)).toEqual(['userns', 'no-new-privs']);
    expect(step(plan, 'userns').skip).toMatch(/--userns host/);
  });

  it('creates the namespaces in one unshare with exactly the asked flags', () => {
    const s = step(buildPlan(spec(), host()), 'namespaces');
    const flags = Number((s.actions[0] as { args: string[] }).args[0]);
    expect(flags).toBe(CLONE.NEWIPC | CLONE.NEWUTS | CLONE.NEWNS | CLONE.NEWCGROUP | CLONE.NEWNET);
    expect(s.syscalls[0]).toContain('CLONE_NEWNET');
    expect(s.shell).toBe('unshare --uts --ipc --net --mount --cgroup');
  });

  it('forks after unsharing the PID namespace', () => {
    expect(ops(step(buildPlan(spec(), host()), 'fork'))).toEqual(['unshare', 'fork']);
  });

  it('writes the id maps from the host between unshare(CLONE_NEWUSER) and becoming root inside', () => {
    const s = spec({}, { namespaces: [{ type: 'user' }, { type: 'pid' }, { type: 'uts' }, { type: 'mount' }], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
    const userns = step(buildPlan(s, host({ root: false })), 'userns');
    expect(ops(userns)).toEqual(['unshare', 'host:id-maps', 'setresgid', 'setresuid']);
    expect(userns.actions[1]).toEqual({ kind: 'host', op: 'id-maps', setgroups: 'deny' });
  });

  it('refuses a user namespace without maps', () => {
    expect(() => buildPlan(spec({}, { namespaces: [{ type: 'user' }, { type: 'mount' }] }), host())).toThrow(/uid and gid mappings/);
  });

  it('mounts into the rootfs before pivot_root, and masks after it', () => {
    const plan = buildPlan(spec(), host());
    const proc = step(plan, 'proc').actions.find((a) => a.kind === 'shim' && a.op === 'mount') as { args: string[] };
    expect(proc.args.slice(0, 4)).toEqual(['proc', `${ROOT}/proc`, 'proc', String(MS.NOSUID | MS.NOEXEC | MS.NODEV)]);
    const mask = step(plan, 'mask-paths').actions.map((a) => (a as { args: string[] }).args.slice(0, 2));
    expect(mask).toContainEqual(['/dev/null', '/proc/kcore']);
    expect(mask).toContainEqual(['tmpfs', '/proc/acpi']);
    expect(mask.some(([, target]) => target.startsWith(ROOT))).toBe(false);
  });

  it('makes read-only paths read-only by a bind remount that keeps /proc\'s locked flags', () => {
    const remount = step(buildPlan(spec(), host()), 'mask-paths').actions
      .map((a) => (a as { args: string[] }).args)
      .find((a) => a[1] === '/proc/sys' && Number(a[3]) & MS.REMOUNT)!;
    expect(Number(remount[3])).toBe(MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC);
  });

  it('binds /sys instead of mounting sysfs when a user namespace shares the host network', () => {
    const mounts = defaultMounts({ sysfs: 'bind', ptsGid: false });
    const sys = mounts.find((m) => m.destination === '/sys')!;
    expect(sys.type).toBe('bind');
    expect(mounts.find((m) => m.destination === '/dev/pts')!.options).not.toContain('gid=5');
  });

  it('drops from the bounding set exactly the capabilities not kept', () => {
    const caps = step(buildPlan(spec(), host()), 'capabilities');
    const drop = (caps.actions[0] as { args: string[] }).args.map(Number);
    expect(drop).toHaveLength(CAPABILITY_NAMES.length - DOCKER_DEFAULT_CAPS.length);
    expect(drop).toContain(21); // CAP_SYS_ADMIN
    expect(drop).not.toContain(0); // CAP_CHOWN
  });

  it('keeps CAP_SYS_ADMIN until the filter is in when no_new_privs is off, then drops it', () => {
    const plan = buildPlan(spec(), host());
    const capset = (s: PlannedStep) => s.actions.filter((a) => a.kind === 'shim' && a.op === 'capset').map((a) => BigInt((a as { args: string[] }).args[0]));
    const admin = 1n << 21n;
    expect(capset(step(plan, 'capabilities'))[0] & admin).toBe(admin);
    expect(ops(step(plan, 'seccomp'))).toEqual(['seccomp', 'capset']);
    expect(capset(step(plan, 'seccomp'))[0] & admin).toBe(0n);
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
    expect(() => buildPlan(spec({}, { namespaces: [{ type: 'pid' }, { type: 'mount' }] }), host())).toThrow(/UTS namespace/);
  });

  it('refuses --network veth without root', () => {
    expect(() => buildPlan(spec({ nsx: { rootMode: 'pivot_root', network: 'veth' } }), host({ root: false }))).toThrow(/needs root/);
  });

  it('passes argv and env to exec in one instruction', () => {
    const exec = step(buildPlan(spec(), host()), 'exec');
    expect(exec.actions.at(-1)).toEqual({ kind: 'shim', op: 'exec', args: ['1', '/bin/sh', 'PATH=/bin'] });
  });
});

describe('swapSteps', () => {
  it('swaps two steps for the "break it" lesson, leaving the original alone', () => {
    const plan = buildPlan(spec(), host());
    const broken = swapSteps(plan, 'capabilities', 'mount-private');
    expect(broken.findIndex((s) => s.id === 'capabilities')).toBe(plan.findIndex((s) => s.id === 'mount-private'));
    expect(plan.map((s) => s.id)).toEqual([...STEP_ORDER]);
  });
});

describe('mountFlags', () => {
  it('splits OCI options into flags and data', () => {
    expect(mountFlags(['nosuid', 'noexec', 'mode=755', 'size=65536k'])).toEqual({ flags: MS.NOSUID | MS.NOEXEC, data: 'mode=755,size=65536k' });
    expect(mountFlags(['rbind', 'ro'])).toEqual({ flags: MS.BIND | MS.REC | MS.RDONLY, data: '' });
  });
});

describe('capabilities on this kernel and for this user', () => {
  it('never names a capability the kernel does not know (PR_CAPBSET_DROP would fail with EINVAL)', () => {
    const s = spec();
    s.process.capabilities = [...CAPABILITY_NAMES];
    const plan = buildPlan(s, host({ lastCap: 37 }));
    const caps = plan.find((x) => x.id === 'capabilities')!;
    const capset = caps.actions.find((a) => a.kind === 'shim' && a.op === 'capset') as { args: string[] };
    expect(BigInt(capset.args[0]) >> 38n).toBe(0n);
    expect(caps.actions.find((a) => a.kind === 'shim' && a.op === 'bset_drop')).toBeUndefined();
  });
  it('leaves a non-root user no effective capabilities, as Docker does', () => {
    const s = spec();
    s.process.user = { uid: 1000, gid: 1000 };
    s.process.noNewPrivileges = true;
    const caps = buildPlan(s, host()).find((x) => x.id === 'capabilities')!;
    const capset = caps.actions.find((a) => a.kind === 'shim' && a.op === 'capset') as { args: string[] };
    expect(capset.args).toEqual(['0', '0', '0']);
  });
});

describe('capabilities nsx itself lacks', () => {
  it('are left out, and the step says so', () => {
    const s = spec();
    s.process.capabilities = [...CAPABILITY_NAMES];
    const caps = buildPlan(s, host({ bounding: CAPABILITY_NAMES.filter((c) => c !== 'CAP_SYS_RESOURCE') })).find((x) => x.id === 'capabilities')!;
    const capset = caps.actions.find((a) => a.kind === 'shim' && a.op === 'capset') as { args: string[] };
    expect(BigInt(capset.args[0]) & (1n << 24n)).toBe(0n); // CAP_SYS_RESOURCE
    expect(caps.notes.join(' ')).toMatch(/CAP_SYS_RESOURCE/);
  });
});

describe('shellQuote', () => {
  it('quotes what a shell would split or expand, and nothing else', async () => {
    const { shellQuote } = await import('../../src/shellwords.js');
    expect(shellQuote('/bin/sh')).toBe('/bin/sh');
    expect(shellQuote('echo $HOME; ls')).toBe("'echo $HOME; ls'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });
});

describe('-t: the console', () => {
  const ops = (p: PlannedStep[], id: string) => p.find((s) => s.id === id)!.actions.map((a) => (a.kind === 'shim' ? [a.op, ...a.args].join(' ') : a.op));

  it('opens the container\'s own devpts ptmx at the end of the dev step, after devpts is mounted', () => {
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

  it('follows EXEC_ORDER: the container\'s cgroup, its namespaces, a fork into its PID namespace, its security settings, exec', () => {
    const p = exec();
    expect(p.map((s) => s.id)).toEqual([...EXEC_ORDER]);
    expect(p[0].actions).toEqual([{ kind: 'host', op: 'cgroup-join', id: 'a'.repeat(64) }]);
    expect(p[1].actions).toEqual([{ kind: 'shim', op: 'setns', args: ['4242'] }]);
    expect(p[1].manPage).toBe('setns(2)');
    expect(p[2].actions).toEqual([{ kind: 'shim', op: 'fork', args: [] }]);
    expect(p.find((s) => s.id === 'exec')!.actions).toEqual([
      { kind: 'shim', op: 'chdir', args: ['/srv'] },
      { kind: 'shim', op: 'exec', args: ['2', 'ps', '-ef', 'PATH=/bin'] },
    ]);
  });

  it('takes the same capabilities and seccomp filter as the container\'s own plan', () => {
    const own = buildPlan(spec(), host());
    const p = exec();
    for (const id of ['capabilities', 'seccomp', 'no-new-privs'] as const) expect(p.find((s) => s.id === id)!.actions).toEqual(own.find((s) => s.id === id)!.actions);
  });

  it('joins no cgroup rootless (the container has none of its own) and gives -t its terminal after the fork', () => {
    const p = exec({ terminal: true }, { root: false });
    expect(p[0].skip).toMatch(/without root/);
    expect(p[2].actions.map((a) => (a.kind === 'shim' ? a.op : a.op))).toEqual(['fork', 'console']);
    expect(p[2].actions[1]).toEqual({ kind: 'shim', op: 'console', args: ['/dev/pts/ptmx'] });
  });
});
