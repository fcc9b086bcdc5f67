// Plays a lesson's tour (lesson.tour): no container built step by step, but stops of commands run on
// the host — e.g. against a private engine the tour's setup started. It knows no topic: the stops,
// their commands and the lab come from the lesson, the words from lesson.md ("## stop <id>").
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fillFrom } from './demo.js';
import type { Emit } from './events.js';
import type { LessonText, Tour, TourCommand, TourLab } from './lesson.js';
import { promptAtStop, type Prompts } from './prompt.js';

// A tour's output is folded at 80 columns by its renderer (src/render/lesson.ts).
export { fold } from '../render/lesson.js';

/** What Ctrl-C aborts: the running command is killed, the lab torn down. */
export interface TourRun {
  abort(exitCode?: number): void;
}

/** Whether `program` is an executable on PATH (or a path to one). */
export function installed(program: string, path = process.env.PATH ?? ''): boolean {
  const candidates = program.includes('/')
    ? [program]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((d) => join(d, program));
  return candidates.some((f) => {
    try {
      accessSync(f, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Runs argv on the host, output and errors interleaved as written and passed to `onOutput` as
 *  they come (a VM's boot is seconds of console lines); killed after `seconds`. */
function runAsync(
  argv: string[],
  env: NodeJS.ProcessEnv,
  seconds: number,
  onChild: (c: ChildProcess | undefined) => void,
  onOutput: (text: string) => void,
): Promise<{ output: string; status: number | null }> {
  return new Promise((resolve) => {
    let output = '';
    const add = (text: string) => {
      output += text;
      onOutput(text);
    };
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    onChild(child);
    const timer = setTimeout(() => {
      add(`(killed after ${seconds} s)\n`);
      child.kill('SIGKILL');
    }, seconds * 1000);
    // Decoded as UTF-8 across chunks: a character split between two reads is not mangled.
    child.stdout.setEncoding('utf8').on('data', add);
    child.stderr.setEncoding('utf8').on('data', add);
    child.on('error', (e) => add(`${argv[0]}: ${e.message}\n`));
    child.on('close', (code) => {
      clearTimeout(timer);
      onChild(undefined);
      resolve({ output, status: code });
    });
  });
}

/** The tour: setup, each stop (its words, a prompt, its commands), then the teardown — also after
 *  q, Ctrl-C (abort) or a failure. Returns whether it ran to the end, and the exit status. */
export async function playTour(
  tour: Tour,
  text: LessonText,
  ui: Prompts,
  emit: Emit,
  onRun?: (r: TourRun) => void,
): Promise<{ completed: boolean; exitCode: number }> {
  let aborted: number | undefined;
  let current: ChildProcess | undefined;
  const abort = (exitCode = 130) => {
    aborted ??= exitCode;
    current?.kill('SIGKILL');
  };
  onRun?.({ abort });
  let lab: TourLab | undefined;
  const vars: Record<string, string> = {};
  const runCommand = async (stop: string, cmd: TourCommand) => {
    const filled = fillFrom(cmd.command, vars);
    const env = { ...process.env, ...lab?.env };
    let command = cmd.command;
    let r: { output: string; status: number | null };
    let streamed = false;
    if ('missing' in filled) r = { output: `(not run: {${filled.missing}} is not known at this point)`, status: null };
    else if (cmd.needs && !installed(cmd.needs.program, env.PATH)) {
      command = filled.argv;
      r = { output: `(not run: ${cmd.needs.program} is not installed here; it is ${cmd.needs.why})`, status: null };
    } else {
      command = filled.argv;
      // q or Ctrl-C while it runs (a VM's boot takes a while) stops it now, not at the next prompt.
      const watched = ui.busy?.(() => abort(130));
      // Its output is shown as it comes, not when it ends (a VM's boot would be a blank screen).
      emit({ type: 'demo-started', after: stop, command });
      streamed = true;
      const chunk = (text: string) => emit({ type: 'demo-output', after: stop, text });
      try {
        r = await runAsync(command, env, cmd.seconds ?? 30, (ch) => (current = ch), chunk);
      } finally {
        watched?.();
      }
      if (cmd.gives && r.status === 0) {
        try {
          Object.assign(vars, cmd.gives(r.output));
        } catch {
          /* nothing to give: the commands that need it say so */
        }
      }
    }
    const said = fillFrom([cmd.notice], vars); // a notice may name the lab's values too
    const notice = 'missing' in said ? cmd.notice : said.argv[0];
    const shown = streamed ? { streamed: true as const } : {};
    emit({ type: 'demo', after: stop, command, onHost: true, ...r, notice, stop: true, ...shown });
  };

  let completed = false;
  try {
    if (tour.setup) {
      lab = await tour.setup();
      Object.assign(vars, lab.vars);
    }
    const total = tour.stops.length;
    for (const [i, stop] of tour.stops.entries()) {
      if (aborted !== undefined) break;
      emit({ type: 'stop-reached', index: i, total, id: stop.id, title: stop.title });
      const words = text.stops?.[stop.id];
      const stopped = () => aborted !== undefined;
      const noMore = 'There is no more on this stop.';
      const choice = await promptAtStop(ui, emit, { id: stop.id, words, noMore, stopped });
      if (choice === 'quit') {
        aborted ??= 130;
        break;
      }
      emit({ type: 'stop-running', id: stop.id });
      for (const cmd of stop.commands) {
        if (aborted !== undefined) break;
        await runCommand(stop.id, cmd);
      }
      // A projector: time to read the output before the next stop's words (the last one's: the
      // session's pause before the summary).
      if (ui.mode === 'auto' && i < total - 1 && aborted === undefined) await ui.pause();
    }
    completed = aborted === undefined;
  } finally {
    if (lab) {
      emit({ type: 'lab-removed', removed: await lab.teardown() });
    }
  }
  if (!completed) emit({ type: 'stopped', what: 'tour' });
  return { completed, exitCode: completed ? 0 : (aborted ?? 1) };
}
