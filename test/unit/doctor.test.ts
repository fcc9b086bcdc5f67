// nsx doctor against fake machines: each scenario is a DoctorEnv built from a few files, so the
// checks' verdicts, fixes, exit status and the 80-column table can be tested without the kernel.
import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { Chalk } from 'chalk';
import { detectLayout, type CgroupLayout } from '../../src/runtime/cgroups/index.js';
import { NsxError } from '../../src/runtime/errors.js';
import { exitCodeFor, runChecks, runDoctor, type Check, type DoctorEnv } from '../../src/doctor/index.js';
import { renderTable, wrapText, WIDTH } from '../../src/doctor/render.js';
import { parseRelease } from '../../src/doctor/checks/kernel.js';

// ---------------------------------------------------------------------------------------------
// Fake machines

const MOUNTINFO_V2 = `22 29 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
29 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
31 23 0:7 / /sys/kernel/security rw,nosuid,nodev,noexec,relatime shared:5 - securityfs securityfs rw
`;

// Debian 10 / Ubuntu 20.04 style hybrid: v1 controllers plus the unified hierarchy, no securityfs.
const MOUNTINFO_HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;

// v1 only, with no pids hierarchy mounted.
const MOUNTINFO_V1_NO_PIDS = `25 18 0:20 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:8 - tmpfs tmpfs ro,mode=755
28 25 0:23 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
29 25 0:24 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory
`;

const PROC_CGROUPS = `#subsys_name\thierarchy\tnum_cgroups\tenabled
cpuset\t0\t1\t1
cpu\t0\t1\t1
memory\t0\t1\t1
pids\t0\t1\t1
`;

/** The runtime's own detectLayout on the mountinfo text; the unified root's controllers given. */
function layoutOf(mountinfo: string, unifiedControllers: string[]): CgroupLayout {
  return { ...detectLayout({ mountinfo, fsRoot: '/nonexistent-nsx-doctor-test' }), unifiedControllers };
}

interface Machine {
  uid: number;
  release: string;
  files: Record<string, string>;
  /** /proc/self/ns/<type> links present */
  namespaces: string[];
  executables: string[];
  dirs: string[];
  layout: CgroupLayout | Error;
}

const ALL_NS = ['user', 'uts', 'ipc', 'net', 'mnt', 'cgroup', 'time', 'pid'];
const PKG = '/opt/nsx';
const SHIM = `${PKG}/shim/nsx-shim`;
const BUSYBOX = `${PKG}/sandbox/rootfs/busybox/bin/busybox`;

