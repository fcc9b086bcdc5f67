// What a lesson tells the learner, as events: every line the learner reads comes from one of these
// (or from a runtime event passed through), rendered by src/render/lesson.ts. The terminal, the
// --print transcript, the --events JSON lines and the tests all consume the same events; the session
// (src/learn/session.ts) formats no text itself. Prose travels as the lesson.md markdown it came from.
import type { RuntimeEvent } from '../runtime/events.js';
import type { ContainerUser } from './runas.js';

/** A command the lesson ran to show something (a demo after a step, or a tour stop's command). */
export interface DemoEvent {
  type: 'demo';
  /** The step (or tour stop) it belongs to, or 'exit'. */
  after: string;
  /** argv as run, placeholders filled (the container's id whole: the renderer shortens it). */
  command: string[];
  onHost: boolean;
  output: string;
  status: number | null;
  /** One sentence: what to notice in the output. */
  notice: string;
  /** A tour stop's command: its output is folded at 80 columns, not cut (tables, traces). */
  stop?: boolean;
  /** Run now, shown later by a 'demo-shown' event (an 'exit' demo run before the cleanup). */
  held?: boolean;
  /** Its command and output were shown as they came ('demo-started', then 'demo-output' chunks):
   *  this event ends them (output is still the whole of it, for the tests and --events). */
  streamed?: true;
}

/** What the player reports, besides the runtime's own events (which it passes through). */
export type LessonEvent =
  | { type: 'lesson-started'; id: string; title: string; variant?: string }
  /** lesson.md's "## intro". */
  | { type: 'intro'; text: string }
  /** A variant's one-line title and its "## variant <name>" words, before it runs. */
  | { type: 'variant-intro'; name: string; title: string; text: string }
  | { type: 'run-as'; how: ContainerUser['how']; uid?: number; gid?: number; note?: string }
  /** The lesson's container is planned: its id, how many steps, which of them the lesson stops at. */
  | { type: 'container-planned'; id: string; total: number; focus: string[] }
  /** A step's (or a tour stop's) words from lesson.md: its text, or its "### more" (more: true). */
  | { type: 'explained'; step: string; more: boolean; text: string }
  /** The learner asked for the whole evidence table of the last step applied ("t" at the prompt). */
  | { type: 'table-asked' }
  /** A tour's stop is reached (index from 0), and, once the learner goes on, its commands run. */
  | { type: 'stop-reached'; index: number; total: number; id: string; title: string }
  | { type: 'stop-running'; id: string }
  /** A tour stop's command starts (argv as run): its output follows as 'demo-output' chunks, as the
   *  command writes them, and a 'demo' event (streamed: true) ends it. */
  | { type: 'demo-started'; after: string; command: string[] }
  /** What the running command wrote since the last chunk, stdout and stderr interleaved; a chunk may
   *  end in the middle of a line. */
  | { type: 'demo-output'; after: string; text: string }
  | DemoEvent
  | { type: 'demo-shown'; demo: DemoEvent }
  | { type: 'demo-cleanup'; command: string[]; output: string; status: number | null }
  /** What a tour's lab removed, one line each. */
  | { type: 'lab-removed'; removed: string[] }
  /** What the lesson's command printed. */
  | { type: 'output'; text: string }
  /** The learner quit (or Ctrl-C) before the end: everything the container or tour had is gone. */
  | { type: 'stopped'; what: 'container' | 'tour' }
  /** A variant is over: whether it ended as meant (failsAt: the step it should fail at), and its "### more". */
  | { type: 'variant-ended'; name: string; asMeant: boolean; failsAt?: string; failedAt?: string; more: string }
  /** "## summary" and its "Rule:" line; seen: false when the lesson showed nothing to sum up (the
   *  welcome: no container, no tour). */
  | { type: 'summary'; text: string; rule: string; seen?: false }
  /** "## task", checked by nsx check <lesson>. */
  | { type: 'task'; lesson: string; text: string }
  /** A quiz question (as in the lesson's data), the index chosen (none: nobody answers) and the verdict. */
  | {
      type: 'quiz';
      question: string;
      choices: string[];
      answer: number;
      why: string;
      chosen?: number;
      correct: Verdict;
    }
  /** The learner left the quiz (Ctrl-C), with this many questions not answered. */
  | { type: 'quiz-left'; unanswered: number }
  /** The lesson was played to its end: the quiz's score, when questions were answered. */
  | { type: 'lesson-complete'; id: string; title: string; score?: { right: number; of: number } }
  /** The lesson started the engine (none was running): it stays running after the lesson; `stop`
   *  is the command that stops it (sudo nsx engine stop for root's engine started through sudo). */
  | { type: 'engine-started'; pid: number; socket: string; stop: string }
  /** Another way to play the lesson (nsx lesson <id> --variant <name>). */
  | { type: 'variant-offered'; lesson: string; name: string; title: string }
  | { type: 'lesson-finished'; id: string; completed: boolean; exitCode: number };

export type PlayerEvent = LessonEvent | RuntimeEvent;

/** A quiz answer's verdict: undefined when nobody answered (auto, print, Ctrl-C at the quiz). */
type Verdict = boolean | undefined;

/** Where the session sends its events. */
export type Emit = (e: PlayerEvent) => void;
