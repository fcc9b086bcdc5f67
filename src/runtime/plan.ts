// From a container spec to a plan: STEP_ORDER, each step with the exact operations it performs.
// Pure: everything it needs to know about the host comes in HostFacts, so tests can build plans for
// machines they are not running on, and lessons can show (or reorder) a plan before running it.
import { posix } from 'node:path';
import { CAPABILITY_NAMES, capNumber, capsToMask, type CapabilityName } from './capabilities.js';
import { NsxError } from './errors.js';
import { shellLine } from '../shellwords.js';
import type { ContainerSpec, Mount, NamespaceType, OverlayRoot } from './spec.js';
import { DEFAULT_DEVICES, DEV_SYMLINKS } from './spec.js';
import { EXEC_ORDER, EXEC_STEP_INFO, STEP_INFO, STEP_ORDER, type ExecStepId, type StepId, type StepInfo } from './steps.js';

/** What one step does. 'shim' operations run inside the container process; 'host' ones run in nsx. */
export type Action =
  | { kind: 'shim'; op: string; args: string[] }
  | { kind: 'host'; op: 'cgroup' }
  | { kind: 'host'; op: 'cgroup-join'; id: string }
  | { kind: 'host'; op: 'id-maps'; setgroups: 'allow' | 'deny' }
  | { kind: 'host'; op: 'veth' };

export interface PlannedStep extends StepInfo {
  id: StepId;
  actions: Action[];
  /** Why the step does nothing for this spec (e.g. "--userns host: no user namespace"). */
  skip?: string;
  /** What a learner should know about this run's version of the step. */
  notes: string[];
}

export interface HostFacts {
  arch: 'x86_64' | 'aarch64';
  /** uname -r */
  kernel: string;
  /** nsx runs as root in the initial user namespace. */
  root: boolean;
  /** The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
  lastCap: number;
  /** nsx's own bounding set: no process it starts can have a capability outside it (capabilities(7)). */
  bounding: readonly string[];
  /** Kind of each masked path on this kernel: file, dir, or absent. */
  pathKind: (path: string) => 'file' | 'dir' | 'absent';
  /** Compiles a seccomp profile for this host (injected so plan.ts stays free of the compiler's tables). */
  compileSeccomp?: (profile: unknown, source: string, caps: CapabilityName[]) => Buffer;
  /** Whether a container path exists in the rootfs (for the working directory). */
  rootfsHas: (path: string) => boolean;
  /** A container path as a host path inside the rootfs, symlinks resolved without leaving it. */
  resolve: (path: string) => string;
}

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

const NS_FLAG: Record<Exclude<NamespaceType, 'user' | 'pid'>, [number, string]> = {
  uts: [CLONE.NEWUTS, 'CLONE_NEWUTS'],
  ipc: [CLONE.NEWIPC, 'CLONE_NEWIPC'],
  network: [CLONE.NEWNET, 'CLONE_NEWNET'],
  mount: [CLONE.NEWNS, 'CLONE_NEWNS'],
  cgroup: [CLONE.NEWCGROUP, 'CLONE_NEWCGROUP'],
  time: [CLONE.NEWTIME, 'CLONE_NEWTIME'],
};

export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, REMOUNT: 32, NOATIME: 1024, BIND: 4096, REC: 16384,
  PRIVATE: 1 << 18, SLAVE: 1 << 19, RELATIME: 1 << 21, STRICTATIME: 1 << 24,
} as const;
const MNT_DETACH = 2;

const MOUNT_FLAGS: Record<string, number> = {
  ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, noatime: MS.NOATIME,
  relatime: MS.RELATIME, strictatime: MS.STRICTATIME, bind: MS.BIND, rbind: MS.BIND | MS.REC,
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

const shim = (op: string, ...args: (string | number | bigint)[]): Action => ({ kind: 'shim', op, args: args.map(String) });

function has(spec: ContainerSpec, type: NamespaceType): boolean {
  return spec.linux.namespaces.some((n) => n.type === type);
}

/** True when the spec keeps CAP_SYS_ADMIN until the filter is in (seccomp(2): without no_new_privs the
 *  caller needs CAP_SYS_ADMIN to install a filter, which is why runc loads it before dropping caps). */
function needsAdminForSeccomp(spec: ContainerSpec): boolean {
  return !!spec.linux.seccomp && !spec.process.noNewPrivileges && !spec.process.capabilities.includes('CAP_SYS_ADMIN');
}

// ---------- one function per step ----------

function cgroupStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const r = spec.linux.resources;
  if (!host.root && !r) return { skip: 'running without root: nsx creates cgroups only as root (a normal user would need a delegated subtree, cgroups(7))' };
  return { actions: [{ kind: 'host', op: 'cgroup' }] };
}

function usernsStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  if (!has(spec, 'user')) return { skip: 'no user namespace (--userns host): root inside is root outside' };
  if (!spec.linux.uidMappings?.length || !spec.linux.gidMappings?.length)
    throw new NsxError('the user namespace needs uid and gid mappings', { hint: 'set linux.uidMappings and linux.gidMappings' });
  return {
    actions: [
      shim('unshare', CLONE.NEWUSER),
      // An unprivileged writer may map only its own gid, and only after denying setgroups (user_namespaces(7)).
      { kind: 'host', op: 'id-maps', setgroups: host.root ? 'allow' : 'deny' },
      // Become the namespace's root right away: if nsx runs as root with a non-identity map, its uid
      // is unmapped here, and the kernel refuses (EOVERFLOW) to create files on filesystems mounted
      // inside this namespace, like the /dev tmpfs. runc's nsexec does the same.
      shim('setresgid', 0),
      shim('setresuid', 0),
    ],
  };
}

function namespacesStep(spec: ContainerSpec): Partial<PlannedStep> {
  const chosen = (Object.keys(NS_FLAG) as (keyof typeof NS_FLAG)[]).filter((t) => has(spec, t));
  if (!chosen.length) return { skip: 'no namespaces besides the PID namespace were asked for' };
  const flags = chosen.reduce((f, t) => f | NS_FLAG[t][0], 0);
  // A new time namespace's clocks can be offset only until its first process enters it, which the
  // fork does (time_namespaces(7)); the process that made it writes its /proc/PID/timens_offsets.
  const offsets = has(spec, 'time') ? Object.entries(spec.linux.timeOffsets ?? {}) : [];
  const offsetText = offsets.map(([clock, o]) => `${clock} ${o.secs} ${o.nanosecs ?? 0}\n`).join('');
  return {
    syscalls: [`unshare(${chosen.map((t) => NS_FLAG[t][1]).join(' | ')})`, ...(offsets.length ? [`write("/proc/self/timens_offsets", "${offsetText.replace(/\n/g, '\\n')}")`] : [])],
    shell: `unshare ${chosen.map((t) => `--${t === 'network' ? 'net' : t}`).join(' ')}${offsets.map(([clock, o]) => ` --${clock} ${o.secs}`).join('')}`,
    actions: [shim('unshare', flags), ...(offsets.length ? [shim('write', '/proc/self/timens_offsets', offsetText)] : [])],
  };
}

function networkStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  if (spec.nsx.network === 'host' || !has(spec, 'network')) return { skip: '--network host: the host\'s network stack is shared' };
  const actions: Action[] = [shim('loopback_up')];
  if (spec.nsx.network === 'veth') {
    if (!host.root) throw new NsxError('--network veth needs root', { hint: 'creating a veth pair in the host namespace needs CAP_NET_ADMIN there: run with sudo, or use --network none' });
    actions.push({ kind: 'host', op: 'veth' });
    return {
      actions,
      syscalls: ['ioctl(SIOCSIFFLAGS, "lo", IFF_UP)', 'RTM_NEWLINK veth (netlink)', 'RTM_NEWADDR'],
      shell: 'ip link set lo up; ip link add nsxh… type veth peer name eth0 netns PID',
    };
  }
  return { actions };
}

function forkStep(spec: ContainerSpec): Partial<PlannedStep> {
  const actions = has(spec, 'pid') ? [shim('unshare', CLONE.NEWPID), shim('fork')] : [shim('fork')];
  return { actions, ...(has(spec, 'pid') ? {} : { notes: ['no PID namespace: the child shares the host\'s PIDs'], syscalls: ['fork()'], shell: '' }) };
}