/** Debian 12 VM, cgroup v2 only, AppArmor and Landlock active, everything installed, as root. */
function pureV2Vm(): Machine {
  return {
    uid: 0,
    release: '6.1.0-18-amd64',
    files: {
      '/proc/self/mountinfo': MOUNTINFO_V2,
      '/proc/self/uid_map': '         0          0 4294967295\n',
      '/proc/sys/user/max_user_namespaces': '63448\n',
      '/proc/filesystems': 'nodev\tsysfs\nnodev\tproc\n\text4\nnodev\toverlay\n',
      '/proc/self/status': 'Name:\tnode\nNoNewPrivs:\t0\nSeccomp:\t0\nSeccomp_filters:\t0\n',
      '/proc/sys/kernel/seccomp/actions_avail': 'kill_process kill_thread trap errno user_notif trace log allow\n',
      '/sys/kernel/security/lsm': 'lockdown,capability,landlock,yama,apparmor',
      '/sys/module/apparmor/parameters/enabled': 'Y\n',
      '/proc/cgroups': PROC_CGROUPS,
    },
    namespaces: [...ALL_NS],
    executables: [SHIM, BUSYBOX, '/usr/bin/cc', '/usr/bin/nsenter', '/usr/bin/ip', '/bin/busybox'],
    dirs: ['/sys/module/apparmor'],
    layout: layoutOf(MOUNTINFO_V2, ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc']),
  };
}

/** An older Ubuntu/Debian host: hybrid cgroups, no AppArmor module, securityfs not mounted. */
function hybridHost(): Machine {
  const m = pureV2Vm();
  m.release = '5.10.0-28-amd64';
  m.files['/proc/self/mountinfo'] = MOUNTINFO_HYBRID;
  delete m.files['/sys/kernel/security/lsm'];
  delete m.files['/sys/module/apparmor/parameters/enabled'];
  m.dirs = [];
  m.layout = layoutOf(MOUNTINFO_HYBRID, ['hugetlb']);
  return m;
}

function envOf(m: Machine): DoctorEnv {
  const nsLink = (p: string) => {
    const type = /^\/proc\/self\/ns\/(\w+)$/.exec(p)?.[1];
    return type && m.namespaces.includes(type) ? `${type}:[40265318${30 + ALL_NS.indexOf(type)}]` : undefined;
  };
  const which = (cmd: string) => m.executables.find((p) => p.startsWith('/usr/bin/') && p.endsWith(`/${cmd}`));
  return {
    readFile: (p) => m.files[p],
    activeLsms: () => m.files['/sys/kernel/security/lsm']?.trim().split(','),
    readlink: nsLink,
    exists: (p) => p in m.files || m.executables.includes(p) || m.dirs.includes(p) || nsLink(p) !== undefined,
    executable: (p) => m.executables.includes(p),
    uid: () => m.uid,
    kernelRelease: () => m.release,
    which,
    cgroupLayout: () => {
      if (m.layout instanceof Error) throw m.layout;
      return m.layout;
    },
    shimPath: () => SHIM,
    packageRoot: () => PKG,
  };
}

function checksOf(m: Machine): Check[] {
  return runChecks(envOf(m));
}

function byId(checks: Check[], id: string): Check {
  const c = checks.find((k) => k.id === id);
  if (!c) throw new Error(`no check ${id} in ${checks.map((k) => k.id).join(', ')}`);
  return c;
}

function expectFixesForProblems(checks: Check[]): void {
  for (const k of checks) {
    if (k.status !== 'ok')
      expect({ id: k.id, fix: k.fix?.trim() || undefined }).toEqual({ id: k.id, fix: expect.any(String) });
  }
}

const ANSI = /\x1b\[[0-9;]*m/g;
const strip = (s: string) => s.replace(ANSI, '');

class Collect extends Writable {
  text = '';
  constructor(readonly isTTY: boolean) {
    super();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

// ---------------------------------------------------------------------------------------------

describe('a pure cgroup v2 VM with AppArmor, as root', () => {
  const checks = checksOf(pureV2Vm());

  it('passes every check', () => {
    expect(checks.filter((k) => k.status !== 'ok')).toEqual([]);
    expect(exitCodeFor(checks)).toBe(0);
  });

  it('reports the layout and where memory, pids and cpu live', () => {
    expect(byId(checks, 'cgroup-layout').detail).toMatch(/^v2 \(unified at \/sys\/fs\/cgroup/);
    for (const c of ['memory', 'pids', 'cpu']) {
      expect(byId(checks, `cgroup-${c}`).detail).toBe('v2, listed in /sys/fs/cgroup/cgroup.controllers');
    }
  });

  it('has one check per namespace type, each naming the namespace it found', () => {
    for (const ns of ALL_NS) expect(byId(checks, `ns-${ns}`).detail).toMatch(new RegExp(`^${ns}:\\[\\d+\\]`));
  });

  it('sees the LSMs', () => {
    expect(byId(checks, 'landlock').detail).toMatch(/^active/);
    expect(byId(checks, 'apparmor').detail).toMatch(/^active/);
  });

  it('gives ids that are unique', () => {
    expect(new Set(checks.map((k) => k.id)).size).toBe(checks.length);
  });
});

describe('a hybrid host without AppArmor or securityfs', () => {
  const checks = checksOf(hybridHost());

  it('detects hybrid, with the controllers on their v1 mounts', () => {
    expect(byId(checks, 'cgroup-layout')).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^hybrid .*\/sys\/fs\/cgroup\/unified with: hugetlb/),
    });
    expect(byId(checks, 'cgroup-memory').detail).toBe('v1, mounted at /sys/fs/cgroup/memory');
    expect(byId(checks, 'cgroup-cpu').detail).toBe('v1, mounted at /sys/fs/cgroup/cpu,cpuacct');
    expect(byId(checks, 'cgroup-pids').detail).toBe('v1, mounted at /sys/fs/cgroup/pids');
  });

  it('says Landlock is unknown because securityfs is not mounted, and how to mount it', () => {
    const l = byId(checks, 'landlock');
    expect(l.status).toBe('warn');
    expect(l.detail).toBe(
      'unknown: securityfs not mounted, and it could not be mounted privately (mount -t securityfs securityfs /sys/kernel/security)',
    );
    expect(l.fix).toMatch(/mount -t securityfs securityfs \/sys\/kernel\/security/);
  });

  it('warns, not fails, that AppArmor is not active', () => {
    expect(byId(checks, 'apparmor')).toMatchObject({
      status: 'warn',
      critical: false,
      detail: expect.stringMatching(/not active \(not in this kernel\)/),
    });
  });

  it('still exits 0: only lessons miss out', () => {
    expect(exitCodeFor(checks)).toBe(0);
    expectFixesForProblems(checks);
  });
});

describe('user namespaces disabled', () => {
  const debianOff = (uid: number) => {
    const m = pureV2Vm();
    m.uid = uid;
    m.files['/proc/sys/kernel/unprivileged_userns_clone'] = '0\n';
    return m;
  };

  it('fails critically for a normal user, with the sysctl fix', () => {
    const checks = checksOf(debianOff(1000));
    const u = byId(checks, 'userns-allowed');
    expect(u).toMatchObject({ status: 'fail', critical: true });
    expect(u.detail).toMatch(/kernel.unprivileged_userns_clone is 0/);
    expect(u.fix).toMatch(/sudo sysctl -w kernel.unprivileged_userns_clone=1/);
    expect(exitCodeFor(checks)).toBe(1);
  });

  it('only warns as root, who does not need them by default', () => {
    const checks = checksOf(debianOff(0));
    expect(byId(checks, 'userns-allowed')).toMatchObject({ status: 'warn', critical: false });
    expect(exitCodeFor(checks)).toBe(0);
  });

  it('treats an absent unprivileged_userns_clone as allowed', () => {
    const m = pureV2Vm();
    m.uid = 1000;
    expect(byId(checksOf(m), 'userns-allowed').status).toBe('ok');
  });

  it('catches max_user_namespaces = 0, which stops root too', () => {
    const m = pureV2Vm();
    m.uid = 1000;
    m.files['/proc/sys/user/max_user_namespaces'] = '0\n';
    const u = byId(checksOf(m), 'userns-allowed');
    expect(u.status).toBe('fail');
    expect(u.fix).toMatch(/sysctl -w user.max_user_namespaces=/);
    m.uid = 0;
    expect(byId(checksOf(m), 'userns-allowed').detail).toMatch(/as root only --userns private needs them/);
  });

  it('catches the Ubuntu 23.10+ AppArmor restriction', () => {
    const m = pureV2Vm();
    m.uid = 1000;
    m.files['/proc/sys/kernel/apparmor_restrict_unprivileged_userns'] = '1\n';
    const u = byId(checksOf(m), 'userns-allowed');
    expect(u).toMatchObject({ status: 'fail', critical: true });
    expect(u.fix).toMatch(/sysctl -w kernel.apparmor_restrict_unprivileged_userns=0/);
  });

  it('fails when the kernel has no user namespaces at all, for a normal user', () => {
    const m = pureV2Vm();
    m.uid = 1000;
    m.namespaces = ALL_NS.filter((n) => n !== 'user');
    const checks = checksOf(m);
    expect(byId(checks, 'ns-user')).toMatchObject({
      status: 'fail',
      critical: true,
      fix: expect.stringMatching(/CONFIG_USER_NS/),
    });
    expect(byId(checks, 'userns-allowed').status).toBe('fail');
    expectFixesForProblems(checks);
  });
});

describe('no C compiler, shim not built', () => {
  const m = pureV2Vm();
  m.executables = m.executables.filter((p) => p !== SHIM && p !== '/usr/bin/cc');
  const checks = checksOf(m);

  it('fails the shim check critically, with build-essential and npm ci as the fix', () => {
    const s = byId(checks, 'shim');
    expect(s).toMatchObject({ status: 'fail', critical: true });
    expect(s.detail).toContain(SHIM);
    expect(s.fix).toMatch(/apt-get install build-essential/);
    expect(s.fix).toMatch(/npm ci/);
    expect(byId(checks, 'c-compiler')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/cannot be built/),
    });
    expect(exitCodeFor(checks)).toBe(1);
    expectFixesForProblems(checks);
  });

  it('only warns about the compiler once the shim is built', () => {
    const built = pureV2Vm();
    built.executables = built.executables.filter((p) => p !== '/usr/bin/cc');
    const c = checksOf(built);
    expect(byId(c, 'shim').status).toBe('ok');
    expect(byId(c, 'c-compiler')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/only rebuilding/) });
    expect(exitCodeFor(c)).toBe(0);
  });

  it('reports a shim that is there but not executable', () => {
    const x = pureV2Vm();
    x.executables = x.executables.filter((p) => p !== SHIM);
    x.files[SHIM] = '';
    expect(byId(checksOf(x), 'shim')).toMatchObject({ status: 'fail', fix: expect.stringMatching(/chmod \+x/) });
  });
});

