// The container spec: a subset of the OCI runtime-spec config.json (runtime-spec/config.md,
// config-linux.md), plus the few choices namespace-explorer adds (network mode, chroot for the lesson).
import type { CapabilityName } from './capabilities.js';
import type { DeviceRule } from './devices/rules.js';

export type NamespaceType = 'user' | 'uts' | 'ipc' | 'network' | 'mount' | 'cgroup' | 'time' | 'pid';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

/** An image's root filesystem as overlayfs layers (Documentation/filesystems/overlayfs.rst). */
export interface OverlayRoot {
  /** The image's layers, read-only, top layer first (overlayfs's lowerdir order). */
  lowerdirs: string[];
  /** The container's writable layer. */
  upper: string;
  /** overlayfs's scratch directory, on the same filesystem as upper. */
  work: string;
  /** The mount point: the container's root. */
  target: string;
  /** overlayfs mounted inside a user namespace keeps its marks in user.overlay.* xattrs (Linux 5.11+). */
  userxattr?: boolean;
}

/** Docker's seccomp profile format (also what OCI's linux.seccomp is modelled on). */
export type SeccompProfileJson = Record<string, unknown>;

export interface ContainerSpec {
  /** 64 hex digits, like docker's. */
  id: string;
  name?: string;
  process: {
    args: string[];
    env: string[];
    cwd: string;
    user: { uid: number; gid: number; additionalGids?: number[] };
    noNewPrivileges?: boolean;
    /** The capabilities the command may have. As Docker: for uid 0 bounding = effective = permitted;
     *  for any other user only the bounding set (execve clears the rest); no inheritable, no ambient. */
    capabilities: CapabilityName[];
    /** A pseudo-terminal as its stdin, stdout and stderr (OCI process.terminal; docker run -t). */
    terminal?: boolean;
    /** The AppArmor profile the command runs under (OCI process.apparmorProfile), where AppArmor is
     *  enabled; absent: unconfined. */
    apparmorProfile?: string;
  };
  /** The root filesystem: a directory (bound onto itself), or with overlay an image's layers mounted
   *  with overlayfs on path (= overlay.target) inside the container's mount namespace; `copied` says
   *  the directory is a copy of an image's layers, and why overlayfs was not used. */
  root: { path: string; overlay?: OverlayRoot; copied?: { layers: number; reason: string } };
  hostname?: string;
  domainname?: string;
  /** Mounts set up inside the rootfs before pivot_root, in order. */
  mounts: Mount[];
  linux: {
    namespaces: { type: NamespaceType }[];
    uidMappings?: IdMapping[];
    gidMappings?: IdMapping[];
    resources?: { memory?: { limit: number }; pids?: { limit: number }; cpu?: { quota: number; period: number } };
    /** The profile to compile, with where it came from (for errors); absent = unconfined. */
    seccomp?: { profile: SeccompProfileJson; source: string };
    /** The device cgroup's rules (OCI linux.resources.devices), the last matching one winning;
     *  absent: every device allowed (--privileged, as Docker). */
    devices?: DeviceRule[];
    maskedPaths: string[];
    readonlyPaths: string[];
    /** The clocks of a new time namespace, offset from the host's (OCI linux.timeOffsets;
     *  time_namespaces(7)): written before any process enters the namespace. */
    timeOffsets?: Partial<Record<'monotonic' | 'boottime', { secs: number; nanosecs?: number }>>;
  };
  nsx: {
    /** pivot_root (what runtimes do) or chroot (unsafe, only for the chroot lesson). */
    rootMode: 'pivot_root' | 'chroot';
    network: 'none' | 'host' | 'veth';
  };
}

/** Docker's maskedPaths (moby oci/defaults.go). */
export const DOCKER_MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Docker's readonlyPaths (moby oci/defaults.go). */
export const DOCKER_READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The default PATH Docker gives a container without one. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Docker's default mounts (moby oci/defaults.go) except /sys/fs/cgroup, plus a private /tmp. */
export function defaultMounts(opts: { sysfs: 'mount' | 'bind'; ptsGid: boolean }): Mount[] {
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
    },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(opts.ptsGid ? ['gid=5'] : [])],
    },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
    },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    opts.sysfs === 'mount'
      ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
  ];
}

/** The device nodes a container gets (runc's DefaultSimpleDevices, the OCI default devices), bound from the host. */
export const DEFAULT_DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/** The /dev symlinks: runc's setupDevSymlinks (fd, stdin, stdout, stderr), plus ptmx as its setupPtmx makes it. */
export const DEV_SYMLINKS: [target: string, link: string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['pts/ptmx', '/dev/ptmx'],
];
