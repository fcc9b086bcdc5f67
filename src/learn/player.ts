// Plays one lesson for a person: the session (session.ts) decides and emits events, the lesson
// renderer (src/render/lesson.ts) turns each into lines, the UI writes them. The events also go to
// onEvent (nsx lesson --events, the tests), so what is shown and what is recorded are the same thing.
import { lessonRenderer } from '../render/lesson.js';
import type { PlayerEvent } from './events.js';
import type { Lesson, LessonText } from './lesson.js';
import { playSession, type PlayResult, type SessionOptions } from './session.js';
import type { LessonUI } from './ui.js';

export type { DemoEvent, LessonEvent, PlayerEvent } from './events.js';
export type { PlayResult } from './session.js';
export type { LessonUI } from './ui.js';

export interface PlayOptions extends Omit<SessionOptions, 'ui' | 'emit'> {
  ui: LessonUI;
  onEvent?: (e: PlayerEvent) => void;
}

export async function playLesson(lesson: Lesson, text: LessonText, opts: PlayOptions): Promise<PlayResult> {
  const { ui, onEvent, ...rest } = opts;
  const render = lessonRenderer({ c: ui.c, markdown: ui.markdown, mode: ui.mode });
  const emit = (e: PlayerEvent) => {
    onEvent?.(e);
    const lines = render(e);
    if (lines.length) ui.write(lines);
  };
  return playSession(lesson, text, { ...rest, ui, emit });
}
