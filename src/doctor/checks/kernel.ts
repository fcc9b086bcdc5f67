// Kernel features: the version, each namespace type, whether user namespaces are allowed, seccomp.
import type { DoctorEnv } from '../env.js';
import { checker, type Check } from '../types.js';
import { apparmorEnabled } from './lsm.js';

/** "6.1.0-18-amd64" -> [6, 1]; undefined when the release does not start with major.minor. */
export function parseRelease(release: string): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

const atLeast = (v: [number, number], major: number, minor: number) =>
  v[0] > major || (v[0] === major && v[1] >= minor);

/**
 * uname(2) release against namespaces(7) "VERSIONS"-style history: every container nsx starts
 * gets a cgroup namespace (Linux 4.6) so below that `nsx run` fails; the time namespace (5.6)
 * is only for its lesson; Node.js 20 itself is supported from 4.18 only.
 */
export function checkKernel(env: DoctorEnv): Check {
  const c = checker('kernel', 'kernel', true);
  const release = env.kernelRelease();
  const v = parseRelease(release);
  const upgrade =
    'upgrade the kernel (Debian 12 ships 6.1): sudo apt-get install linux-image-amd64 (or -arm64), then reboot';
  if (!v)
    return c.warn(
      `${release}: cannot read a version number from it`,
      'check `uname -r`; nsx expects Linux 5.6 or later',
    );
  if (!atLeast(v, 4, 6))
    return c.fail(`${release}: older than 4.6, so no cgroup namespaces, which every container gets`, upgrade);
  if (!atLeast(v, 4, 18))
    return c.warn(
      `${release}: older than 4.18, the oldest kernel Node.js 20 supports; no time namespaces (5.6)`,
      upgrade,
    );
  if (!atLeast(v, 5, 6))
    return c.warn(
      `${release}: older than 5.6, so no time namespaces (only the cgroupns-timens lesson asks for one)`,
      upgrade,
    );
  return c.ok(`${release}: has every namespace type nsx uses (time namespaces since 5.6)`);
}

interface NamespaceKind {
  /** name under /proc/self/ns */
  name: string;
  title: string;
  config: string;
  since: string;
  /** needed by a default `nsx run` as root / as a normal user */
  neededAsRoot: boolean;
  neededRootless: boolean;
}

const NAMESPACES: NamespaceKind[] = [
  {
    name: 'user',
    title: 'user namespace',
    config: 'CONFIG_USER_NS',
    since: '3.8',
    neededAsRoot: false,
    neededRootless: true,
  },
  {
    name: 'uts',
    title: 'UTS namespace',
    config: 'CONFIG_UTS_NS',
    since: '2.6.19',
    neededAsRoot: true,
    neededRootless: true,
  },
  {
    name: 'ipc',
    title: 'IPC namespace',
    config: 'CONFIG_IPC_NS',
    since: '2.6.19',
    neededAsRoot: true,
    neededRootless: true,
  },
  {
    name: 'net',
    title: 'network namespace',
    config: 'CONFIG_NET_NS',
    since: '2.6.29',
    neededAsRoot: true,
    neededRootless: true,
  },
  {
    name: 'mnt',
    title: 'mount namespace',
    config: 'CONFIG_NAMESPACES',
    since: '2.4.19',
    neededAsRoot: true,
    neededRootless: true,
  },
  {
    name: 'cgroup',
    title: 'cgroup namespace',
    config: 'CONFIG_CGROUPS',
    since: '4.6',
    neededAsRoot: true,
    neededRootless: true,
  },
  {
    name: 'time',
    title: 'time namespace',
    config: 'CONFIG_TIME_NS',
    since: '5.6',
    neededAsRoot: false,
    neededRootless: false,
  },
  {
    name: 'pid',
    title: 'PID namespace',
    config: 'CONFIG_PID_NS',
    since: '2.6.24',
    neededAsRoot: true,
    neededRootless: true,
  },
];

/**
 * namespaces(7) "The /proc/[pid]/ns/ directory": one symlink per namespace type the kernel
 * supports, pointing at "type:[inode]". A missing link means the kernel was built without it.
 * The user namespace is needed only without root (as root nsx uses --userns host by default),
 * the time namespace only for the cgroupns-timens lesson (the only one that asks for it).
 */
export function checkNamespace(env: DoctorEnv, ns: NamespaceKind): Check {
  const critical = env.uid() === 0 ? ns.neededAsRoot : ns.neededRootless;
  const c = checker(`ns-${ns.name}`, ns.title, critical);
  const path = `/proc/self/ns/${ns.name}`;
  const target = env.readlink(path);
  if (target !== undefined) return c.ok(`${target} (${path})`);
  if (env.exists(path)) return c.ok(`${path} exists`);
  const needed =
    ns.name === 'time'
      ? 'only the cgroupns-timens lesson asks for one'
      : ns.name === 'user'
        ? 'nsx without root needs it'
        : 'every container needs it';
  return c.bad(
    `not supported: no ${path} (${needed})`,
    `use a kernel built with ${ns.config}=y (Linux ${ns.since} or later)`,
  );
}

export function checkNamespaces(env: DoctorEnv): Check[] {
  return NAMESPACES.map((ns) => checkNamespace(env, ns));
}