function mountPrivateStep(spec: ContainerSpec): Partial<PlannedStep> {
  if (!has(spec, 'mount')) return { skip: 'no mount namespace' };
  return { actions: [shim('mount', '', '/', '', MS.REC | MS.PRIVATE, '')] };
}

/** overlayfs's mount options (overlayfs.rst, "Multiple lower layers": lowerdir=top:…:bottom). */
export function overlayMountData(o: OverlayRoot): string {
  return `lowerdir=${o.lowerdirs.join(':')},upperdir=${o.upper},workdir=${o.work}${o.userxattr ? ',userxattr' : ''}`;
}

function rootfsStep(spec: ContainerSpec): Partial<PlannedStep> {
  if (!has(spec, 'mount')) return { skip: 'no mount namespace' };
  const root = spec.root.path;
  const o = spec.root.overlay;
  if (!o) {
    const c = spec.root.copied;
    const notes = c ? [`the image's ${c.layers} layer${c.layers === 1 ? ' was' : 's were'} copied into this directory, the container's own (${c.reason}); overlayfs would share them instead`] : [];
    return { actions: [shim('mount', root, root, '', MS.BIND | MS.REC, '')], notes };
  }
  // Mounted here, inside the container's new mount namespace: the host never sees the overlay, and
  // it goes when the namespace's last process does, so nothing can be left mounted.
  const n = o.lowerdirs.length;
  return {
    title: 'Mount the image\'s layers with overlayfs',
    syscalls: ['mount("overlay", TARGET, "overlay", 0, "lowerdir=LAYER_N:…:LAYER_1,upperdir=UPPER,workdir=WORK")'],
    shell: `mount -t overlay overlay -o lowerdir=LAYER_N:…:LAYER_1,upperdir=UPPER,workdir=WORK${o.userxattr ? ',userxattr' : ''} TARGET`,
    manPage: 'mount(2)',
    why: 'overlayfs shows the image\'s read-only layers (lower directories, top one first) merged as one tree; the container\'s writes go to its own upper directory, a file being copied up there when first changed, and a deletion leaves a whiteout there. The layers stay shared and untouched, and removing the container removes only its upper directory. The overlay is a mount point, as pivot_root(2) needs (overlayfs: the kernel\'s Documentation/filesystems/overlayfs.rst).',
    notes: [
      `${n} layer${n === 1 ? '' : 's'} (top first): ${o.lowerdirs.join(', ')}`,
      `writable layer: ${o.upper}`,
      ...(o.userxattr ? ['userxattr: in a user namespace overlayfs keeps its marks (opaque directories) in user.overlay.* xattrs'] : []),
    ],
    actions: [shim('mount', 'overlay', o.target, 'overlay', 0, overlayMountData(o))],
  };
}

/** One mount from the spec, into the rootfs on the host path (before pivot_root). */
function mountActions(host: HostFacts, m: Mount): Action[] {
  const target = host.resolve(m.destination);
  const { flags, data } = mountFlags(m.options);
  const actions: Action[] = [shim('mkdir', target, 0o755)];
  if (flags & MS.BIND || m.type === 'bind') {
    const bindFlags = MS.BIND | (flags & MS.REC);
    actions.push(shim('mount', m.source ?? '', target, '', bindFlags, ''));
    // A bind mount ignores every flag but MS_REC on creation: they take effect on a remount (mount(2)).
    const rest = flags & ~(MS.BIND | MS.REC);
    if (rest) actions.push(shim('mount', '', target, '', MS.BIND | MS.REMOUNT | rest, ''));
  } else {
    actions.push(shim('mount', m.source ?? m.type ?? 'none', target, m.type ?? '', flags, data));
  }
  return actions;
}

function mountsFor(spec: ContainerSpec, pick: (dest: string) => boolean): Mount[] {
  return spec.mounts.filter((m) => pick(m.destination));
}

function procStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const ms = mountsFor(spec, (d) => d === '/proc');
  if (!ms.length) return { skip: 'no /proc mount in the spec' };
  return { actions: ms.flatMap((m) => mountActions(host, m)) };
}

function devStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const ms = mountsFor(spec, (d) => d === '/dev' || d.startsWith('/dev/'));
  if (!ms.find((m) => m.destination === '/dev')) return { skip: 'no /dev mount in the spec' };
  const [devMount, ...under] = ms;
  const actions = mountActions(host, devMount);
  const dev = host.resolve('/dev');
  // Bind the host's nodes rather than mknod: it works inside a user namespace too (runc does this rootless).
  for (const d of DEFAULT_DEVICES) {
    actions.push(shim('touch', `${dev}/${d}`), shim('mount', `/dev/${d}`, `${dev}/${d}`, '', MS.BIND, ''));
  }
  for (const [target, link] of DEV_SYMLINKS) actions.push(shim('symlink', target, posix.join(dev, posix.basename(link))));
  for (const m of under) actions.push(...mountActions(host, m));
  if (!spec.process.terminal) return { actions };
  // docker run -t: the terminal comes from the container's own devpts instance, just mounted.
  return {
    actions: [...actions, shim('console', posix.join(dev, 'pts', 'ptmx'))],
    syscalls: [...STEP_INFO.dev.syscalls, 'open("ROOTFS/dev/pts/ptmx")', 'ioctl(TIOCGPTPEER)', 'dup2(pty, 0|1|2)', 'ioctl(0, TIOCSCTTY)'],
    notes: ["-t: a pseudo-terminal from the container's own devpts becomes PID 1's stdin, stdout, stderr and controlling terminal; its master goes to the supervisor, which copies it to nsx (pts(4))"],
  };
}

function sysStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const ms = mountsFor(spec, (d) => d === '/sys' || d.startsWith('/sys/'));
  if (!ms.length) return { skip: 'no /sys mount in the spec' };
  return { actions: ms.flatMap((m) => mountActions(host, m)) };
}

function tmpStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const ms = mountsFor(spec, (d) => !['/proc', '/sys', '/dev'].some((p) => d === p || d.startsWith(p + '/')));
  if (!ms.length) return { skip: 'no /tmp (or other) mount in the spec' };
  return { actions: ms.flatMap((m) => mountActions(host, m)) };
}

function pivotRootStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const after = host.rootfsHas(spec.process.cwd) ? [] : [shim('mkdir', spec.process.cwd, 0o755)];
  if (spec.nsx.rootMode === 'chroot') {
    return {
      title: 'chroot into the root filesystem (UNSAFE: for the chroot lesson)',
      syscalls: ['chdir(rootfs)', 'chroot(".")', 'chdir("/")'],
      shell: 'chroot ROOTFS',
      manPage: 'chroot(2)',
      notes: ['chroot only changes how "/" is resolved for this process; the host\'s mounts stay in the namespace and a process with CAP_SYS_CHROOT can escape (chroot(2)).'],
      actions: [shim('chroot', spec.root.path), ...after],
    };
  }
  if (!has(spec, 'mount')) throw new NsxError('pivot_root needs a mount namespace', { hint: 'add the mount namespace, or use chroot (unsafe)' });
  return { actions: [shim('pivot_root', spec.root.path), ...after] };
}

function maskPathsStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const actions: Action[] = [];
  for (const p of spec.linux.maskedPaths) {
    const kind = host.pathKind(p);
    if (kind === 'file') actions.push(shim('mount', '/dev/null', p, '', MS.BIND, ''));
    if (kind === 'dir') actions.push(shim('mount', 'tmpfs', p, 'tmpfs', MS.RDONLY, ''));
  }
  for (const p of spec.linux.readonlyPaths) {
    if (host.pathKind(p) === 'absent') continue;
    // Keep nosuid,nodev,noexec: a bind remount sets exactly the flags given, so leaving them out
    // would clear them (mount(2)); on a mount inherited from the host they are locked and the kernel
    // would refuse (mount_namespaces(7)). runc copies them from statfs(2) the same way.
    const keep = p.startsWith('/proc') ? MS.NOSUID | MS.NODEV | MS.NOEXEC : 0;
    actions.push(shim('mount', p, p, '', MS.BIND | MS.REC, ''), shim('mount', p, p, '', MS.BIND | MS.REMOUNT | MS.RDONLY | keep, ''));
  }
  if (!actions.length) return { skip: 'no masked or read-only paths' };
  return { actions };
}

