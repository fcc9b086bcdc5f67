// The lesson's container: how it is made (makeLessonContainer, one block, kept as it was in the
// player so that the engine's version can replace it whole), and what the session may ask of it
// (LessonContainer): questions about where it stands, never the ids of the runtime's steps.
import { hostFacts } from '../runtime/host.js';
import { specFromRunOptions } from '../runtime/options.js';
import { buildPlan } from '../runtime/plan.js';
import { engineClient } from '../engine/client.js';
import { RemoteContainer } from '../engine/remote.js';
import { compileForHost, loadSeccomp } from '../runtime/seccomp-host.js';
import type { DemoSource } from './demo.js';
import type { Lesson, LessonVariant } from './lesson.js';
import type { ContainerUser } from './runas.js';

export type LessonWithRun = Lesson & { run: NonNullable<Lesson['run']> };

/** The lesson's container, planned and handed to the engine (not started yet), and its number of steps. */
export async function makeLessonContainer(
  lesson: LessonWithRun,
  o: { rootfs: string; root: boolean; variant?: LessonVariant },
  who: ContainerUser,
): Promise<{ container: RemoteContainer; total: number }> {
  const { rootfs, root, variant } = o;
  // On a user's behalf the plan is a rootless one: no cgroup, the unprivileged id-map rules.
  const asUser = who.runAs ? { root: false, uid: who.runAs.uid, gid: who.runAs.gid } : { root };
  const options = { ...lesson.run.options, ...(who.userns ? { userns: who.userns } : {}) };
  const spec = specFromRunOptions({ ...options, rootfs, command: lesson.run.command, loadSeccomp, ...asUser });
  let plan = buildPlan(spec, { ...hostFacts(spec.root.path, compileForHost), root: asUser.root });
  if (lesson.run.transformPlan) plan = lesson.run.transformPlan(plan);
  if (variant) plan = variant.transformPlan(plan);
  // The engine runs it, one step at a time as the player answers: `nsx ps` in a second terminal
  // shows it half built (the engine started here if none runs, and says so).
  const container = new RemoteContainer(await engineClient(), spec, plan, who.runAs);
  return { container, total: plan.length };
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
