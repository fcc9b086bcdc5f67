// What several steps share: the kernel's flag values, OCI mount options as mount(2) arguments, the
// capability sets a spec ends with, and the hint for a failed mount.
import { capNumber, type CapabilityName } from '../capabilities.js';
import { shim, type Action, type ShimAction } from '../actions.js';
import type { HostFacts } from '../plan.js';
import type { ContainerSpec, Mount, NamespaceType } from '../spec.js';
import type { FailureFacts } from './step.js';

/** clone(2)/unshare(2) flags (linux/sched.h). */
export const CLONE = {
  NEWTIME: 0x00000080,
  NEWNS: 0x00020000,
  NEWCGROUP: 0x02000000,
  NEWUTS: 0x04000000,
  NEWIPC: 0x08000000,
  NEWUSER: 0x10000000,
  NEWPID: 0x20000000,
  NEWNET: 0x40000000,
} as const;

/** mount(2) flags (linux/mount.h). */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  REMOUNT: 32,
  NOATIME: 1024,
  BIND: 4096,
  REC: 16384,
  PRIVATE: 1 << 18,
  SLAVE: 1 << 19,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;

const MOUNT_FLAGS: Record<string, number> = {
  ro: MS.RDONLY,
  nosuid: MS.NOSUID,
  nodev: MS.NODEV,
  noexec: MS.NOEXEC,
  noatime: MS.NOATIME,
  relatime: MS.RELATIME,
  strictatime: MS.STRICTATIME,
  bind: MS.BIND,
  rbind: MS.BIND | MS.REC,
};

/** OCI mount options → mount(2) flags and the filesystem's data string. */
export function mountFlags(options: string[] = []): { flags: number; data: string } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    if (o in MOUNT_FLAGS) flags |= MOUNT_FLAGS[o];
    else if (o === 'rw') flags &= ~MS.RDONLY;
    else data.push(o);
  }
  return { flags, data: data.join(',') };
}

export function has(spec: ContainerSpec, type: NamespaceType): boolean {
  return spec.linux.namespaces.some((n) => n.type === type);
}

/** True when the spec keeps CAP_SYS_ADMIN until the filter is in (seccomp(2): without no_new_privs the
 *  caller needs CAP_SYS_ADMIN to install a filter, which is why runc loads it before dropping caps). */
export function needsAdminForSeccomp(spec: ContainerSpec): boolean {
  return !!spec.linux.seccomp && !spec.process.noNewPrivileges && !spec.process.capabilities.includes('CAP_SYS_ADMIN');
}

/** A mount(2) instruction, its filesystem type and data "" (NULL) unless given. */
export function mount(m: {
  source: string;
  target: string;
  fstype?: string;
  flags: number;
  data?: string;
}): ShimAction {
  return shim({ op: 'mount', fstype: '', data: '', ...m });
}

/** One mount from the spec, into the rootfs on the host path (before pivot_root). */
export function mountActions(host: HostFacts, m: Mount): Action[] {
  const target = host.resolve(m.destination);
  const { flags, data } = mountFlags(m.options);
  const actions: Action[] = [shim({ op: 'mkdir', path: target, mode: 0o755 })];
  if (flags & MS.BIND || m.type === 'bind') {
    const bindFlags = MS.BIND | (flags & MS.REC);
    actions.push(mount({ source: m.source ?? '', target, flags: bindFlags }));
    // A bind mount ignores every flag but MS_REC on creation: they take effect on a remount (mount(2)).
    const rest = flags & ~(MS.BIND | MS.REC);
    if (rest) actions.push(mount({ source: '', target, flags: MS.BIND | MS.REMOUNT | rest }));
  } else {
    actions.push(mount({ source: m.source ?? m.type ?? 'none', target, fstype: m.type ?? '', flags, data }));
  }
  return actions;
}

export function mountsFor(spec: ContainerSpec, pick: (dest: string) => boolean): Mount[] {
  return spec.mounts.filter((m) => pick(m.destination));
}

/** The capabilities of the spec that this kernel knows (PR_CAPBSET_DROP fails on others) and that
 *  nsx itself may pass on (capset fails with EPERM on one outside its own bounding set). */
export function knownCaps(spec: ContainerSpec, host: HostFacts): CapabilityName[] {
  return spec.process.capabilities.filter((c) => capNumber(c) <= host.lastCap && host.bounding.includes(c));
}

/** Asked-for capabilities the container cannot have on this machine, for the step's notes. */
export function unavailableCaps(spec: ContainerSpec, host: HostFacts): CapabilityName[] {
  return spec.process.capabilities.filter((c) => capNumber(c) <= host.lastCap && !host.bounding.includes(c));
}

/** What the effective and permitted sets end as: the capabilities for uid 0; for any other user
 *  nothing, as Docker does, since execve would clear them anyway (capabilities(7)). */
export function finalCaps(spec: ContainerSpec, host: HostFacts): CapabilityName[] {
  return spec.process.user.uid === 0 ? knownCaps(spec, host) : [];
}

export const asRoot = 'run nsx as root (sudo), or as a normal user with --userns private';

/** nsx itself runs as a normal user (rootless). */
export const rootless = (): boolean => process.getuid?.() !== 0;

/** Why a mount failed: shared by every step that mounts (mount(2), mount_namespaces(7)). */
export function mountHint(f: FailureFacts, spec: ContainerSpec): string | undefined {
  const e = f.errnoName;
  if (e === 'ENOENT')
    return `the mount point ${f.detail ?? ''} does not exist in the root filesystem and could not be made: check --rootfs`;
  if (e === 'EPERM' && spec.linux.namespaces.some((n) => n.type === 'user'))
    return "inside a user namespace the kernel refuses some mounts (sysfs needs a network namespace owned by the container's user namespace, /proc a PID namespace owned by it, and flags inherited from the host are locked): see user_namespaces(7), mount_namespaces(7)";
  if (e === 'EPERM') return `mounting needs CAP_SYS_ADMIN in the mount namespace's owning user namespace: ${asRoot}`;
  if (e === 'EACCES' && rootless())
    return 'a normal user cannot reach the root filesystem or mount over it: make it readable (chmod a+rx on its path)';
  return undefined;
}
