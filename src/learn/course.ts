// The course as the player sees it: lessons from lessons/index.ts, their text, and progress marks.
import { COURSE, type CourseEntry } from '../../lessons/index.js';
import { NsxError } from '../runtime/errors.js';
import type { LessonText } from './lesson.js';
import { readProgress, type Progress } from './progress.js';
import { loadLessonText } from './text.js';

export function course(): CourseEntry[] {
  return COURSE;
}

export function findLesson(id: string): CourseEntry {
  const entry = COURSE.find((e) => e.lesson.id === id || e.dir === id);
  if (!entry)
    throw new NsxError(`no lesson "${id}"`, {
      hint: `the lessons are: ${COURSE.map((e) => e.lesson.id).join(', ')} (nsx lesson --list)`,
    });
  return entry;
}

export function textOf(entry: CourseEntry): LessonText {
  return loadLessonText(entry.dir);
}

/** "✓" done, "…" started, " " not yet. */
export function mark(progress: Progress, id: string): string {
  const p = progress.lessons[id];
  return p?.status === 'done' ? '✓' : p ? '…' : ' ';
}

/** The lines of `nsx lesson --list`. */
export function listing(progress = readProgress()): string[] {
  return COURSE.flatMap(({ lesson }, i) => [
    `${mark(progress, lesson.id)} ${String(i + 1).padStart(2)}. ${lesson.id.padEnd(14)} ${lesson.title} (${lesson.minutes} min)${lesson.needsRoot ? ' [root]' : ''}`,
    ...Object.entries(lesson.variants ?? {}).map(([name, v]) => `       --variant ${name}: ${v.title}`),
  ]);
}

/** Where to resume: the first lesson started but not done, else the first not done. */
export function resumeIndex(progress = readProgress()): number {
  const started = COURSE.findIndex(({ lesson }) => progress.lessons[lesson.id]?.status === 'started');
  if (started >= 0) return started;
  const next = COURSE.findIndex(({ lesson }) => progress.lessons[lesson.id]?.status !== 'done');
  return next >= 0 ? next : 0;
}
