// The likely cause of a failed step, and the fix, in a learner's words. Keyed by step and errno.
import type { ContainerSpec } from './spec.js';
import type { StepId } from './steps.js';

export interface FailureFacts {
  syscall: string;
  /** "EPERM" */
  errnoName: string;
  detail?: string;
  /** The steps applied before this one, in order (a plan may be reordered: see swapSteps). */
  before?: readonly string[];
}

/** The capability each step needs that the capabilities step takes away (capabilities(7)). */
const NEEDS: Partial<Record<StepId, string>> = {
  namespaces: 'CAP_SYS_ADMIN', network: 'CAP_NET_ADMIN', fork: 'CAP_SYS_ADMIN', 'mount-private': 'CAP_SYS_ADMIN',
  rootfs: 'CAP_SYS_ADMIN', proc: 'CAP_SYS_ADMIN', dev: 'CAP_SYS_ADMIN', sys: 'CAP_SYS_ADMIN', tmp: 'CAP_SYS_ADMIN',
  'pivot-root': 'CAP_SYS_ADMIN', 'mask-paths': 'CAP_SYS_ADMIN', hostname: 'CAP_SYS_ADMIN',
};

const asRoot = 'run nsx as root (sudo), or as a normal user with --userns private';

export function hintFor(step: StepId, f: FailureFacts, spec: ContainerSpec): string | undefined {
  const rootless = process.getuid?.() !== 0;
  const e = f.errnoName;
  // Out of order: the capability this step needs was dropped by a capabilities step already applied.
  const needs = NEEDS[step];
  if (e === 'EPERM' && needs && f.before?.includes('capabilities') && !(spec.process.capabilities as readonly string[]).includes(needs)) {
    return `${step} needs ${needs}, and the capabilities step, already applied, has dropped it: that is why runtimes make every privileged change first and drop capabilities last (capabilities(7))`;
  }
  switch (step) {
    case 'cgroup':
      return 'nsx creates cgroups only as root, on a mounted cgroup filesystem (a normal user would need a delegated subtree, cgroups(7)): run `nsx doctor` to see the layout';
    case 'userns':
      if (e === 'ENOSPC' || e === 'EUSERS') return 'a limit on user namespaces is reached (their number, /proc/sys/user/max_user_namespaces, or their nesting depth, 32): see unshare(2)';
      if (e === 'EPERM' || e === 'EACCES')
        return 'this kernel does not let this user create user namespaces (Debian\'s sysctl kernel.unprivileged_userns_clone=0, or an AppArmor/LSM restriction): run `nsx doctor`; as root use --userns host';
      return undefined;
    case 'namespaces':
    case 'fork':
      if (f.detail?.endsWith('/timens_offsets')) {
        if (e === 'ERANGE') return 'time_namespaces(7): an offset may not make the clock negative inside the namespace, nor push it past about 146 years';
        if (e === 'EACCES') return 'time_namespaces(7): the offsets can be written only before the first process enters the time namespace';
        if (e === 'EPERM') return 'writing timens_offsets needs CAP_SYS_TIME in the user namespace that owns the time namespace';
        return undefined;
      }
      if (e === 'EPERM') return `creating namespaces needs CAP_SYS_ADMIN: ${asRoot}`;
      if (e === 'EINVAL' && f.detail && (Number(f.detail) & 0x80)) return 'this kernel has no time namespaces (CONFIG_TIME_NS, Linux 5.6+): leave out the time namespace';
      if (e === 'EINVAL') return 'this kernel lacks one of the namespace types asked for: run `nsx doctor`';
      return undefined;
    case 'network':
      return e === 'EPERM' ? 'bringing up lo needs CAP_NET_ADMIN in the network namespace\'s owning user namespace' : undefined;
    case 'mount-private':
    case 'rootfs':
      if (step === 'rootfs' && spec.root.overlay) {
        const copy = 'NSX_ROOTFS_MODE=copy copies the image\'s layers instead';
        if (e === 'EINVAL') return `overlayfs refused its options: is the store (NSX_ROOT) on a filesystem overlayfs cannot write its upper directory to (overlayfs itself, NFS, a FUSE filesystem)? ${copy}`;
        if (e === 'ENODEV') return `this kernel has no overlay filesystem (modprobe overlay as root): ${copy}`;
        if (e === 'EPERM' && rootless) return `mounting overlayfs inside a user namespace needs Linux 5.11 or newer: ${copy}`;
      }
    // falls through
    case 'proc':
    case 'dev':
    case 'sys':
    case 'tmp':
    case 'mask-paths':
      if (e === 'ENOENT') return `the mount point ${f.detail ?? ''} does not exist in the root filesystem and could not be made: check --rootfs`;
      if (e === 'EPERM' && spec.linux.namespaces.some((n) => n.type === 'user'))
        return 'inside a user namespace the kernel refuses some mounts (sysfs needs a network namespace owned by the container\'s user namespace, /proc a PID namespace owned by it, and flags inherited from the host are locked): see user_namespaces(7), mount_namespaces(7)';
      if (e === 'EPERM') return `mounting needs CAP_SYS_ADMIN in the mount namespace's owning user namespace: ${asRoot}`;
      if (e === 'EACCES' && rootless) return 'a normal user cannot reach the root filesystem or mount over it: make it readable (chmod a+rx on its path)';
      return undefined;
    case 'pivot-root':
      if (e === 'EINVAL') return 'pivot_root(2): the new root must be a mount point whose mount and parent mount are not shared, and the current root must not be initramfs or a chroot: is --rootfs on a shared mount, or is nsx itself running from initramfs?';
      if (e === 'EBUSY') return 'pivot_root(2): the new root is on the current root mount (is --rootfs the host\'s own root?)';
      if (e === 'ENOENT' || e === 'ENOTDIR') return 'the root filesystem directory is missing: build one with `npm run sandbox` and pass --rootfs sandbox/rootfs/busybox';
      return undefined;
    case 'hostname':
      if (e === 'EPERM') return 'sethostname needs CAP_SYS_ADMIN in the user namespace that owns the UTS namespace';
      return undefined;
    case 'capabilities':
      if (f.syscall === 'setgroups' && e === 'EPERM') return 'setgroups is denied in a user namespace made by a normal user (user_namespaces(7)): supplementary groups need root';
      if (f.syscall.startsWith('setres') && e === 'EINVAL') return `uid/gid ${f.detail} has no mapping in the container's user namespace: choose a user that exists inside (see /proc/PID/uid_map)`;
      if (f.syscall === 'capset' && e === 'EPERM') return 'capset(2) cannot grant a capability the process does not hold: is one of them outside nsx\'s own bounding set (grep CapBnd /proc/self/status)?';
      return e === 'EPERM' ? 'changing capabilities needs CAP_SETPCAP (bounding set) and CAP_SETUID/CAP_SETGID (user), which nsx holds as root' : undefined;
    case 'seccomp':
      if (e === 'EACCES') return 'seccomp(2): without no_new_privs, installing a filter needs CAP_SYS_ADMIN; add --security-opt no-new-privileges';
      if (e === 'EINVAL') return 'seccomp(2) EINVAL: this kernel may lack CONFIG_SECCOMP_FILTER (run `nsx doctor`), or the program exceeds 4096 instructions; otherwise please report this profile as a bug in namespace-explorer';
      return undefined;
    case 'exec':
      if (e === 'ENOENT') return `"${f.detail}" is not in the root filesystem (PATH inside: ${pathOf(spec)}), or its ELF interpreter (dynamic loader) or #! interpreter is missing there; look with: ls ${spec.root.path}/bin`;
      if (e === 'EACCES') return `"${f.detail}" is not executable by the container's user (check its mode and the directories above it)`;
      if (e === 'ENOEXEC') return `"${f.detail}" is not a program for this machine (wrong architecture or missing #! line)`;
      if (e === 'EPERM') return 'execve was refused: a seccomp profile or an LSM forbids it, or the file has file capabilities the bounding set no longer allows (capabilities(7))';
      return undefined;
  }
  return undefined;
}

function pathOf(spec: ContainerSpec): string {
  return spec.process.env.find((e) => e.startsWith('PATH='))?.slice(5) ?? '';
}