function hostnameStep(spec: ContainerSpec): Partial<PlannedStep> {
  if (!spec.hostname && !spec.domainname) return { skip: 'no hostname in the spec' };
  if (!has(spec, 'uts')) throw new NsxError('setting the hostname requires the UTS namespace', { hint: 'without one, sethostname would rename the host' });
  const actions: Action[] = [];
  if (spec.hostname) actions.push(shim('sethostname', spec.hostname));
  if (spec.domainname) actions.push(shim('setdomainname', spec.domainname));
  return { actions };
}

function noNewPrivsStep(spec: ContainerSpec): Partial<PlannedStep> {
  if (!spec.process.noNewPrivileges) return { skip: 'not asked for (--security-opt no-new-privileges)' };
  return { actions: [shim('no_new_privs')] };
}

/** The capabilities of the spec that this kernel knows (PR_CAPBSET_DROP fails on others) and that
 *  nsx itself may pass on (capset fails with EPERM on one outside its own bounding set). */
function knownCaps(spec: ContainerSpec, host: HostFacts): CapabilityName[] {
  return spec.process.capabilities.filter((c) => capNumber(c) <= host.lastCap && host.bounding.includes(c));
}

/** Asked-for capabilities the container cannot have on this machine, for the step's notes. */
function unavailableCaps(spec: ContainerSpec, host: HostFacts): CapabilityName[] {
  return spec.process.capabilities.filter((c) => capNumber(c) <= host.lastCap && !host.bounding.includes(c));
}

/** What the effective and permitted sets end as: the capabilities for uid 0; for any other user
 *  nothing, as Docker does, since execve would clear them anyway (capabilities(7)). */
function finalCaps(spec: ContainerSpec, host: HostFacts): CapabilityName[] {
  return spec.process.user.uid === 0 ? knownCaps(spec, host) : [];
}

function capabilitiesStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const caps = knownCaps(spec, host);
  const { uid, gid, additionalGids = [] } = spec.process.user;
  const drop = CAPABILITY_NAMES.filter((c) => capNumber(c) <= host.lastCap && host.bounding.includes(c) && !caps.includes(c)).map(capNumber);
  const keepAdmin = needsAdminForSeccomp(spec);
  const final = finalCaps(spec, host);
  const working = keepAdmin ? [...final, 'CAP_SYS_ADMIN' as const] : final;
  const mask = capsToMask(working);
  const rootless = !host.root;
  const actions: Action[] = [];
  // The bounding set first, while we still have CAP_SETPCAP (capabilities(7): PR_CAPBSET_DROP).
  if (drop.length) actions.push(shim('bset_drop', ...drop));
  // Keep permitted capabilities across setresuid away from 0, then set the final sets (runc's finalizeNamespace).
  actions.push(shim('keep_caps', 1));
  if (!(rootless && additionalGids.length === 0)) actions.push(shim('setgroups', ...additionalGids));
  actions.push(shim('setresgid', gid), shim('setresuid', uid), shim('keep_caps', 0));
  actions.push(shim('capset', mask, mask, 0));
  const notes = keepAdmin
    ? ['CAP_SYS_ADMIN stays in the effective set until the seccomp filter is installed: without no_new_privs, seccomp(2) requires it. The seccomp step drops it.']
    : [];
  const missing = unavailableCaps(spec, host);
  if (missing.length) notes.push(`not in nsx's own bounding set, so the container cannot have them either: ${missing.join(', ')}`);
  return { actions, notes };
}

function seccompStep(spec: ContainerSpec, host: HostFacts): Partial<PlannedStep> {
  const sc = spec.linux.seccomp;
  if (!sc) return { skip: 'seccomp=unconfined: no filter' };
  if (!host.compileSeccomp) throw new NsxError('no seccomp compiler for this host', { hint: 'seccomp profiles compile for x86_64 and aarch64' });
  const filter = host.compileSeccomp(sc.profile, sc.source, spec.process.capabilities);
  const actions: Action[] = [shim('seccomp', 0, filter.toString('hex'))];
  if (needsAdminForSeccomp(spec)) {
    const mask = capsToMask(finalCaps(spec, host));
    actions.push(shim('capset', mask, mask, 0));
  }
  return { actions, notes: [`${filter.length / 8} BPF instructions compiled from ${sc.source}`] };
}

