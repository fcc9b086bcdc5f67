// One lesson, start to end, as events: its title and intro, then its container built step by step
// (run.ts) or its tour (tour.ts), then the summary, the rule, the task and the quiz. It decides what
// happens and emits what the learner is told; it formats no text (src/render/lesson.ts does). It
// knows no topic: everything it says comes from the lesson's data and lesson.md.
import { NsxError } from '../runtime/errors.js';
import { isRealRoot } from '../runtime/host.js';
import type { Emit } from './events.js';
import type { Lesson, LessonText } from './lesson.js';
import type { Prompts } from './prompt.js';
import { playContainer, type ContainerPlay } from './run.js';
import { playTour, type TourRun } from './tour.js';

export interface SessionOptions extends Omit<ContainerPlay, 'variant'> {
  ui: Prompts;
  emit: Emit;
  /** Play this variant of the lesson (lesson.variants): its plan change, its words before and after. */
  variant?: string;
  /** Called with a tour as it starts (lessons with a tour: the CLI aborts it on Ctrl-C). */
  onTour?: (t: TourRun) => void;
}

export interface PlayResult {
  completed: boolean;
  exitCode: number;
}

export async function playSession(lesson: Lesson, text: LessonText, opts: SessionOptions): Promise<PlayResult> {
  const { ui, emit } = opts;
  const variant = opts.variant === undefined ? undefined : lesson.variants?.[opts.variant];
  if (opts.variant !== undefined && (!variant || !lesson.run)) {
    const names = Object.keys(lesson.variants ?? {});
    throw new NsxError(`the "${lesson.id}" lesson has no variant "${opts.variant}"`, {
      hint: names.length
        ? `its variants: ${names.join(', ')} (nsx lesson ${lesson.id} --variant ${names[0]})`
        : 'it has none; nsx lesson --list shows the lessons that do',
    });
  }
  const finish = (completed: boolean, exitCode: number): PlayResult => {
    emit({ type: 'lesson-finished', id: lesson.id, completed, exitCode });
    return { completed, exitCode };
  };
  emit({ type: 'lesson-started', id: lesson.id, title: lesson.title, ...(variant ? { variant: opts.variant } : {}) });
  emit({ type: 'intro', text: text.intro });
  const variantText = variant ? text.variants?.[opts.variant!] : undefined;
  if (variant) {
    emit({ type: 'variant-intro', name: opts.variant!, title: variant.title, text: variantText?.text ?? '' });
  }

  let exitCode = 0;
  if ((lesson.run || lesson.tour) && lesson.needsRoot && !isRealRoot()) {
    throw new NsxError(`the "${lesson.id}" lesson needs root`, {
      hint: 'start it with sudo: sudo nsx learn (or sudo nsx lesson ' + lesson.id + ')',
    });
  }
  if (lesson.tour) {
    const r = await playTour(lesson.tour, text, ui, emit, opts.onTour);
    exitCode = r.exitCode;
    if (!r.completed) return finish(false, exitCode);
  } else if (lesson.run) {
    const played = variant && { name: opts.variant!, plan: variant, ...(variantText ? { text: variantText } : {}) };
    const r = await playContainer({ ...lesson, run: lesson.run }, text, { ...opts, variant: played });
    exitCode = r.exitCode;
    if (r.end) return finish(r.end.completed, exitCode);
  }

  // A lesson that showed nothing (no container, no tour: the welcome) sums up without "What you saw".
  const showed = !!(lesson.run || lesson.tour);
  if (!showed && ui.mode !== 'print' && (await ui.proceed()) === 'quit') return finish(false, exitCode);
  if (showed && ui.mode === 'auto') await ui.pause(); // a projector: time to read the command's output
  emit({ type: 'summary', text: text.summary, rule: text.rule, ...(showed ? {} : { seen: false }) });
  emit({ type: 'task', lesson: lesson.id, text: text.task });
  let right = 0;
  let answered = 0;
  for (const q of lesson.quiz) {
    const chosen = await ui.ask(q);
    if (chosen === 'left') {
      emit({ type: 'quiz-left', unanswered: lesson.quiz.length - answered });
      break;
    }
    const correct = chosen === undefined ? undefined : chosen === q.answer;
    if (chosen !== undefined) answered++;
    if (correct) right++;
    emit({ type: 'quiz', question: q.question, choices: q.choices, answer: q.answer, why: q.why, chosen, correct });
  }
  for (const [name, v] of Object.entries(lesson.variants ?? {})) {
    emit({ type: 'variant-offered', lesson: lesson.id, name, title: v.title });
  }
  emit({
    type: 'lesson-complete',
    id: lesson.id,
    title: lesson.title,
    ...(answered ? { score: { right, of: answered } } : {}),
  });
  return finish(true, exitCode);
}
