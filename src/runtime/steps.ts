// The runtime's order: one constant, read by the runtime (plan.ts), the lessons and the docs.
// It follows runc's (libcontainer/nsenter/nsexec.c, standard_init_linux.go), except: lo comes up
// before the fork; / is made rprivate (runc: rslave); and without no_new_privs the seccomp filter is
// loaded after the user switch, with CAP_SYS_ADMIN kept until then (runc loads it before dropping
// capabilities), so that every step stays one kernel feature in the order a learner meets them.

export const STEP_ORDER = [
  'cgroup', //        join the cgroup first, so everything after is accounted and limited
  'userns', //        the user namespace first: it owns every namespace created after it
  'namespaces', //    uts, ipc, net, mnt, cgroup, time: created from inside, so owned by, the new user namespace
  'network', //       lo up; optionally a veth pair to the host
  'fork', //          a new PID namespace applies to children only: fork, the child is PID 1
  'mount-private', // stop mount events propagating back to the host
  'rootfs', //        the root filesystem becomes a mount point (pivot_root needs one)
  'proc', //          a /proc for the new PID namespace
  'dev', //           a minimal /dev: a few device nodes, pts, shm, mqueue
  'sys', //           /sys, read-only
  'tmp', //           a private /tmp
  'pivot-root', //    switch root and detach the host's tree (or chroot, unsafe, for the lesson)
  'mask-paths', //    hide and write-protect sensitive /proc and /sys files, as Docker does
  'hostname', //      needs the UTS namespace
  'no-new-privs', //  before seccomp, so the filter can be installed without CAP_SYS_ADMIN
  'capabilities', //  switch user, shrink the bounding, permitted and effective sets
  'seccomp', //       last before exec: the filter would otherwise block the runtime's own calls
  'exec', //          the container's command replaces PID 1
] as const;

export type StepId = (typeof STEP_ORDER)[number];

/** docker exec's order (runc exec, nsenter): a new process joins what the container already has.
 *  The ids are the container's steps whose kernel feature each one joins (namespaces: setns(2)). */
export const EXEC_ORDER = ['cgroup', 'namespaces', 'fork', 'no-new-privs', 'capabilities', 'seccomp', 'exec'] as const;

export type ExecStepId = (typeof EXEC_ORDER)[number] & StepId;

/** What a learner is told about each step, apart from what the runtime does in it. */
export interface StepInfo {
  title: string;
  /** The system calls the step makes, as a learner would write them. */
  syscalls: string[];
  /** The util-linux (or other standard tool) command that does the same by hand. */
  shell: string;
  /** The man page that specifies the behaviour, e.g. "pid_namespaces(7)". */
  manPage: string;
  /** One sentence: why this step exists and why here in the order. */
  why: string;
}

