// What a lesson is: data, plus its explanation in lesson.md. The player (player.ts) runs any lesson
// and knows no topic; everything topic-specific lives in lessons/<nn-slug>/.
import type { RunOptions } from '../runtime/options.js';
import type { StepId } from '../runtime/steps.js';

/** A command run inside the half-built (or running) container, its output shown to the learner. */
export interface Demo {
  /** Run right after this step has been applied (before the next one); or 'exit': after the
   *  container's command has exited (on the host: what is left once its PID 1 is gone). */
  after: StepId | 'exit';
  /** argv, run inside the container's namespaces (nsenter; with its root once pivot_root is done).
   *  It may name facts of the running container as {pid} (its host PID), {id}, {rootfs}, {hostIf},
   *  {hostAddress}, {containerAddress} (the veth pair's), {nsx} (this nsx, to start a second
   *  container): see src/learn/demo.ts. */
  command: string[];
  /** Or a command run on the host, to show the host's side of things. */
  onHost?: boolean;
  /** With after 'exit': run the moment PID 1 has exited, before nsx removes the container's cgroups
   *  and veth pair (e.g. to read the cgroup's final counters); shown in the same place. */
  beforeCleanup?: boolean;
  /** One sentence: what to notice in the output. */
  notice: string;
  /** A host command that removes what this demo made on the host, run when the lesson ends however
   *  it ends (a failed step, q, Ctrl-C). Placeholders as in command; or a function of what the demo
   *  printed (e.g. to take the id it reported), returning nothing when there is nothing to remove. */
  cleanup?: string[] | ((output: string) => string[] | undefined);
  /** How long a host demo may take before it is killed, in seconds (default 10): more for one that
   *  starts a second container, which a slow machine (an emulated VM) needs tens of seconds for. */
  timeoutSeconds?: number;
}

export interface QuizQuestion {
  question: string;
  choices: string[];
  /** Index into choices. */
  answer: number;
  /** The reasoning behind the right answer, with the man page. */
  why: string;
}

export interface CheckResult {
  ok: boolean;
  /** One friendly sentence: what was found, or what is still missing. */
  message: string;
}

/** Another way to play a lesson (nsx lesson <id> --variant <name>): the same container with its plan
 *  changed, e.g. two steps swapped to show what breaks. Its words are "## variant <name>" in
 *  lesson.md: shown before the run, and its "### more" after it (why the usual way is right). */
export interface LessonVariant {
  /** One line: what this variant does (for the list and the start). */
  title: string;
  /** The change to the plan: two steps the engine swaps (swapSteps, src/runtime/plan.ts), in place
   *  of run.swap. Data, as the engine takes intent, not plans (Nsx.Swap). */
  swap: [StepId, StepId];
  /** The step this variant is meant to fail at: failing there completes it. */
  failsAt?: StepId;
}

export interface Lesson {
  /** Stable id, e.g. "pid"; also the folder name's slug. */
  id: string;
  title: string;
  /** Minutes it takes, for the menu. */
  minutes: number;
  /** Needs root (most do); the player says so and how (sudo nsx learn). */
  needsRoot: boolean;
  /** The man pages the lesson's claims come from. */
  manPages: string[];
  /** The container the lesson builds: run options (as nsx run's) and the command. Absent for lessons
   *  that only explain (welcome). */
  run?: {
    options: Partial<Omit<RunOptions, 'loadSeccomp' | 'root' | 'rootfs' | 'command' | 'image'>>;
    command: string[];
    /** Two steps swapped in the plan (the engine's Nsx.Swap; kernel-order's variant uses it). */
    swap?: [StepId, StepId];
    /** Who the container runs as. 'invoking-user': rootless, as the unprivileged user who started
     *  nsx (under sudo: SUDO_UID/SUDO_GID), the player staying root to watch and run the demos; when
     *  there is no such user, as root in a user namespace of its own, and the transcript says so.
     *  Absent: as nsx runs. See src/learn/runas.ts. */
    as?: 'invoking-user';
  };
  /** Or, for a lesson about programs that run containers rather than about one container's steps
   *  (the engine, the CLI): stops of host commands (see Tour). A lesson has run, tour, or neither. */
  tour?: Tour;
  /** Other ways to play it, by name (see LessonVariant). */
  variants?: Record<string, LessonVariant>;
  /** The steps this lesson explains and pauses at; the rest are applied with a one-line mention. */
  focus: StepId[];
  demos: Demo[];
  /** The "try it yourself" task: checked by `nsx check <id>` against the real kernel state. */
  check: () => Promise<CheckResult>;
  /** Hints for the task, in order, each a nudge that never gives the answer away. */
  hints: string[];
  quiz: QuizQuestion[];
}

/** A command of a tour, run on the host (with the lab's environment) and shown with its output. */
export interface TourCommand {
  /** argv; {name} is a value the tour's lab or an earlier command gave (see gives). */
  command: string[];
  /** One sentence: what to notice in the output; it may name {name} values as the command does. */
  notice: string;
  /** A program the command runs that may not be installed: then it is not run, and the transcript
   *  says why (e.g. { program: 'strace', why: "Debian's strace package: apt-get install strace" }). */
  needs?: { program: string; why: string };
  /** Values this command's output gives to the commands after it, as {name} (e.g. a PID it printed). */
  gives?: (output: string) => Record<string, string>;
  /** The longest it may run, in seconds (default 30); then it is killed. */
  seconds?: number;
}

/** One stop of a tour: its words are "## stop <id>" in lesson.md (and its "### more"). */
export interface TourStop {
  id: string;
  title: string;
  commands: TourCommand[];
}

/** What a tour's setup made on the host for its commands (e.g. a private engine and registry). */
export interface TourLab {
  /** Values for {name} in the commands. */
  vars: Record<string, string>;
  /** Environment variables every command runs with (on top of nsx's own). */
  env: Record<string, string>;
  /** Removes everything the lab made; run however the lesson ends (finished, q, Ctrl-C, a failure).
   *  Returns one line per thing it removed, for the transcript. */
  teardown: () => Promise<string[]>;
}

/** A lesson played as stops of host commands instead of one container built step by step. */
export interface Tour {
  /** Makes what the commands need, before the first stop. */
  setup?: () => Promise<TourLab>;
  stops: TourStop[];
}

/** lesson.md, split into its sections (see parseLessonMarkdown). */
export interface LessonText {
  /** "## intro" */
  intro: string;
  /** "## step <id>" → what the learner reads before the step; "### more" under it → the deeper paragraph. */
  steps: Partial<Record<StepId, { text: string; more: string }>>;
  /** "## summary": what you saw; its line starting "Rule:" is the one-line rule. */
  summary: string;
  rule: string;
  /** "## task": the try-it-yourself task. */
  task: string;
  /** "## stop <id>" → what the learner reads before a tour's stop; "### more" under it → deeper. */
  stops?: Record<string, { text: string; more: string }>;
  /** "## variant <name>" → shown before a variant's run; its "### more" → shown after it. */
  variants?: Record<string, { text: string; more: string }>;
}
