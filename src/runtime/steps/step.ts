// What a step is: one kernel feature, whole — what a learner is told about it, the actions it
// builds for a spec, and the hint for its failures. The steps themselves are the files beside this
// one; their order is STEP_ORDER in ../steps.ts.
import type { HostFacts, PlannedStep } from '../plan.js';
import type { ContainerSpec } from '../spec.js';

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

/** What code outside the runtime needs to know of a step once it is applied (carried into the
 *  plan and the events, so nobody tests steps by name). */
export interface StepProperties {
  /** After it the process has another root: a shell must enter /proc/PID/root (nsenter -r). */
  changesRoot?: boolean;
  /** It forks PID 1: from here on the container's process is the child. */
  forks?: boolean;
  /** It executes the container's command: from here on the process is the command's. */
  startsCommand?: boolean;
}

export interface FailureFacts {
  syscall: string;
  /** "EPERM" */
  errnoName: string;
  detail?: string;
  /** The steps applied before this one, in order (a plan may be reordered: see swapSteps). */
  before?: readonly string[];
}

/** What a step's build says for one spec: its actions, or why it is skipped, and anything of
 *  StepInfo that this run's version of the step says differently. */
export type StepBuild = Partial<Omit<PlannedStep, 'id'>>;

export interface Step<Id extends string = string> extends StepInfo, StepProperties {
  id: Id;
  /** The capability the step needs that the capabilities step takes away (capabilities(7)): moved
   *  after that step (the kernel-order lesson's "break it"), it fails with EPERM for want of it. */
  needsCap?: string;
  build(spec: ContainerSpec, host: HostFacts): StepBuild;
  /** The likely cause of a failure, and the fix, in a learner's words. */
  hint?(f: FailureFacts, spec: ContainerSpec): string | undefined;
}

/** A step of docker exec's plan: it also knows the running container's PID 1. */
export interface ExecStep<Id extends string = string> extends Omit<Step<Id>, 'build'> {
  build(spec: ContainerSpec, host: HostFacts, pid: number): StepBuild;
}

/** A step's data for a plan or an event (no functions: a plan travels as JSON): of a Step, an
 *  ExecStep, or a PlannedStep, whose other fields (actions, notes, skip) it leaves behind. */
export function describeStep<Id extends string>(
  s: StepInfo & StepProperties & { id: Id },
): StepInfo & StepProperties & { id: Id } {
  const { id, title, syscalls, shell, manPage, why, changesRoot, forks, startsCommand } = s;
  return {
    id,
    title,
    syscalls,
    shell,
    manPage,
    why,
    ...(changesRoot ? { changesRoot } : {}),
    ...(forks ? { forks } : {}),
    ...(startsCommand ? { startsCommand } : {}),
  };
}