describe('not root', () => {
  const m = pureV2Vm();
  m.uid = 1000;
  const checks = checksOf(m);

  it('warns about rootless mode but still works', () => {
    const r = byId(checks, 'root');
    expect(r.status).toBe('warn');
    expect(r.detail).toMatch(/rootless mode: cgroup limits and --network veth need root \(sudo\)/);
    expect(r.fix).toMatch(/sudo/);
    expect(exitCodeFor(checks)).toBe(0);
  });

  it('does not need a cgroup filesystem, where root does', () => {
    const none = pureV2Vm();
    none.layout = new NsxError('cgroups: no cgroup filesystem with controllers is mounted', {
      hint: 'mount -t cgroup2 none /sys/fs/cgroup',
    });
    none.uid = 1000;
    expect(byId(checksOf(none), 'cgroup-layout')).toMatchObject({
      status: 'warn',
      critical: false,
      fix: 'mount -t cgroup2 none /sys/fs/cgroup',
    });
    none.uid = 0;
    const asRoot = checksOf(none);
    expect(byId(asRoot, 'cgroup-layout')).toMatchObject({ status: 'fail', critical: true });
    expect(byId(asRoot, 'cgroup-memory').status).toBe('warn');
    expect(exitCodeFor(asRoot)).toBe(1);
  });

  it('flags uid 0 inside a user namespace', () => {
    const inner = pureV2Vm();
    inner.files['/proc/self/uid_map'] = '0 1000 1\n';
    expect(byId(checksOf(inner), 'root')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/inside a user namespace \(uid_map: 0 1000 1\)/),
    });
  });
});

