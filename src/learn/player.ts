// Runs one lesson: builds its container one step at a time with the real runtime — the plan made
// here, run by the engine (RemoteContainer), as nsx run --step does — explains the steps the lesson focuses on, shows the evidence and the demos, then the summary, the task and the
// quiz. It knows no topic: everything it says comes from the lesson's data and lesson.md.
import { spawnSync } from 'node:child_process';
import type { ChalkInstance } from 'chalk';
import type { RuntimeEvent } from '../runtime/events.js';
import { NsxError } from '../runtime/errors.js';
import { isRealRoot } from '../runtime/host.js';
import { createBody } from '../engine/body.js';
import { engineClient } from '../engine/client.js';
import { RemoteContainer } from '../engine/remote.js';
import { evidenceTable, stepHeader, wrap, clip, WIDTH } from '../render/terminal.js';
import { runInside } from '../ui/shell.js';
import { commandLines, demoVars, fillPlaceholders, shellLine, shownText, type DemoSeen, type DemoSource } from './demo.js';
import type { Demo, Lesson, LessonText, QuizQuestion } from './lesson.js';
import { checkRootfsFor, containerUser } from './runas.js';
import { sandboxRootfs } from './sandbox.js';
import { playTour, type TourRun } from './tour.js';

/** What the player reports, besides the runtime's own events (which it passes through). */
export type LessonEvent =
  | { type: 'lesson-started'; id: string; title: string; variant?: string }
  | { type: 'explained'; step: string; more: boolean }
  | { type: 'demo'; after: string; command: string[]; onHost: boolean; output: string; status: number | null }
  | { type: 'demo-cleanup'; command: string[]; output: string; status: number | null }
  | { type: 'run-as'; how: 'as-nsx' | 'self' | 'invoking-user' | 'root-userns'; uid?: number; gid?: number; note?: string }
  | { type: 'output'; text: string }
  | { type: 'quiz'; question: string; chosen?: number; correct: boolean | undefined }
  | { type: 'lesson-finished'; id: string; completed: boolean; exitCode: number };

export type PlayerEvent = LessonEvent | RuntimeEvent;

/** How the learner is asked: a terminal (keys), a projector (--auto: a pause, no keys), or a
 *  transcript (--print, or any output that is not a terminal: no prompts at all). */
export interface LessonUI {
  mode: 'interactive' | 'auto' | 'print';
  c: ChalkInstance;
  write(lines: string[]): void;
  markdown(md: string): string[];
  /** Before a focus step: apply it, explain more, open a shell inside, or quit. Before a tour's
   *  stop (o.stop): run its commands, explain more, or quit (there is no container to open). */
  choose(step: { id: string }, o?: { stop?: boolean }): Promise<'apply' | 'more' | 'shell' | 'quit'>;
  /** A shell inside the container as it stands (interactive only). */
  shell(pid: number, pivoted: boolean): Promise<void>;
  /** A quiz question: the index chosen, or undefined when nobody answers (auto, print). */
  ask(q: QuizQuestion): Promise<number | undefined>;
  /** The pace in auto mode. */
  pause(): Promise<void>;
  /** Gives the terminal back (stops reading keys), so nsx can exit. */
  close(): void;
}

export interface PlayOptions {
  ui: LessonUI;
  onEvent?: (e: PlayerEvent) => void;
  /** Where the lessons' root filesystem is (default: the sandbox busybox one, built if missing). */
  rootfs?: string;
  /** The longest the lesson's command may run before the player ends it (default 15). */
  commandSeconds?: number;
  /** Play this variant of the lesson (lesson.variants): its plan change, its words before and after. */
  variant?: string;
  /** Called with the container as soon as it exists (the CLI aborts it on Ctrl-C). */
  onContainer?: (c: { abort(): void }) => void;
  /** Called with a tour as it starts (lessons with a tour: the CLI aborts it on Ctrl-C). */
  onTour?: (t: TourRun) => void;
  /** The environment sudo left (SUDO_UID, SUDO_GID), for lessons run as the invoking user
   *  (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

export interface PlayResult {
  completed: boolean;
  exitCode: number;
}

function demosAfter(demos: Demo[], step: string): Demo[] {
  return demos.filter((d) => d.after === step);
}

/** A program's output as shown: indented, each line cut at 80 columns (the events keep it whole). */
function outputLines(text: string): string[] {
  return text.trimEnd().split('\n').map((l) => clip(`    ${l}`, WIDTH));
}

function runOnHost(argv: string[]): { output: string; status: number | null } {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 10000 });
  return { output: (r.stdout ?? '') + (r.stderr ?? '') + (r.error ? `${argv[0]}: ${r.error.message}\n` : ''), status: r.status };
}

