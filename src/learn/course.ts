// The course as the player sees it: lessons from lessons/index.ts, their text, and progress marks.
import { COURSE, type CourseEntry } from '../../lessons/index.js';
import { NsxError } from '../runtime/errors.js';
import type { LessonText } from './lesson.js';
import { readProgress, type Progress } from './progress.js';
import { loadLessonText } from './text.js';

export function course(): CourseEntry[] {
  return COURSE;
}

/** Levenshtein distance (insert, delete, substitute), with a swap of two neighbours counting one
 *  (Damerau's "optimal string alignment"): "pdi" is one from "pid". */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/** The lesson ids close to a mistyped one (at most 2 edits, and fewer than the word's length). */
export function suggestLessons(id: string): string[] {
  const scored = COURSE.map((e) => e.lesson.id)
    .map((name) => ({ name, d: editDistance(id.toLowerCase(), name) }))
    .filter(({ d, name }) => d <= 2 && d < Math.min(id.length, name.length));
  const best = Math.min(...scored.map((s) => s.d));
  return scored.filter((s) => s.d === best).map((s) => s.name);
}

export function findLesson(id: string): CourseEntry {
  const entry = COURSE.find((e) => e.lesson.id === id || e.dir === id);
  if (!entry) {
    const close = suggestLessons(id);
    const mean = close.length ? `did you mean ${close.map((n) => `"${n}"`).join(' or ')}? ` : '';
    throw new NsxError(`no lesson "${id}"`, {
      hint: `${mean}the lessons are: ${COURSE.map((e) => e.lesson.id).join(', ')} (nsx lesson --list)`,
    });
  }
  return entry;
}

export function textOf(entry: CourseEntry): LessonText {
  return loadLessonText(entry.dir);
}

/** The marks before a lesson's name, and what they mean (the menu and --list show the legend). */
export const MARKS = { checked: '✓', done: '●', watched: '○', started: '…' } as const;
export const MARK_LEGEND = `${MARKS.checked} checked (nsx check passed)  ${MARKS.done} played  ${MARKS.watched} watched (--auto, --print)  ${MARKS.started} started`;

/** "✓" checked (its task passed nsx check), "●" played to its end, "○" watched (shown by --auto or
 *  --print), "…" started, " " not yet. */
export function mark(progress: Progress, id: string): string {
  const p = progress.lessons[id];
  if (!p) return ' ';
  if (p.checked) return MARKS.checked;
  if (p.status === 'done') return MARKS.done;
  if (p.watched) return MARKS.watched;
  return MARKS.started;
}

/** The lines of `nsx lesson --list`. */
export function listing(progress = readProgress()): string[] {
  return [
    ...COURSE.flatMap(({ lesson }, i) => [
      `${mark(progress, lesson.id)} ${String(i + 1).padStart(2)}. ${lesson.id.padEnd(14)} ${lesson.title} (${lesson.minutes} min)${lesson.needsRoot ? ' [root]' : ''}`,
      ...Object.entries(lesson.variants ?? {}).map(([name, v]) => `       --variant ${name}: ${v.title}`),
    ]),
    '',
    MARK_LEGEND,
  ];
}

/** Where to resume: the first lesson started but not done, else the first not done. */
export function resumeIndex(progress = readProgress()): number {
  const started = COURSE.findIndex(({ lesson }) => progress.lessons[lesson.id]?.status === 'started');
  if (started >= 0) return started;
  const next = COURSE.findIndex(({ lesson }) => progress.lessons[lesson.id]?.status !== 'done');
  return next >= 0 ? next : 0;
}
