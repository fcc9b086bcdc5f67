// The prompt at a stop, one for both kinds of stop: a focus step of a lesson's container and a stop
// of a tour. The stop's words first (its "### more" too in a transcript, where nobody can ask), a
// pause on a projector, then the learner's choice: apply (run) / explain more / a shell inside the
// container as it stands (container steps only: a tour has no container) / the whole evidence table
// of the last step (t) / quit.
import type { Emit } from './events.js';
import type { LessonUI } from './ui.js';

/** What the session asks the learner through (the rest of LessonUI is the renderer's). */
export type Prompts = Pick<LessonUI, 'mode' | 'choose' | 'shell' | 'ask' | 'pause' | 'proceed'> &
  Partial<Pick<LessonUI, 'busy'>>;

export interface Stop {
  /** The step's (or tour stop's) id, as lesson.md names it. */
  id: string;
  /** Its words from lesson.md ("## step <id>" or "## stop <id>", and the "### more" under it). */
  words?: { text: string; more: string };
  /** What "explain more" says when lesson.md has no "### more" for it. */
  noMore: string;
  /** Opens a shell inside the container as it stands; absent for a tour's stop. */
  shell?: () => Promise<void>;
  /** Asked before each prompt: true once the lesson was stopped meanwhile (Ctrl-C). */
  stopped?: () => boolean;
}

/** Explains the stop and asks until the learner goes on ('apply') or quits. */
export async function promptAtStop(ui: Prompts, emit: Emit, stop: Stop): Promise<'apply' | 'quit'> {
  emit({ type: 'explained', step: stop.id, more: false, text: stop.words?.text ?? '' });
  const more = (text: string) => emit({ type: 'explained', step: stop.id, more: true, text });
  if (ui.mode === 'print' && stop.words?.more) more(stop.words.more);
  if (ui.mode === 'auto') await ui.pause();
  for (;;) {
    if (stop.stopped?.()) return 'quit';
    const choice = await ui.choose({ id: stop.id }, stop.shell ? undefined : { stop: true });
    if (choice === 'apply' || choice === 'quit') return choice;
    if (choice === 'more') more(stop.words?.more || stop.noMore);
    if (choice === 'shell') await stop.shell?.();
    if (choice === 'table') emit({ type: 'table-asked' });
  }
}