function execStep(spec: ContainerSpec): Partial<PlannedStep> {
  const { args, env, cwd } = spec.process;
  return {
    syscalls: [`chdir("${cwd}")`, `execve("${args[0]}", …)`],
    shell: `exec ${shellLine(args)}`,
    actions: [shim('chdir', cwd), shim('exec', args.length, ...args, ...env)],
  };
}

const BUILDERS: Record<StepId, (spec: ContainerSpec, host: HostFacts) => Partial<PlannedStep>> = {
  cgroup: cgroupStep,
  userns: usernsStep,
  namespaces: namespacesStep,
  network: networkStep,
  fork: forkStep,
  'mount-private': mountPrivateStep,
  rootfs: rootfsStep,
  proc: procStep,
  dev: devStep,
  sys: sysStep,
  tmp: tmpStep,
  'pivot-root': pivotRootStep,
  'mask-paths': maskPathsStep,
  hostname: hostnameStep,
  'no-new-privs': noNewPrivsStep,
  capabilities: capabilitiesStep,
  seccomp: seccompStep,
  exec: execStep,
};

/** The plan for a spec: every step of STEP_ORDER, in order, skipped ones included (with the reason). */
export function buildPlan(spec: ContainerSpec, host: HostFacts): PlannedStep[] {
  if (spec.process.args.length === 0) throw new NsxError('no command to run', { hint: 'give a command after the options, e.g. nsx run --rootfs DIR /bin/sh' });
  return STEP_ORDER.map((id) => {
    const built = BUILDERS[id](spec, host);
    return { id, ...STEP_INFO[id], actions: [], notes: [], ...built };
  });
}

/** docker exec: a new process in a running container, with the container's cgroup, namespaces and
 *  security settings (the spec's: its user, capabilities, no_new_privs, seccomp filter), in
 *  EXEC_ORDER. `pid` is the container's PID 1 on the host. */
export function buildExecPlan(spec: ContainerSpec, host: HostFacts, pid: number): PlannedStep[] {
  if (spec.process.args.length === 0) throw new NsxError('no command to run', { hint: 'give the command after the container, e.g. nsx exec web ps' });
  const { args, env, cwd } = spec.process;
  const built: Record<ExecStepId, () => Partial<PlannedStep>> = {
    cgroup: () => (host.root ? { actions: [{ kind: 'host', op: 'cgroup-join', id: spec.id }] } : { skip: 'running without root: the container has no cgroup of its own' }),
    namespaces: () => ({ actions: [shim('setns', pid)], shell: `nsenter --target ${pid} --all --root` }),
    fork: () => ({
      actions: [shim('fork'), ...(spec.process.terminal ? [shim('console', '/dev/pts/ptmx')] : [])],
      syscalls: ['fork()'],
      shell: '',
      why: "setns(2) into a PID (or time) namespace applies to the children created afterwards: the child is in the container's PID namespace, with a PID of its own there.",
    }),
    'no-new-privs': () => noNewPrivsStep(spec),
    capabilities: () => capabilitiesStep(spec, host),
    seccomp: () => seccompStep(spec, host),
    exec: () => ({
      syscalls: [`chdir("${cwd}")`, `execve("${args[0]}", …)`],
      shell: `exec ${shellLine(args)}`,
      actions: [shim('chdir', cwd), shim('exec', args.length, ...args, ...env)],
      why: "The command replaces the runtime's code; it runs beside PID 1 and ends with the container at the latest (pid_namespaces(7): when PID 1 dies, the kernel kills every other process of its namespace).",
    }),
  };
  return EXEC_ORDER.map((id) => ({ id, ...EXEC_STEP_INFO[id], actions: [], notes: [], ...built[id]() }));
}

/** A copy of the plan with two steps swapped: for the kernel-order lesson's "break it". */
export function swapSteps(plan: PlannedStep[], a: StepId, b: StepId): PlannedStep[] {
  const i = plan.findIndex((s) => s.id === a);
  const j = plan.findIndex((s) => s.id === b);
  if (i < 0 || j < 0) throw new NsxError(`cannot swap ${a} and ${b}: not both in the plan`);
  const out = [...plan];
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}