describe('cgroup controllers', () => {
  it('Raspberry Pi style v2 without memory: cgroup_enable=memory on the kernel command line', () => {
    const m = pureV2Vm();
    m.layout = layoutOf(MOUNTINFO_V2, ['cpuset', 'cpu', 'io', 'pids']);
    m.files['/proc/cgroups'] = PROC_CGROUPS.replace('memory\t0\t1\t1', 'memory\t0\t1\t0');
    const checks = checksOf(m);
    const mem = byId(checks, 'cgroup-memory');
    expect(mem).toMatchObject({ status: 'warn', critical: false });
    expect(mem.detail).toMatch(/--memory will not work/);
    expect(mem.fix).toMatch(/cgroup_enable=memory/);
    expect(exitCodeFor(checks)).toBe(0);
  });

  it('v1 without a pids hierarchy: mount it', () => {
    const m = pureV2Vm();
    m.layout = layoutOf(MOUNTINFO_V1_NO_PIDS, []);
    const checks = checksOf(m);
    expect(byId(checks, 'cgroup-layout').detail).toMatch(/^v1/);
    expect(byId(checks, 'cgroup-pids').fix).toMatch(/mount -t cgroup -o pids cgroup \/sys\/fs\/cgroup\/pids/);
    expect(byId(checks, 'cgroup-memory').status).toBe('ok');
  });

  it('a controller the kernel was built without: name the config option', () => {
    const m = pureV2Vm();
    m.layout = layoutOf(MOUNTINFO_V2, ['cpu', 'memory']);
    m.files['/proc/cgroups'] = PROC_CGROUPS.replace(/^pids.*\n/m, '');
    expect(byId(checksOf(m), 'cgroup-pids').fix).toMatch(/CONFIG_CGROUP_PIDS/);
  });
});

