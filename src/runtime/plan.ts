// From a container spec to a plan: STEP_ORDER, each step with the exact operations it performs.
// Pure: everything it needs to know about the host comes in HostFacts, so tests can build plans for
// machines they are not running on, and lessons can show (or reorder) a plan before running it.
// What each step does is in its own file, src/runtime/steps/<id>.ts.
import { shim, type Action } from './actions.js';
import type { CapabilityName } from './capabilities.js';
import type { CgroupLayout } from './cgroups/index.js';
import { NsxError } from './errors.js';
import type { ContainerSpec } from './spec.js';
import { EXEC_ORDER, STEP_ORDER, type StepId } from './steps.js';
import { describeStep, type StepInfo, type StepProperties } from './steps/step.js';

export interface PlannedStep extends StepInfo, StepProperties {
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
  /** How this machine's device cgroup is set: v1's devices controller (devices.allow/deny), or, on
   *  a cgroup2-only machine, an eBPF program attached to the container's cgroup; absent: neither. */
  deviceCgroup?: 'v1' | 'bpf';
  /** This machine's cgroup layout (cgroups/layout.ts), for the file names a learner is shown;
   *  absent: not known (no cgroup filesystem), and v2's names are shown. */
  cgroups?: CgroupLayout;
  /** AppArmor, where it is enabled (/sys/module/apparmor/parameters/enabled is Y): the profiles the
   *  kernel has loaded (absent when securityfs cannot be read) and the attr file a process writes
   *  "exec PROFILE" to (lsm/apparmor.ts execAttrPath). Absent: not enabled. */
  apparmor?: { profiles?: readonly string[]; execAttr: string };
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

/** The plan for a spec: every step of STEP_ORDER, in order, skipped ones included (with the reason). */
export function buildPlan(spec: ContainerSpec, host: HostFacts): PlannedStep[] {
  if (spec.process.args.length === 0)
    throw new NsxError('no command to run', {
      hint: 'give a command after the options, e.g. nsx run --rootfs DIR /bin/sh',
    });
  return STEP_ORDER.map((s) => ({ ...describeStep(s), actions: [], notes: [], ...s.build(spec, host) }));
}

/** docker exec: a new process in a running container, with the container's cgroup, namespaces and
 *  security settings (the spec's: its user, capabilities, no_new_privs, seccomp filter), in
 *  EXEC_ORDER. `pid` is the container's PID 1 on the host.
 *
 *  `applied`: the container is still being built (stepped, paused before a step), and these are the
 *  steps it has so far. The new process then joins the container as it stands: its cgroup once it
 *  has one, its namespaces and root as they are, and no_new_privs, the user switch with the
 *  capabilities, and the seccomp filter only once the container has them. `pid` is then the
 *  process the runtime reports (the shim, or PID 1 once forked). */
export function buildExecPlan(
  spec: ContainerSpec,
  host: HostFacts,
  pid: number,
  applied?: ReadonlySet<string>,
): PlannedStep[] {
  if (spec.process.args.length === 0)
    throw new NsxError('no command to run', { hint: 'give the command after the container, e.g. nsx exec web ps' });
  const plan = EXEC_ORDER.map((s) => ({ ...describeStep(s), actions: [], notes: [], ...s.build(spec, host, pid) }));
  return applied ? asItStands(plan, applied) : plan;
}

/** The steps an exec into a half-built container leaves out: those the container has not applied. */
const NOT_YET: readonly StepId[] = ['cgroup', 'no-new-privs', 'capabilities', 'seccomp'];

function asItStands(plan: PlannedStep[], applied: ReadonlySet<string>): PlannedStep[] {
  const notYet = (s: PlannedStep): PlannedStep => ({
    ...s,
    actions: [],
    skip: `the container has not applied its ${s.id} step yet`,
  });
  return plan.map((s) => {
    if (NOT_YET.includes(s.id) && !applied.has(s.id)) return notYet(s);
    // Before the container's capabilities step it is root in its user namespace (the userns step's
    // setresuid(0)): so is the shell, instead of the unmapped host root that setns(2) leaves.
    if (s.id === 'namespaces' && !applied.has('capabilities'))
      return { ...s, actions: [...s.actions, shim({ op: 'setresgid', gid: 0 }), shim({ op: 'setresuid', uid: 0 })] };
    // Before the dev step the root has no devpts of the container's: the host's /dev/ptmx opens a pty
    // of the devpts mounted at /dev/pts next to it (pts(4)); TIOCGPTPEER gives its slave.
    if (s.id === 'fork' && !applied.has('dev'))
      return {
        ...s,
        actions: s.actions.map((a) =>
          a.kind === 'shim' && a.op === 'console' ? shim({ op: 'console', ptmx: '/dev/ptmx' }) : a,
        ),
      };
    return s;
  });
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
