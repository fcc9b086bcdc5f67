// The runtime's order: one constant, read by the runtime (plan.ts), the lessons and the docs. Each
// step is one file in steps/: what a learner is told, the actions it builds, the hints for its failures.
// It follows runc's (libcontainer/nsenter/nsexec.c, standard_init_linux.go), except: lo comes up
// before the fork; / is made rprivate (runc: rslave); and without no_new_privs the seccomp filter is
// loaded after the user switch, with CAP_SYS_ADMIN kept until then (runc loads it before dropping
// capabilities), so that every step stays one kernel feature in the order a learner meets them.
import { capabilities } from './steps/capabilities.js';
import { cgroup } from './steps/cgroup.js';
import { dev } from './steps/dev.js';
import { devices } from './steps/devices.js';
import { exec } from './steps/exec.js';
import { execCgroup } from './steps/exec/cgroup.js';
import { execExec } from './steps/exec/exec.js';
import { execFork } from './steps/exec/fork.js';
import { execNamespaces } from './steps/exec/namespaces.js';
import { fork } from './steps/fork.js';
import { lsm } from './steps/lsm.js';
import { hostname } from './steps/hostname.js';
import { maskPaths } from './steps/mask-paths.js';
import { mountPrivate } from './steps/mount-private.js';
import { namespaces } from './steps/namespaces.js';
import { network } from './steps/network.js';
import { noNewPrivs } from './steps/no-new-privs.js';
import { pivotRoot } from './steps/pivot-root.js';
import { proc } from './steps/proc.js';
import { rootfs } from './steps/rootfs.js';
import { seccomp } from './steps/seccomp.js';
import { describeStep, type Step, type StepInfo } from './steps/step.js';
import { sys } from './steps/sys.js';
import { tmp } from './steps/tmp.js';
import { userns } from './steps/userns.js';

export type { StepInfo } from './steps/step.js';

export const STEP_ORDER = [
  cgroup, //       join the cgroup first, so everything after is accounted and limited
  devices, //      the device cgroup: before the user namespace, while the shim is root on the host
  userns, //       the user namespace first: it owns every namespace created after it
  namespaces, //   uts, ipc, net, mnt, cgroup, time: created from inside, so owned by, the new user namespace
  network, //      lo up; optionally a veth pair to the host
  fork, //         a new PID namespace applies to children only: fork, the child is PID 1
  mountPrivate, // stop mount events propagating back to the host
  rootfs, //       the root filesystem becomes a mount point (pivot_root needs one)
  proc, //         a /proc for the new PID namespace
  dev, //          a minimal /dev: a few device nodes, pts, shm, mqueue
  sys, //          /sys, read-only
  tmp, //          a private /tmp
  pivotRoot, //    switch root and detach the host's tree (or chroot, unsafe, for the lesson)
  maskPaths, //    hide and write-protect sensitive /proc and /sys files, as Docker does
  hostname, //     needs the UTS namespace
  lsm, //          the AppArmor profile for the next execve: where runc applies it (standard_init_linux.go:
  //               after pivot_root and sethostname, before no_new_privs, seccomp and the user switch;
  //               runc's masked paths come after it, nsx's before), in the container's own /proc
  noNewPrivs, //   before seccomp, so the filter can be installed without CAP_SYS_ADMIN
  capabilities, // switch user, shrink the bounding, permitted and effective sets
  seccomp, //      last before exec: the filter would otherwise block the runtime's own calls
  exec, //         the container's command replaces PID 1
] as const;

export type StepId = (typeof STEP_ORDER)[number]['id'];

/** The ids of STEP_ORDER, in order. */
export const STEP_IDS: readonly StepId[] = STEP_ORDER.map((s) => s.id);

/** docker exec's order (runc exec, nsenter): a new process joins what the container already has.
 *  The ids are the container's steps whose kernel feature each one joins (namespaces: setns(2));
 *  no_new_privs, capabilities, lsm and seccomp are the container's own steps. The AppArmor profile
 *  where runc's setns_init_linux.go applies it: after the user switch (finalizeNamespace), before
 *  the seccomp filter of a no_new_privs process; nsx's filter comes after it in both cases. */
export const EXEC_ORDER = [
  execCgroup,
  execNamespaces,
  execFork,
  noNewPrivs,
  capabilities,
  lsm,
  seccomp,
  execExec,
] as const;

export type ExecStepId = (typeof EXEC_ORDER)[number]['id'] & StepId;

export const EXEC_IDS: readonly ExecStepId[] = EXEC_ORDER.map((s) => s.id);

const BY_ID = new Map<string, Step>(STEP_ORDER.map((s) => [s.id, s]));

/** The step of STEP_ORDER with this id (docker exec's steps are hinted by these too). */
export function stepById(id: StepId): Step<StepId> {
  return BY_ID.get(id) as Step<StepId>;
}

/** What a learner is told about each step, apart from what the runtime does in it. */
export const STEP_INFO = Object.fromEntries(STEP_ORDER.map((s) => [s.id, info(s)])) as Record<StepId, StepInfo>;

function info(s: Step): StepInfo {
  const { title, syscalls, shell, manPage, why } = describeStep(s);
  return { title, syscalls, shell, manPage, why };
}