describe('kernel', () => {
  const withRelease = (release: string) => {
    const m = pureV2Vm();
    m.release = release;
    return byId(checksOf(m), 'kernel');
  };

  it('parses releases', () => {
    expect(parseRelease('6.1.0-18-amd64')).toEqual([6, 1]);
    expect(parseRelease('4.19.0')).toEqual([4, 19]);
    expect(parseRelease('weird')).toBeUndefined();
  });

  it('fails below 4.6 (no cgroup namespaces), warns below 5.6 (no time namespaces)', () => {
    expect(withRelease('4.4.0-210-generic')).toMatchObject({ status: 'fail', critical: true });
    expect(withRelease('4.19.0-26-amd64')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/time namespaces/),
    });
    expect(withRelease('5.4.0-150-generic').status).toBe('warn');
    expect(withRelease('5.6.0').status).toBe('ok');
    expect(withRelease('10.0.1').status).toBe('ok');
    expect(withRelease('weird').status).toBe('warn');
  });

  it('warns, not fails, when there is no time namespace', () => {
    const m = pureV2Vm();
    m.namespaces = ALL_NS.filter((n) => n !== 'time');
    const checks = checksOf(m);
    expect(byId(checks, 'ns-time')).toMatchObject({
      status: 'warn',
      critical: false,
      fix: expect.stringMatching(/CONFIG_TIME_NS/),
    });
    expect(exitCodeFor(checks)).toBe(0);
  });

  it('fails when a namespace every container gets is missing', () => {
    const m = pureV2Vm();
    m.namespaces = ALL_NS.filter((n) => n !== 'cgroup');
    const checks = checksOf(m);
    expect(byId(checks, 'ns-cgroup')).toMatchObject({ status: 'fail', critical: true });
    expect(exitCodeFor(checks)).toBe(1);
  });

  it('fails without seccomp filters', () => {
    const m = pureV2Vm();
    delete m.files['/proc/sys/kernel/seccomp/actions_avail'];
    const checks = checksOf(m);
    expect(byId(checks, 'seccomp')).toMatchObject({
      status: 'fail',
      critical: true,
      fix: expect.stringMatching(/CONFIG_SECCOMP_FILTER/),
    });
    expect(exitCodeFor(checks)).toBe(1);
    m.files['/proc/self/status'] = 'Name:\tnode\n';
    expect(byId(checksOf(m), 'seccomp').detail).toMatch(/no "Seccomp:" line/);
  });

  it('warns when overlay is not in /proc/filesystems', () => {
    const m = pureV2Vm();
    m.files['/proc/filesystems'] = 'nodev\tproc\n\text4\n';
    expect(byId(checksOf(m), 'overlayfs')).toMatchObject({
      status: 'warn',
      critical: false,
      fix: 'sudo modprobe overlay',
    });
  });

  it('warns when Landlock is not among the active LSMs', () => {
    const m = pureV2Vm();
    m.files['/sys/kernel/security/lsm'] = 'lockdown,capability,yama,apparmor';
    expect(byId(checksOf(m), 'landlock')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/^not active/),
      fix: expect.stringMatching(/lsm=landlock/),
    });
  });
});

describe('tools and the sandbox rootfs', () => {
  it('warns with the package to install', () => {
    const m = pureV2Vm();
    m.executables = [SHIM, '/usr/bin/cc'];
    const checks = checksOf(m);
    expect(byId(checks, 'tool-nsenter')).toMatchObject({ status: 'warn', fix: 'sudo apt-get install util-linux' });
    expect(byId(checks, 'tool-ip')).toMatchObject({ status: 'warn', fix: 'sudo apt-get install iproute2' });
    const bb = byId(checks, 'rootfs-busybox');
    expect(bb).toMatchObject({ status: 'warn', critical: false });
    expect(bb.detail).toContain(BUSYBOX);
    expect(bb.fix).toMatch(/apt-get install busybox-static.*npm run sandbox/);
    expect(exitCodeFor(checks)).toBe(0);
  });
});

describe('a check that throws', () => {
  it('is reported as a warning and the rest still run', () => {
    const env = envOf(pureV2Vm());
    const checks = runChecks({
      ...env,
      kernelRelease: () => {
        throw new Error('uname broke');
      },
    });
    expect(byId(checks, 'kernel')).toMatchObject({ status: 'warn', detail: 'could not check: uname broke' });
    expect(byId(checks, 'seccomp').status).toBe('ok');
  });
});

// ---------------------------------------------------------------------------------------------
// Output

/** A machine where nearly everything is wrong: the longest details and fixes. */
function brokenMachine(): Machine {
  const m = hybridHost();
  m.uid = 1000;
  m.release = '4.4.0-210-generic-with-a-very-long-local-version-string-that-must-wrap-somewhere';
  m.namespaces = ['mnt'];
  m.executables = [];
  m.files['/proc/sys/kernel/unprivileged_userns_clone'] = '0';
  m.files['/proc/sys/user/max_user_namespaces'] = '0';
  m.files['/proc/filesystems'] = '';
  delete m.files['/proc/sys/kernel/seccomp/actions_avail'];
  m.layout = layoutOf(MOUNTINFO_V1_NO_PIDS, []);
  m.files['/proc/cgroups'] = PROC_CGROUPS.replace('memory\t0\t1\t1', 'memory\t0\t1\t0');
  return m;
}