/** Runs a demo, its {placeholders} filled from the container: inside it (nsenter) or on the host.
 *  Returns the command as run, and what it printed. */
/** What the demos need of the lesson's container (the engine's, RemoteContainer). */
type DemoContainer = DemoSource & { applied: Set<string> };

function runDemo(d: Demo, container: DemoContainer, seen: DemoSeen = {}): { command: string[]; output: string; status: number | null } {
  const filled = fillPlaceholders(d.command, demoVars(container, seen));
  if ('missing' in filled) return { command: d.command, output: `(not run: {${filled.missing}} is not known at this point)`, status: null };
  const command = filled.argv;
  if (d.onHost) return { command, ...runOnHost(command) };
  const pid = container.pid;
  if (pid === undefined) return { command, output: '(the container is gone)', status: null };
  return { command, ...runInside(pid, container.applied.has('pivot-root'), command) };
}

/** The host command that undoes what a demo made, with what it needs filled in (undefined: nothing to undo). */
function cleanupFor(d: Demo, output: string, container: DemoContainer): string[] | undefined {
  if (!d.cleanup) return undefined;
  if (typeof d.cleanup === 'function') {
    try {
      return d.cleanup(output);
    } catch {
      return undefined;
    }
  }
  const filled = fillPlaceholders(d.cleanup, demoVars(container));
  return 'argv' in filled ? filled.argv : undefined;
}

