// docker start (and the restart policy's): the runtime runs the plan, the engine's Hub carries the
// output to the log and to attached clients, and the run's end says how the container exited.
import { endExecs } from './exec.js';
import { startHealth, stopHealth } from '../health.js';
import { closeSync, existsSync, openSync } from 'node:fs';
import { NsxError } from '../../runtime/errors.js';
import { planContainer } from '../../runtime/make.js';
import type { PlannedStep } from '../../runtime/plan.js';
import { Container, type RunResult } from '../../runtime/runtime.js';
import type { EngineContainer, Stepping } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import { refusal } from '../lifecycle.js';
import { imageRun, makeOptions } from './make.js';
import { restartWanted, scheduleRestart } from './restart.js';

/** Starts the container's command; resolves once it runs (or throws how it failed to start). A
 *  stepped one resolves at once: its client applies the steps (POST …/step). */
export async function start(engine: Engine, c: EngineContainer, byPolicy = false): Promise<'started' | 'already'> {
  const r = c.record;
  if (c.status === 'paused') throw refusal.startPaused();
  if (!c.canStart()) return 'already';
  if (c.hostMounts) throw refusal.copying(c.id, 'start'); // its overlay may be mounted once only
  if (!byPolicy) {
    r.ManuallyStopped = false;
    c.clearRestart();
    r.RestartCount = 0;
  }
  const rootDir = c.rootDir();
  if (rootDir && !existsSync(rootDir)) {
    throw new ApiError(
      500,
      `the container's root filesystem is gone (${rootDir})`,
      'remove the container (nsx rm) and create it again',
    );
  }
  let made = c.planned;
  c.planned = undefined; // the plan made at create serves its first start; later ones are made anew
  try {
    if (!made) {
      const image = r.Root ? await imageRun(engine.root, r.Image, r.Root) : undefined;
      made = planContainer(makeOptions(engine.root, r, undefined, image?.run), image?.view);
      made = { ...made, spec: { ...made.spec, id: r.Id } };
    }
  } catch (e) {
    if (e instanceof NsxError) throw new ApiError(400, e.message, e.info.hint);
    throw e;
  }
  if (c.run) return 'already'; // started by another request meanwhile
  const { spec, plan } = made;
  const logFd = openSync(r.LogPath, 'a', 0o600);
  const n = r.Nsx ?? {};
  const container = new Container(
    spec,
    plan,
    [r.Config.OpenStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    !!(n.Step || n.Observe), // evidence after every step, for the client that follows the events
    n.RunAs,
  );
  const hub = c.hub();
  const s: Stepping | undefined = n.Step || n.Observe ? c.beginSteps(plan.length) : undefined;
  container.on((e) => {
    if (s) {
      s.events.push(e);
      if (e.type === 'cleaned-up') s.ended = true;
      s.feed.emit('event', e);
    }
    if (e.type !== 'started') return;
    c.transition({ to: 'running', pid: e.pid }, 'fact');
    engine.event(c, byPolicy ? 'restart' : 'start');
    startHealth(engine, c);
  });
  let drained: Promise<void> = Promise.resolve();
  const size = r.HostConfig.ConsoleSize;
  const spawned = (x: Container) => {
    drained = hub.connect(x, logFd);
    if (size && size[0] > 0 && size[1] > 0) x.resize(size[0], size[1]); // applied as the terminal is made
  };
  const beforeStep =
    s?.pauses &&
    ((step: PlannedStep, index: number) =>
      new Promise<'apply' | 'quit'>((answer) => (s.paused = { index, step, answer })));
  // After the command's exit, before the cleanup: one more pause, for a client that asked for it.
  const afterExit =
    s?.pauses && n.PauseAtExit
      ? () =>
          new Promise<void>(
            (go) =>
              (s.paused = {
                index: plan.length,
                step: { id: 'exit', title: 'The command has exited' },
                answer: () => go(),
              }),
          )
      : undefined;
  const done = container
    .run({ spawned, ...(beforeStep ? { beforeStep } : {}), ...(afterExit ? { afterExit } : {}) })
    .then(async (result) => {
      await Promise.race([drained, new Promise((res) => setTimeout(res, 2000))]); // the last output, into the log first
      return exited(engine, c, result);
    });
  c.run = { container, done, logFd, ...(s ? { stepping: s } : {}) };
  if (s?.pauses) return 'started';
  const started = new Promise<void>((resolve) => container.on((e) => e.type === 'started' && resolve()));
  const first = await Promise.race([started.then(() => undefined), done]);
  if (first !== undefined) {
    const err = first.error;
    throw new ApiError(
      first.exitCode === 126 || first.exitCode === 127 ? 400 : 500,
      `failed to start container ${r.Id.slice(0, 12)}: ${err?.message ?? `exit code ${first.exitCode}`}`,
      err?.info.hint,
    );
  }
  return 'started';
}

/** The run is over: the state says how, the waiters hear it, and the policy may start it again. */
function exited(engine: Engine, c: EngineContainer, result: RunResult): RunResult {
  const r = c.record;
  if (c.run) closeSync(c.run.logFd);
  stopHealth(c);
  endExecs(c); // a shell opened in it while it was built is not left behind
  c.run = undefined;
  c.hub().emit('end');
  const again = engine.has(r.Id) && restartWanted(engine, c, result);
  if (again) r.RestartCount = (r.RestartCount ?? 0) + 1;
  const ending = { exitCode: result.exitCode, oomKilled: result.oomKilled, error: result.error?.message ?? '' };
  c.transition({ to: again ? 'restarting' : 'exited', ending }, 'fact');
  c.exitedOnce();
  if (!engine.has(r.Id)) return result; // removed meanwhile (rm -f)
  if (result.oomKilled) engine.event(c, 'oom');
  engine.event(c, 'die', { exitCode: String(result.exitCode) });
  if (again) return (scheduleRestart(engine, c), result);
  if (r.HostConfig.AutoRemove) engine.forget(c);
  c.settle();
  return result;
}