export const STEP_INFO: Record<StepId, StepInfo> = {
  cgroup: {
    title: 'Join a new cgroup with the limits',
    syscalls: ['mkdir("/sys/fs/cgroup/…/nsx/<id>")', 'write("memory.max"…)', 'write("cgroup.procs", pid)'],
    shell: 'mkdir /sys/fs/cgroup/nsx/<id> && echo $$ > /sys/fs/cgroup/nsx/<id>/cgroup.procs',
    manPage: 'cgroups(7)',
    why: 'Children inherit their parent\'s cgroup, so joining it first puts every later process under the limits.',
  },
  userns: {
    title: 'Create the user namespace and write its uid/gid maps',
    syscalls: ['unshare(CLONE_NEWUSER)', 'write("/proc/<pid>/uid_map")', 'write("/proc/<pid>/setgroups", "deny") (a normal user only)', 'write("/proc/<pid>/gid_map")', 'setresuid(0, 0, 0)'],
    shell: 'unshare --user --map-root-user',
    manPage: 'user_namespaces(7)',
    why: 'The user namespace comes first because it owns every namespace created after it; the maps say which outside ids the inside ids really are.',
  },
  namespaces: {
    title: 'Create the other namespaces',
    syscalls: ['unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWTIME)'],
    shell: 'unshare --uts --ipc --net --mount --cgroup --time',
    manPage: 'namespaces(7)',
    why: 'Each namespace gives the process its own copy of one kind of global resource. unshare(2) moves the caller into the new UTS, IPC, network, mount and cgroup namespaces at once; a new time namespace, like a PID namespace, applies only to its children.',
  },
  network: {
    title: 'Bring up the network',
    syscalls: ['ioctl(SIOCSIFFLAGS, "lo", IFF_UP)'],
    shell: 'ip link set lo up',
    manPage: 'network_namespaces(7)',
    why: 'A network namespace has its own devices, addresses and routes; a new one has only a loopback device, and it is down (see ip-netns(8)).',
  },
  fork: {
    title: 'Fork into the new PID namespace',
    syscalls: ['unshare(CLONE_NEWPID)', 'fork()'],
    shell: 'unshare --pid --fork',
    manPage: 'pid_namespaces(7)',
    why: 'unshare(CLONE_NEWPID) does not move the caller: the children it creates afterwards are in the new PID namespace, and the first one is PID 1.',
  },
  'mount-private': {
    title: 'Make every mount private',
    syscalls: ['mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)'],
    shell: 'mount --make-rprivate /',
    manPage: 'mount_namespaces(7)',
    why: 'A new mount namespace starts with a copy of the caller\'s mounts, and with systemd they are shared: making them private stops mounts propagating between host and container (in a user namespace the kernel already turns shared into slave).',
  },
  rootfs: {
    title: 'Bind the root filesystem onto itself',
    syscalls: ['mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL)'],
    shell: 'mount --rbind ROOTFS ROOTFS',
    manPage: 'pivot_root(2)',
    why: 'pivot_root(2) requires the new root to be a mount point; a bind mount of the directory onto itself makes it one.',
  },
  proc: {
    title: 'Mount /proc for the new PID namespace',
    syscalls: ['mount("proc", "ROOTFS/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)'],
    shell: 'mount -t proc proc ROOTFS/proc',
    manPage: 'pid_namespaces(7)',
    why: 'A proc filesystem shows the PID namespace of the process that mounted it, so tools like ps see only the container.',
  },
  dev: {
    title: 'Build a minimal /dev',
    syscalls: ['mount("tmpfs", "ROOTFS/dev", "tmpfs", …)', 'mount("/dev/null", "ROOTFS/dev/null", NULL, MS_BIND, NULL)', 'mount("devpts", "ROOTFS/dev/pts", "devpts", …, "newinstance,ptmxmode=0666")'],
    shell: 'mount -t tmpfs tmpfs ROOTFS/dev && touch ROOTFS/dev/null && mount --bind /dev/null ROOTFS/dev/null',
    manPage: 'tmpfs(5)',
    why: 'The container gets only harmless devices (null, zero, full, random, urandom, tty), its own pseudo-terminals, shared memory and POSIX message queues.',
  },
  sys: {
    title: 'Mount /sys read-only',
    syscalls: ['mount("sysfs", "ROOTFS/sys", "sysfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)'],
    shell: 'mount -t sysfs -o ro sysfs ROOTFS/sys',
    manPage: 'sysfs(5)',
    why: 'Programs expect /sys; read-only, it cannot be used to change the host\'s kernel settings.',
  },
  tmp: {
    title: 'Mount a private /tmp',
    syscalls: ['mount("tmpfs", "ROOTFS/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")'],
    shell: 'mount -t tmpfs -o mode=1777 tmpfs ROOTFS/tmp',
    manPage: 'tmpfs(5)',
    why: 'Scratch space that lives in memory and vanishes with the container\'s mount namespace.',
  },
  'pivot-root': {
    title: 'Switch to the new root and detach the old one',
    syscalls: ['chdir(rootfs)', 'pivot_root(".", ".")', 'umount2(".", MNT_DETACH)', 'chdir("/")'],
    shell: 'cd ROOTFS && pivot_root . . && umount -l .',
    manPage: 'pivot_root(2)',
    why: 'pivot_root moves the old root away and the detach removes it from the mount namespace, so no path leads back to the host (chroot(2) only changes how paths are resolved).',
  },
  'mask-paths': {
    title: 'Mask and write-protect sensitive paths',
    syscalls: ['mount("/dev/null", "/proc/kcore", NULL, MS_BIND, NULL)', 'mount("tmpfs", "/proc/acpi", "tmpfs", MS_RDONLY, NULL)', 'mount("/proc/sys", "/proc/sys", NULL, MS_BIND | MS_REC, NULL)', 'mount(NULL, "/proc/sys", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)'],
    shell: 'mount --bind /dev/null /proc/kcore && mount --rbind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys',
    manPage: 'proc(5)',
    why: 'Some /proc and /sys files describe or control the whole machine; Docker hides them (maskedPaths) or makes them read-only (readonlyPaths).',
  },
  hostname: {
    title: 'Set the hostname',
    syscalls: ['sethostname(name)', 'setdomainname(name)'],
    shell: 'hostname NAME; domainname NAME',
    manPage: 'uts_namespaces(7)',
    why: 'In its own UTS namespace the container can have its own hostname and NIS domain name; the host\'s are untouched.',
  },
  'no-new-privs': {
    title: 'Set no_new_privs',
    syscalls: ['prctl(PR_SET_NO_NEW_PRIVS, 1)'],
    shell: 'setpriv --no-new-privs',
    manPage: 'prctl(2)',
    why: 'After this no execve can grant more privileges (set-user-ID and set-group-ID bits and file capabilities stop working); it is inherited and cannot be unset.',
  },
  capabilities: {
    title: 'Switch user and drop capabilities',
    syscalls: ['prctl(PR_CAPBSET_DROP, cap)', 'prctl(PR_SET_KEEPCAPS, 1)', 'setgroups()', 'setresgid()', 'setresuid()', 'prctl(PR_SET_KEEPCAPS, 0)', 'capset()'],
    shell: 'setpriv --bounding-set -all,+chown,… --reuid UID --regid GID --init-groups',
    manPage: 'capabilities(7)',
    why: 'Root\'s power is split into capabilities; the bounding set limits what any later execve can gain, and the effective set is what the kernel checks.',
  },
  seccomp: {
    title: 'Install the seccomp filter',
    syscalls: ['seccomp(SECCOMP_SET_MODE_FILTER, 0, &prog)'],
    shell: 'setpriv --seccomp-filter FILE (newer util-linux; compiled BPF); docker run --security-opt seccomp=profile.json',
    manPage: 'seccomp(2)',
    why: 'A BPF program the kernel runs on every system call of this process and the children it creates, returning an action: allow, fail with an errno, kill, trap (SIGSYS), log or notify a tracer.',
  },
  exec: {
    title: 'Execute the container\'s command',
    syscalls: ['execve(path, argv, envp)'],
    shell: 'exec COMMAND',
    manPage: 'execve(2)',
    why: 'The runtime\'s code is replaced by the command, which runs as PID 1 of the container; when it exits, the container is over.',
  },
};