/** One reason this kernel refuses user namespaces, with the sysctl that lifts it. */
interface UsernsBlock {
  detail: string;
  fix: string;
  /** root is refused too */
  rootToo?: boolean;
}

/**
 * The three knobs that can forbid user namespaces (user_namespaces(7); sysctl/user.rst):
 *   /proc/sys/user/max_user_namespaces            0 = nobody, not even root, may create one
 *   /proc/sys/kernel/unprivileged_userns_clone    Debian's patch: 0 = only CAP_SYS_ADMIN may (absent = allowed)
 *   /proc/sys/kernel/apparmor_restrict_unprivileged_userns
 *                                                 Ubuntu 23.10+: 1 = a normal user's new user
 *                                                 namespace gets no capabilities (so no mounts)
 */
function usernsBlocks(env: DoctorEnv): UsernsBlock[] {
  const blocks: UsernsBlock[] = [];
  const persist = 'and put the setting in /etc/sysctl.d/99-userns.conf to keep it after a reboot';
  const max = env.readFile('/proc/sys/user/max_user_namespaces')?.trim();
  if (max === '0') {
    blocks.push({
      detail: 'user.max_user_namespaces is 0',
      fix: `sudo sysctl -w user.max_user_namespaces=15000 ${persist}`,
      rootToo: true,
    });
  }
  if (env.readFile('/proc/sys/kernel/unprivileged_userns_clone')?.trim() === '0') {
    blocks.push({
      detail: 'kernel.unprivileged_userns_clone is 0',
      fix: `sudo sysctl -w kernel.unprivileged_userns_clone=1 ${persist}`,
    });
  }
  if (env.readFile('/proc/sys/kernel/apparmor_restrict_unprivileged_userns')?.trim() === '1' && apparmorEnabled(env)) {
    blocks.push({
      detail: 'AppArmor restricts them (kernel.apparmor_restrict_unprivileged_userns is 1)',
      fix: `sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 ${persist} (or give node an AppArmor profile that allows "userns,")`,
    });
  }
  return blocks;
}

/** user_namespaces(7): may a normal user create a user namespace here? Critical only without root. */
export function checkUsernsAllowed(env: DoctorEnv): Check {
  const root = env.uid() === 0;
  const c = checker('userns-allowed', 'unprivileged userns', !root);
  if (!env.exists('/proc/self/ns/user'))
    return c.bad(
      'no user namespaces in this kernel (see "user namespace")',
      'use a kernel built with CONFIG_USER_NS=y',
    );
  const blocks = usernsBlocks(env);
  if (blocks.length === 0) {
    const max = env.readFile('/proc/sys/user/max_user_namespaces')?.trim();
    return c.ok(`allowed for normal users${max ? ` (max_user_namespaces ${max})` : ''}`);
  }
  const who = !root
    ? '; nsx as a normal user needs them'
    : blocks.some((b) => b.rootToo)
      ? '; as root only --userns private needs them, but nsx as a normal user will fail'
      : '; root is not affected, but nsx as a normal user will fail';
  return c.bad(blocks.map((b) => b.detail).join('; ') + who, blocks.map((b) => b.fix).join('; '));
}

/**
 * seccomp(2): "Seccomp:" in /proc/self/status exists with CONFIG_SECCOMP, and
 * /proc/sys/kernel/seccomp/actions_avail (4.14+) exists with CONFIG_SECCOMP_FILTER and lists the
 * return actions; nsx's default profile answers refused syscalls with SECCOMP_RET_ERRNO.
 */
export function checkSeccomp(env: DoctorEnv): Check {
  const c = checker('seccomp', 'seccomp', true);
  const fix = 'use a kernel built with CONFIG_SECCOMP_FILTER=y, or run nsx with --security-opt seccomp=unconfined';
  const line = env.readFile('/proc/self/status')?.match(/^Seccomp:\s*(\d+)/m);
  if (!line) return c.fail('no "Seccomp:" line in /proc/self/status: kernel without CONFIG_SECCOMP', fix);
  const actions = env.readFile('/proc/sys/kernel/seccomp/actions_avail')?.trim().split(/\s+/);
  if (!actions) return c.fail('no /proc/sys/kernel/seccomp/actions_avail: kernel without CONFIG_SECCOMP_FILTER', fix);
  if (!actions.includes('errno')) return c.fail(`filters cannot return errno (actions: ${actions.join(' ')})`, fix);
  const self = line[1] === '2' ? '; nsx itself already runs under a filter (they stack)' : '';
  return c.ok(`filter mode available, actions: ${actions.join(' ')}${self}`);
}

/**
 * filesystems(5): /proc/filesystems lists the filesystem types the kernel knows now; overlay
 * (Documentation/filesystems/overlayfs.rst) appears once the module is loaded (mount loads it).
 */
export function checkOverlayfs(env: DoctorEnv): Check {
  const c = checker('overlayfs', 'overlayfs', false);
  const types = (env.readFile('/proc/filesystems') ?? '').split('\n').map((l) => l.trim().split(/\s+/).pop());
  if (types.includes('overlay')) return c.ok('"overlay" is in /proc/filesystems');
  return c.warn(
    'not in /proc/filesystems (module not loaded, or not built); only layered root filesystems need it',
    'sudo modprobe overlay',
  );
}