export async function playLesson(lesson: Lesson, text: LessonText, opts: PlayOptions): Promise<PlayResult> {
  const { ui } = opts;
  const { c } = ui;
  const emit = (e: PlayerEvent) => opts.onEvent?.(e);
  const variant = opts.variant === undefined ? undefined : lesson.variants?.[opts.variant];
  if (opts.variant !== undefined && (!variant || !lesson.run)) {
    const names = Object.keys(lesson.variants ?? {});
    throw new NsxError(`the "${lesson.id}" lesson has no variant "${opts.variant}"`, {
      hint: names.length ? `its variants: ${names.join(', ')} (nsx lesson ${lesson.id} --variant ${names[0]})` : 'it has none; nsx lesson --list shows the lessons that do',
    });
  }
  emit({ type: 'lesson-started', id: lesson.id, title: lesson.title, ...(variant ? { variant: opts.variant } : {}) });
  ui.write([c.bold(`${lesson.title}`), '']);
  ui.write(ui.markdown(text.intro));
  const variantText = variant ? text.variants?.[opts.variant!] : undefined;
  if (variant) ui.write(['', ...wrap(`Variant "${opts.variant}": ${variant.title}`, 0).map((l) => c.bold(l)), ...ui.markdown(variantText?.text ?? '')]);

  let exitCode = 0;
  if ((lesson.run || lesson.tour) && lesson.needsRoot && !isRealRoot()) {
    throw new NsxError(`the "${lesson.id}" lesson needs root`, { hint: 'start it with sudo: sudo nsx learn (or sudo nsx lesson ' + lesson.id + ')' });
  }
  if (lesson.tour) {
    const r = await playTour(lesson.tour, text, ui, emit, opts.onTour);
    exitCode = r.exitCode;
    if (!r.completed) {
      emit({ type: 'lesson-finished', id: lesson.id, completed: false, exitCode });
      return { completed: false, exitCode };
    }
  } else if (lesson.run) {
    const rootfs = opts.rootfs ?? sandboxRootfs();
    const root = isRealRoot();
    const who = containerUser(lesson.run.as, opts.env ?? process.env, { uid: process.getuid!(), gid: process.getgid!(), root });
    emit({ type: 'run-as', how: who.how, ...(who.runAs ?? {}), ...(who.note ? { note: who.note } : {}) });
    if (who.note) ui.write(['', ...wrap(who.note, 0).map((l) => c.yellow(l)), '']);
    if (who.runAs) checkRootfsFor(who.runAs, rootfs);
    // The engine builds the spec and plan from the lesson's options (on a user's behalf, RunAs: a
    // rootless plan) and runs it one step at a time as the player answers: `nsx ps` in a second
    // terminal shows it half built (the engine started here if none runs, and says so).
    const options = { ...lesson.run.options, ...(who.userns ? { userns: who.userns } : {}) };
    const swap = variant ? variant.swap : lesson.run.swap;
    const asked = { ...options, rootfs, command: lesson.run.command, ...(swap ? { swap } : {}) };
    const body = createBody({ ...asked, ...(who.runAs ? { runAs: who.runAs } : {}) });
    const container = await RemoteContainer.create(await engineClient(), body);
    opts.onContainer?.(container);
    // What demos made on the host, undone when the lesson's container is over, however it ends.
    const cleanups: string[][] = [];
    const total = container.plan.length;
    let failedAt: string | undefined;
    let output = '';
    let limit: NodeJS.Timeout | undefined;
    let attached = false;
    const attach = () => {
      if (attached) return;
      for (const s of [container.stdout, container.stderr]) s?.on('data', (d: Buffer) => (output += d.toString()));
      attached = true;
    };

    // The lesson's demos, read once (a lesson may compute them for this machine).
    const demos = lesson.demos;
    // What demos have seen of the container: its cgroup lines, kept for {cgroup:…} after it exits.
    const seen: DemoSeen = {};
    // 'exit' demos run before the cleanup (beforeCleanup), shown later with the others.
    const ranEarly = new Map<Demo, ReturnType<typeof runDemo>>();
    const runRecorded = (d: Demo) => {
      const r = runDemo(d, container, seen);
      const undo = cleanupFor(d, r.output, container);
      if (undo) cleanups.push(undo);
      emit({ type: 'demo', after: d.after, command: r.command, onHost: !!d.onHost, output: r.output, status: r.status });
      return r;
    };
    const showDemo = (d: Demo) => {
      const r = ranEarly.get(d) ?? runRecorded(d);
      // The container's long id is shown as <id> (the events keep the command and output whole).
      const shown = (t: string) => shownText(t, container.id);
      ui.write([...commandLines(d.onHost ? 'host' : 'inside', shown(shellLine(r.command))).map((l) => c.cyan(l)), ...outputLines(shown(r.output)), ...wrap(`→ ${d.notice}`, 2).map((l) => c.yellow(l)), '']);
    };

    container.on((e) => {
      emit(e);
      if (e.type === 'started') limit = setTimeout(() => container.abort(), (opts.commandSeconds ?? 15) * 1000);
      if (e.type === 'step-applied' && lesson.focus.includes(e.step.id) && e.evidence) {
        ui.write([...evidenceTable(e.evidence, e.changed, c), '']);
      }
      if (e.type === 'step-applied') {
        // Only when every hierarchy nsx placed it in still names the container's cgroup: for a process
        // caught exiting the kernel shows "/" on v1 hierarchies (proc_cgroup_show) but not on v2.
        const lines = e.evidence?.process.cgroups ?? [];
        const placed = lines.filter((l) => /^0::|[:,](memory|pids|cpu)[:,]/.test(l));
        if (placed.length && placed.every((l) => l.includes(`/nsx/${container.id}`))) seen.cgroups = lines;
        for (const d of demosAfter(demos, e.step.id)) showDemo(d);
      }
      // PID 1 has exited; the container's cgroups are removed right after this event.
      if (e.type === 'exited') for (const d of demosAfter(demos, 'exit').filter((x) => x.beforeCleanup)) ranEarly.set(d, runRecorded(d));
      if (e.type === 'step-skipped') ui.write(wrap(`[${e.index + 1}/${total}] ${e.step.title}: skipped (${e.reason})`, 0).map((l) => c.dim(l)));
      if (e.type === 'step-failed') failedAt = e.step.id;
      if (e.type === 'step-failed') ui.write([...wrap(`failed: ${e.error.message}`, 2).map((l) => c.red(l)), ...(e.error.hint ? wrap(e.error.hint, 4).map((l) => c.yellow(l)) : []), '']);
    });

    const undoDemos = () => {
      for (const argv of cleanups.splice(0).reverse()) {
        const r = runOnHost(argv);
        emit({ type: 'demo-cleanup', command: argv, output: r.output, status: r.status });
        ui.write([c.dim(`  cleaning up, host$ ${shellLine(argv)}`), ...(r.status === 0 ? [] : r.output.trimEnd().split('\n').map((l) => c.red(`    ${l}`)))]);
      }
    };
    const run = container.run({
      beforeStep: async (step, index) => {
        attach();
        if (!lesson.focus.includes(step.id)) {
          ui.write([c.dim(`[${index + 1}/${total}] ${step.title}`)]);
          return 'apply';
        }
        const explained = text.steps[step.id];
        ui.write(['', ...stepHeader(index, total, step, c)]);
        if (explained?.text) ui.write(['', ...ui.markdown(explained.text)]);
        emit({ type: 'explained', step: step.id, more: false });
        if (ui.mode === 'print' && explained?.more) {
          ui.write(['', ...ui.markdown(explained.more)]);
          emit({ type: 'explained', step: step.id, more: true });
        }
        if (ui.mode === 'auto') await ui.pause();
        for (;;) {
          const choice = await ui.choose(step);
          if (choice === 'apply' || choice === 'quit') return choice;
          if (choice === 'more') {
            ui.write(['', ...ui.markdown(explained?.more || `See ${step.manPage}.`)]);
            emit({ type: 'explained', step: step.id, more: true });
          }
          if (choice === 'shell' && container.pid !== undefined) await ui.shell(container.pid, container.applied.has('pivot-root'));
        }
      },
    });
    const result = await run.catch((e: unknown) => {
      clearTimeout(limit);
      undoDemos();
      throw e;
    });
    clearTimeout(limit);
    // The command's own output (what it printed before it exited, or before the player ended it).
    if (output.trim()) {
      emit({ type: 'output', text: output });
      ui.write([c.dim('  the command printed:'), ...outputLines(output), '']);
    }
    // Demos after the command: on the host, what is left once the container's PID 1 has exited.
    if (!result.error && container.applied.has('exec')) for (const d of demosAfter(demos, 'exit')) showDemo(d);
    undoDemos();
    exitCode = result.exitCode;
    // A variant ends with its own words: why the usual way is right, after it broke as meant to.
    if (variant && result.exitCode !== 130) {
      const asMeant = variant.failsAt === undefined ? !result.error : failedAt === variant.failsAt;
      if (!asMeant) ui.write(['', ...wrap(variant.failsAt ? `This variant was meant to fail at the ${variant.failsAt} step, but ${failedAt ? `it failed at ${failedAt}` : 'it did not fail'}.` : 'This variant failed.', 0).map((l) => c.yellow(l))]);
      if (variantText?.more) ui.write(['', ...ui.markdown(variantText.more), '']);
      emit({ type: 'lesson-finished', id: lesson.id, completed: asMeant, exitCode });
      return { completed: asMeant, exitCode };
    }
    if (result.error && result.exitCode !== 130) {
      emit({ type: 'lesson-finished', id: lesson.id, completed: false, exitCode });
      return { completed: false, exitCode };
    }
    if (result.exitCode === 130 && !container.applied.has('exec')) {
      ui.write([c.dim('Stopped. Everything the container had is removed; `nsx learn` picks this lesson up again.')]);
      emit({ type: 'lesson-finished', id: lesson.id, completed: false, exitCode });
      return { completed: false, exitCode };
    }
  }

  ui.write(['', c.bold('What you saw'), ...ui.markdown(text.summary)]);
  if (text.rule) ui.write(['', ...wrap(`Rule: ${text.rule}`, 0).map((l) => c.bold(l))]);
  ui.write(['', c.bold('Try it yourself'), ...ui.markdown(text.task), ...wrap(`Then run: nsx check ${lesson.id}   (nsx check ${lesson.id} --hint for a nudge)`, 2), '']);
  for (const q of lesson.quiz) {
    const chosen = await ui.ask(q);
    const correct = chosen === undefined ? undefined : chosen === q.answer;
    emit({ type: 'quiz', question: q.question, chosen, correct });
    const verdict = correct === undefined ? `Answer: ${q.choices[q.answer]}` : correct ? c.green('Right.') : c.yellow(`Not quite: the answer is "${q.choices[q.answer]}".`);
    const shown = ui.mode === 'interactive' ? [] : [...wrap(`Quiz: ${q.question}`, 0).map((l) => c.bold(l)), ...q.choices.flatMap((ch, i) => wrap(`${i + 1}. ${ch}`, 2))];
    ui.write([...shown, ...wrap(verdict, 0), ...wrap(q.why, 2), '']);
  }
  for (const [name, v] of Object.entries(lesson.variants ?? {})) ui.write(wrap(`Another way: nsx lesson ${lesson.id} --variant ${name} (${v.title})`, 0).map((l) => c.dim(l)));
  emit({ type: 'lesson-finished', id: lesson.id, completed: true, exitCode });
  return { completed: true, exitCode };
}
