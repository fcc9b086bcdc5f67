// The handlers of nsx learn, nsx lesson, nsx check and nsx progress.
import type { Container } from '../runtime/runtime.js';
import { course, findLesson, listing, mark, MARK_LEGEND, resumeIndex, textOf } from './course.js';
import { playLesson, type PlayerEvent } from './player.js';
import { progressPath, readProgress, recordPlay, resetProgress, updateLesson } from './progress.js';
import { makeUI } from './ui.js';
import { closeSync, openSync, writeSync } from 'node:fs';
import { NsxError } from '../runtime/errors.js';

export interface PlayArgs {
  /** A variant of the lesson (nsx lesson <id> --variant <name>). */
  variant?: string;
  auto?: boolean;
  delay?: number;
  print?: boolean;
  events?: string;
}

function mode(a: PlayArgs): 'interactive' | 'auto' | 'print' {
  if (a.print || !process.stdout.isTTY) return 'print';
  if (a.auto || !process.stdin.isTTY) return 'auto';
  return 'interactive';
}

/** Plays one lesson with Ctrl-C wired to the container, and records progress; at its end, in a
 *  terminal, offers the next lesson or the menu. Returns the exit status. */
export async function play(id: string, a: PlayArgs): Promise<number> {
  let next = id;
  for (;;) {
    const r = await playOne(next, a);
    if (r.then === 'menu') return learn(a);
    if (r.then !== 'next' || !r.next) return r.status;
    next = r.next;
  }
}

async function playOne(
  id: string,
  a: PlayArgs,
): Promise<{ status: number; then?: 'next' | 'menu' | 'quit'; next?: string }> {
  const entry = findLesson(id);
  const how = mode(a);
  const ui = makeUI({ mode: how, delaySeconds: a.delay });
  let fd: number | undefined;
  if (a.events) {
    try {
      fd = a.events === '-' ? 1 : openSync(a.events, 'w');
    } catch (e) {
      throw new NsxError(`--events ${a.events}: cannot write there (${(e as NodeJS.ErrnoException).code})`, {
        hint: 'give a file in a directory you can write to',
      });
    }
  }
  const onEvent = (e: PlayerEvent) => {
    // nsx check counts only what was made after the task was shown (kernel.ts countOnlyStartedSince).
    if (e.type === 'task') updateLesson(entry.lesson.id, { taskShownAt: new Date().toISOString() });
    if (fd !== undefined) writeSync(fd, JSON.stringify({ ...e, time: new Date().toISOString() }) + '\n');
  };
  // What Ctrl-C aborts: the lesson's container, or its tour (which then tears its lab down).
  let current: Pick<Container, 'abort'> | undefined;
  const onSignal = (sig: NodeJS.Signals) => current?.abort(sig === 'SIGTERM' ? 143 : 130);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  try {
    updateLesson(entry.lesson.id, {});
    const r = await playLesson(entry.lesson, textOf(entry), {
      ui,
      onEvent,
      onContainer: (c) => (current = c),
      onTour: (t) => (current = t),
      variant: a.variant,
    });
    recordPlay(entry.lesson.id, { mode: how, completed: r.completed, variant: a.variant });
    const status = r.completed ? 0 : r.exitCode || 1;
    if (!r.completed || how !== 'interactive') return { status };
    // The end screen's choice: the next lesson of the course, the menu, or the shell.
    const entries = course();
    const after = entries[entries.findIndex((e) => e.lesson.id === entry.lesson.id) + 1]?.lesson;
    const then = await ui.afterLesson(after && { title: after.title });
    return { status, then, next: after?.id };
  } finally {
    ui.close();
    for (const s of signals) process.off(s, onSignal);
    if (fd !== undefined && fd !== 1) closeSync(fd);
  }
}

/** nsx learn: the menu (a terminal) or, without one, the next lesson as a transcript. */
export async function learn(a: PlayArgs): Promise<number> {
  const progress = readProgress();
  const entries = course();
  if (mode(a) !== 'interactive') return play(entries[resumeIndex(progress)].lesson.id, a);
  const { default: Enquirer } = await import('enquirer');
  const choices = entries.map(({ lesson }, i) => ({
    name: lesson.id,
    message: `${mark(progress, lesson.id)} ${String(i + 1).padStart(2)}. ${lesson.title}`,
    hint: `${lesson.minutes} min${lesson.needsRoot ? ', root' : ''}`,
  }));
  // Enquirer's Select, with q as a key of its own: it quits the menu as Esc and Ctrl-C do.
  const { Select } = Enquirer as unknown as { Select: new (o: object) => MenuPrompt };
  const menu = new Select({
    name: 'id',
    message: 'Pick a lesson  (↑↓ move  ⏎ start  q quit)',
    choices,
    initial: resumeIndex(progress),
    footer: () => `\n${MARK_LEGEND}\nprogress: ${progressPath()}`,
  });
  menu.on('keypress', (input: string) => {
    if (input === 'q') void menu.cancel();
  });
  let id: string;
  try {
    id = await menu.run();
  } catch {
    return 0; // q, Esc or Ctrl-C at the menu
  }
  return play(id, a);
}

interface MenuPrompt {
  on(event: 'keypress', f: (input: string) => void): void;
  cancel(): Promise<void>;
  run(): Promise<string>;
}

export function printList(): number {
  process.stdout.write(listing().join('\n') + '\n');
  return 0;
}

/** nsx check with no lesson: the lessons, and how to check one. */
export function checkList(): number {
  process.stdout.write(`Which lesson? nsx check <lesson> checks its try-it-yourself task:\n${listing().join('\n')}\n`);
  return 0;
}

/** nsx check <lesson> [--hint]: the try-it-yourself task, checked against the live kernel. */
export async function check(id: string, hint: boolean): Promise<number> {
  const { lesson } = findLesson(id);
  if (hint) {
    const shown = readProgress().lessons[lesson.id]?.hints ?? 0;
    const next = lesson.hints[Math.min(shown, lesson.hints.length - 1)];
    updateLesson(lesson.id, { hints: Math.min(shown + 1, lesson.hints.length) });
    const { prose } = await import('../render/terminal.js');
    const text = `hint ${Math.min(shown + 1, lesson.hints.length)}/${lesson.hints.length}: ${next}`;
    process.stdout.write(prose(text, 0).join('\n') + '\n');
    return 0;
  }
  const shownAt = readProgress().lessons[lesson.id]?.taskShownAt;
  const since = shownAt ? Date.parse(shownAt) : undefined;
  const { countOnlyStartedSince } = await import('./kernel.js');
  countOnlyStartedSince(since);
  const r = await lesson.check();
  const { prose } = await import('../render/terminal.js');
  const window = since
    ? `(counting only processes and namespaces made after the task was shown, ${new Date(since).toLocaleTimeString()})`
    : `(the task has not been shown here yet, so every process on this machine counts: nsx lesson ${lesson.id} shows it)`;
  process.stdout.write(prose(`${r.ok ? '✓' : '✗'} ${r.message}`, 0).join('\n') + '\n');
  process.stdout.write(prose(window, 2).join('\n') + '\n');
  if (r.ok) updateLesson(lesson.id, { checked: true });
  else process.stdout.write(`  (nsx check ${lesson.id} --hint for a nudge)\n`);
  return r.ok ? 0 : 1;
}

export function progressCommand(reset: boolean): number {
  if (reset) {
    resetProgress();
    process.stdout.write(`progress reset (${progressPath()})\n`);
    return 0;
  }
  process.stdout.write(`${progressPath()}\n${listing().join('\n')}\n`);
  return 0;
}