/** The exec steps: the container's own where they are the same kernel feature. */
export const EXEC_STEP_INFO: Record<ExecStepId, StepInfo> = {
  'no-new-privs': STEP_INFO['no-new-privs'],
  capabilities: STEP_INFO.capabilities,
  seccomp: STEP_INFO.seccomp,
  exec: STEP_INFO.exec,
  fork: STEP_INFO.fork,
  cgroup: {
    title: 'Join the container\'s cgroup',
    syscalls: ['write("/sys/fs/cgroup/…/nsx/<id>/cgroup.procs", pid)'],
    shell: 'echo $$ > /sys/fs/cgroup/…/nsx/<id>/cgroup.procs',
    manPage: 'cgroups(7)',
    why: 'The new process counts against the container\'s limits like every other process of it.',
  },
  namespaces: {
    title: 'Join the container\'s namespaces',
    syscalls: ['open("/proc/PID/ns/…")', 'setns(fd, 0) (user, cgroup, ipc, uts, net, pid, time, mnt)', 'chroot("/proc/PID/root")'],
    shell: 'nsenter --target PID --all --root',
    manPage: 'setns(2)',
    why: 'setns(2) moves the calling process into an existing namespace, named by a file in /proc/PID/ns; the user namespace first, since it owns the others.',
  },
};
