// The lesson's container: how it is made (makeLessonContainer, one block, kept as it was in the
// player so that the engine's version can replace it whole), and what the session may ask of it
// (LessonContainer): questions about where it stands, never the ids of the runtime's steps.
import { createBody } from '../engine/body.js';
import { EngineClient, startEngine } from '../engine/client.js';
import { RemoteContainer } from '../engine/remote.js';
import type { DemoSource } from './demo.js';
import type { Lesson, LessonVariant } from './lesson.js';
import type { ContainerUser } from './runas.js';

export type LessonWithRun = Lesson & { run: NonNullable<Lesson['run']> };

/** The lesson's container, handed to the engine as options (the engine makes its plan: intent, not
 *  instructions), not started yet, and its number of steps. */
export async function makeLessonContainer(
  lesson: LessonWithRun,
  o: {
    rootfs: string;
    root: boolean;
    variant?: LessonVariant;
    /** Called when no engine answered and this started one (its pid, its socket). */
    engineStarted?: (pid: number, socket: string) => void;
  },
  who: ContainerUser,
): Promise<{ container: RemoteContainer; total: number }> {
  const { rootfs, variant } = o;
  const options = { ...lesson.run.options, ...(who.userns ? { userns: who.userns } : {}) };
  // A variant's swap replaces the lesson's own (no lesson sets both).
  const swap = variant ? variant.swap : lesson.run.swap;
  const asked = { ...options, rootfs, command: lesson.run.command, ...(swap ? { swap } : {}) };
  const body = createBody({ ...asked, ...(who.runAs ? { runAs: who.runAs } : {}) });
  // The engine runs it, one step at a time as the player answers: `nsx ps` in a second terminal
  // shows it half built (the engine started here if none runs: the player says so).
  const client = new EngineClient();
  if (!(await client.ping())) o.engineStarted?.(await startEngine(client), client.socket);
  const container = await RemoteContainer.create(client, body);
  return { container, total: container.plan.length };
}

/** What the session asks of its container, besides what demos fill in (DemoSource). */
export interface LessonContainer extends DemoSource {
  /** Its root is its own (pivot_root done): a shell or a demo inside enters it too (nsenter -r -w). */
  readonly rootChanged: boolean;
  /** Its PID 1 exists (the fork is done). */
  readonly forked: boolean;
  /** The lesson's command runs (execve done): its output, and the demos after it, are about it. */
  readonly commandStarted: boolean;
}

/** The engine's container as the session asks it (RemoteContainer has every question's getter). */
export function asLessonContainer(c: RemoteContainer): LessonContainer {
  return c;
}
