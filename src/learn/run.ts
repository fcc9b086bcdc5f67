// A lesson's container, played: the engine builds it one step at a time, the learner is asked at
// each focus step (promptAtStop), the demos run after their steps and after the command, and what
// they made on the host is undone however the lesson ends. Everything shown is an event.
import { spawnSync } from 'node:child_process';
import { isRealRoot } from '../runtime/host.js';
import { engineShell, runInside, shellHas } from '../ui/shell.js';
import { asLessonContainer, makeLessonContainer, type LessonContainer, type LessonWithRun } from './container.js';
import { demoVars, fillPlaceholders, type DemoSeen } from './demo.js';
import type { DemoEvent, Emit } from './events.js';
import type { Demo, LessonText, LessonVariant } from './lesson.js';
import { promptAtStop, type Prompts } from './prompt.js';
import { checkRootfsFor, containerUser } from './runas.js';
import { sandboxRootfs } from './sandbox.js';

export interface ContainerPlay {
  ui: Prompts;
  emit: Emit;
  /** Where the lessons' root filesystem is (default: the sandbox busybox one, built if missing). */
  rootfs?: string;
  /** The longest the lesson's command may run before the player ends it (default 15). */
  commandSeconds?: number;
  /** The variant played: its name, its plan change, its words from lesson.md. */
  variant?: { name: string; plan: LessonVariant; text?: { text: string; more: string } };
  /** Called with the container as soon as it exists (the CLI aborts it on Ctrl-C). */
  onContainer?: (c: { abort(): void }) => void;
  /** The environment sudo left (SUDO_UID, SUDO_GID), for lessons run as the invoking user
   *  (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** How the container part ended: `end` when the lesson ends with it (no summary, no quiz). */
export interface ContainerEnding {
  exitCode: number;
  end?: { completed: boolean };
}

function runOnHost(argv: string[], timeoutSeconds = 10): { output: string; status: number | null } {
  // env: this process's as it is now (a test's engine socket, NSX_ENGINE_SOCKET, reaches {nsx} demos).
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: timeoutSeconds * 1000, env: process.env });
  return {
    output: (r.stdout ?? '') + (r.stderr ?? '') + (r.error ? `${argv[0]}: ${r.error.message}\n` : ''),
    status: r.status,
  };
}

/** Runs a demo, its {placeholders} filled from the container: inside it (nsenter) or on the host.
 *  Returns the command as run, and what it printed. */
function runDemo(
  d: Demo,
  container: LessonContainer,
  seen: DemoSeen = {},
): { command: string[]; output: string; status: number | null } {
  const filled = fillPlaceholders(d.command, demoVars(container, seen));
  if ('missing' in filled)
    return { command: d.command, output: `(not run: {${filled.missing}} is not known at this point)`, status: null };
  const command = filled.argv;
  if (d.onHost) return { command, ...runOnHost(command, d.timeoutSeconds) };
  const pid = container.pid;
  if (pid === undefined) return { command, output: '(the container is gone)', status: null };
  return { command, ...runInside(pid, container.rootChanged, command) };
}