describe('the table', () => {
  const scenarios: Array<[string, Machine]> = [
    ['pure v2', pureV2Vm()],
    ['hybrid', hybridHost()],
    ['broken', brokenMachine()],
  ];

  it.each(scenarios)('fits in 80 columns with ANSI stripped (%s)', (_name, m) => {
    const lines = renderTable(checksOf(m), new Chalk({ level: 1 })).flatMap((l) => strip(l).split('\n'));
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(WIDTH);
  });

  it('marks each status and indents fixes under the problem', () => {
    const checks = checksOf(brokenMachine());
    const lines = renderTable(checks, new Chalk({ level: 0 }));
    expect(lines.some((l) => l.startsWith('✓ '))).toBe(true);
    expect(lines.some((l) => l.startsWith('! '))).toBe(true);
    expect(lines.some((l) => l.startsWith('✗ '))).toBe(true);
    const shim = lines.findIndex((l) => l.startsWith('✗ shim'));
    const fixAt = lines.findIndex((l, i) => i > shim && l.startsWith('    fix: '));
    // Between the row and its fix there are only wrapped detail lines.
    expect(lines.slice(shim + 1, fixAt).every((l) => /^ {5,}\S/.test(l) && !l.startsWith('    fix:'))).toBe(true);
    expect(lines.join('\n')).toMatch(/build-essential/);
    expect(lines[lines.length - 1]).not.toBe('');
    expect(lines.join(' ')).toMatch(/Not ready/);
    // No fixes under passing checks.
    const okRows = checksOf(pureV2Vm());
    expect(renderTable(okRows, new Chalk({ level: 0 })).some((l) => l.includes('fix:'))).toBe(false);
  });

  it('cuts words longer than a line', () => {
    expect(wrapText('a ' + 'x'.repeat(25), 10)).toEqual(['a', 'x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
    expect(wrapText('one two three', 7)).toEqual(['one two', 'three']);
  });
});

describe('runDoctor', () => {
  const withNoColor = async <T>(value: string | undefined, fn: () => Promise<T>): Promise<T> => {
    const saved = process.env.NO_COLOR;
    if (value === undefined) delete process.env.NO_COLOR;
    else process.env.NO_COLOR = value;
    try {
      return await fn();
    } finally {
      if (saved === undefined) delete process.env.NO_COLOR;
      else process.env.NO_COLOR = saved;
    }
  };

  it('returns 1 when a critical check fails and 0 otherwise', async () => {
    expect(await runDoctor({ json: false, out: new Collect(false), env: envOf(brokenMachine()) })).toBe(1);
    expect(await runDoctor({ json: false, out: new Collect(false), env: envOf(hybridHost()) })).toBe(0);
  });

  it('prints no colour when the stream is not a terminal, or NO_COLOR is set', async () => {
    const pipe = new Collect(false);
    await withNoColor(undefined, () => runDoctor({ json: false, out: pipe, env: envOf(brokenMachine()) }));
    expect(pipe.text).not.toMatch(ANSI);
    const ttyNoColor = new Collect(true);
    await withNoColor('1', () => runDoctor({ json: false, out: ttyNoColor, env: envOf(brokenMachine()) }));
    expect(ttyNoColor.text).not.toMatch(ANSI);
    const tty = new Collect(true);
    const savedTerm = process.env.TERM;
    process.env.TERM = 'xterm';
    try {
      await withNoColor(undefined, () => runDoctor({ json: false, out: tty, env: envOf(brokenMachine()) }));
    } finally {
      if (savedTerm === undefined) delete process.env.TERM;
      else process.env.TERM = savedTerm;
    }
    expect(tty.text).toMatch(ANSI);
    expect(strip(tty.text)).toBe(pipe.text);
  });

  it('--json prints every check in full and ok', async () => {
    const out = new Collect(true);
    const code = await runDoctor({ json: true, out, env: envOf(brokenMachine()) });
    const parsed = JSON.parse(out.text) as { checks: Check[]; ok: boolean };
    expect(code).toBe(1);
    expect(parsed.ok).toBe(false);
    expect(parsed.checks).toEqual(checksOf(brokenMachine()));
    expect(out.text).not.toMatch(ANSI);
    expectFixesForProblems(parsed.checks);

    const good = new Collect(false);
    expect(await runDoctor({ json: true, out: good, env: envOf(pureV2Vm()) })).toBe(0);
    expect(JSON.parse(good.text).ok).toBe(true);
  });
});