/** The host command that undoes what a demo made, with what it needs filled in (undefined: nothing to undo). */
function cleanupFor(d: Demo, output: string, container: LessonContainer): string[] | undefined {
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

export async function playContainer(
  lesson: LessonWithRun,
  text: LessonText,
  o: ContainerPlay,
): Promise<ContainerEnding> {
  const { ui, emit, variant } = o;
  const rootfs = o.rootfs ?? sandboxRootfs();
  const root = isRealRoot();
  const who = containerUser(lesson.run.as, o.env ?? process.env, {
    uid: process.getuid!(),
    gid: process.getgid!(),
    root,
  });
  emit({ type: 'run-as', how: who.how, ...(who.runAs ?? {}), ...(who.note ? { note: who.note } : {}) });
  if (who.runAs) checkRootfsFor(who.runAs, rootfs);
  // Root's engine, started through sudo, is stopped through sudo too.
  const stop = root && (o.env ?? process.env).SUDO_UID ? 'sudo nsx engine stop' : 'nsx engine stop';
  const engineStarted = (pid: number, socket: string) => emit({ type: 'engine-started', pid, socket, stop });
  const { container, total } = await makeLessonContainer(
    lesson,
    { rootfs, root, variant: variant?.plan, engineStarted },
    who,
  );
  const lc = asLessonContainer(container);
  o.onContainer?.(container);
  emit({ type: 'container-planned', id: container.id, total, focus: lesson.focus });
  // What demos made on the host, undone when the lesson's container is over, however it ends.
  const cleanups: string[][] = [];
  let failedAt: string | undefined;
  let output = '';
  let limit: NodeJS.Timeout | undefined;
  let attached = false;
  const attach = () => {
    if (attached) return;
    for (const s of [container.stdout, container.stderr]) s?.on('data', (d: Buffer) => (output += d.toString()));
    attached = true;
  };

  // A focus step was applied: its evidence and demos are on the screen (a projector pauses on them).
  let readingDue = false;
  // The steps this container skips: the shell's banner says it will not have them.
  const skipped = new Set<string>();
  // The lesson's demos, read once (a lesson may compute them for this machine).
  const demos = lesson.demos;
  const demosAfter = (step: string) => demos.filter((d) => d.after === step);
  // What demos have seen of the container: its cgroup lines, kept for {cgroup:…} after it exits.
  const seen: DemoSeen = {};
  // 'exit' demos run before the cleanup (beforeCleanup), held and shown later with the others.
  const ranEarly = new Map<Demo, DemoEvent>();
  const runRecorded = (d: Demo, held = false) => {
    const r = runDemo(d, lc, seen);
    const undo = cleanupFor(d, r.output, lc);
    if (undo) cleanups.push(undo);
    const e: DemoEvent = { type: 'demo', after: d.after, ...r, onHost: !!d.onHost, notice: d.notice };
    if (held) e.held = true;
    emit(e);
    return e;
  };
  const showDemo = (d: Demo) => {
    const early = ranEarly.get(d);
    if (early) emit({ type: 'demo-shown', demo: early });
    else runRecorded(d);
  };

  container.on((e) => {
    emit(e);
    if (e.type === 'started') limit = setTimeout(() => container.abort(), (o.commandSeconds ?? 15) * 1000);
    if (e.type === 'step-applied' && lesson.focus.includes(e.step.id)) readingDue = true;
    if (e.type === 'step-skipped') skipped.add(e.step.id);
    if (e.type === 'step-applied') {
      // Only when every hierarchy nsx placed it in still names the container's cgroup: for a process
      // caught exiting the kernel shows "/" on v1 hierarchies (proc_cgroup_show) but not on v2.
      const lines = e.evidence?.process.cgroups ?? [];
      const placed = lines.filter((l) => /^0::|[:,](memory|pids|cpu)[:,]/.test(l));
      if (placed.length && placed.every((l) => l.includes(`/nsx/${container.id}`))) seen.cgroups = lines;
      for (const d of demosAfter(e.step.id)) showDemo(d);
    }
    // PID 1 has exited; the container's cgroups are removed right after this event.
    if (e.type === 'exited') {
      for (const d of demosAfter('exit').filter((x) => x.beforeCleanup)) ranEarly.set(d, runRecorded(d, true));
    }
    if (e.type === 'step-failed') failedAt = e.step.id;
  });

  const undoDemos = () => {
    for (const argv of cleanups.splice(0).reverse()) emit({ type: 'demo-cleanup', command: argv, ...runOnHost(argv) });
  };
  // A shell in the container as it stands: an exec of the engine's into what it has applied so far.
  const shell = () =>
    ui.shell({
      has: shellHas({ applied: container.applied, skipped, rootChanged: lc.rootChanged, pid: lc.pid }),
      open: () => engineShell(container.client, container.id),
    });
  const run = container.run({
    beforeStep: async (step) => {
      attach();
      // A projector: time to read a focus step's evidence and demos before the next step goes by.
      if (ui.mode === 'auto' && readingDue) {
        readingDue = false;
        await ui.pause();
      }
      if (!lesson.focus.includes(step.id)) return 'apply';
      return promptAtStop(ui, emit, { id: step.id, words: text.steps[step.id], noMore: `See ${step.manPage}.`, shell });
    },
  });
  const result = await run.catch((e: unknown) => {
    clearTimeout(limit);
    undoDemos();
    throw e;
  });
  clearTimeout(limit);
  // The command's own output (what it printed before it exited, or before the player ended it).
  if (output.trim()) emit({ type: 'output', text: output });
  // Demos after the command: on the host, what is left once the container's PID 1 has exited.
  if (!result.error && lc.commandStarted) for (const d of demosAfter('exit')) showDemo(d);
  undoDemos();
  const exitCode = result.exitCode;
  // A variant ends with its own words: why the usual way is right, after it broke as meant to.
  if (variant && exitCode !== 130) {
    const { failsAt } = variant.plan;
    const asMeant = failsAt === undefined ? !result.error : failedAt === failsAt;
    const where = { ...(failsAt ? { failsAt } : {}), ...(failedAt ? { failedAt } : {}) };
    emit({ type: 'variant-ended', name: variant.name, asMeant, ...where, more: variant.text?.more ?? '' });
    return { exitCode, end: { completed: asMeant } };
  }
  if (result.error && exitCode !== 130) return { exitCode, end: { completed: false } };
  if (exitCode === 130 && !lc.commandStarted) {
    emit({ type: 'stopped', what: 'container' });
    return { exitCode, end: { completed: false } };
  }
  return { exitCode };
}
