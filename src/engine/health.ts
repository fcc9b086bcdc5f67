// docker's HEALTHCHECK (--health-cmd and its timings; Config.Healthcheck in the API): a command run
// inside the running container as an exec, every Interval; its exit status says healthy (0) or not.
// State.Health keeps the status (starting → healthy | unhealthy), the failing streak and the last five
// probes; a change of status is an event ("health_status: healthy"). Rules and defaults as moby's
// daemon/health.go: interval 30s, timeout 30s, retries 3, start period 0; a failure within the start
// period does not count while the status is still "starting"; Retries failures in a row make it
// unhealthy; a probe that runs past Timeout is killed and counts as failed (exit -1). Docker marks an
// unhealthy container and nothing more: restarting it is a restart policy's or an orchestrator's job.
import type { EngineContainer } from './container.js';
import type { Engine } from './engine.js';
import { ApiError } from './errors.js';
import { FrameDecoder } from './stream.js';
import { createExec, startExec } from './verbs/exec.js';

/** Config.Healthcheck (docker's HealthConfig): Test ["CMD-SHELL", "cmd"] | ["CMD", prog, args…] |
 *  ["NONE"]; the durations in nanoseconds, 0 for the default. */
export interface Healthcheck {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  Retries?: number;
}

/** One probe in State.Health.Log (docker's HealthcheckResult). */
export interface HealthLog {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** State.Health (docker's Health). */
export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy';
  FailingStreak: number;
  Log: HealthLog[];
}

const SECOND = 1e9;
export const HEALTH_DEFAULTS = { Interval: 30 * SECOND, Timeout: 30 * SECOND, StartPeriod: 0, Retries: 3 };
/** moby keeps the last five results (maxLogEntries) and 4 KiB of each probe's output (maxOutputLen). */
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;
const MIN_DURATION = 1e6; // 1 ms: moby's containertypes.MinimumDuration

/** docker's checks of Config.Healthcheck at create (daemon/container.go validateHealthCheck), in its words. */
export function checkHealthcheck(h: Healthcheck | undefined): void {
  if (!h) return;
  for (const k of ['Interval', 'Timeout', 'StartPeriod'] as const) {
    const v = h[k];
    if (v !== undefined && v !== 0 && v < MIN_DURATION)
      throw new ApiError(400, `${k} in Healthcheck cannot be less than 1ms`, `nanoseconds: 1s is ${SECOND}`);
  }
  if (h.Retries !== undefined && h.Retries < 0) throw new ApiError(400, 'Retries in Healthcheck cannot be negative');
  const t = h.Test ?? [];
  if (t.length && !['CMD', 'CMD-SHELL', 'NONE'].includes(t[0]))
    throw new ApiError(
      400,
      `unknown type of healthcheck test: "${t[0]}"`,
      'Test is ["CMD-SHELL", "cmd"], ["CMD", "prog", "arg"…] or ["NONE"]',
    );
  if ((t[0] === 'CMD' || t[0] === 'CMD-SHELL') && t.length < 2)
    throw new ApiError(
      400,
      `Healthcheck ${t[0]} needs a command`,
      'e.g. ["CMD-SHELL", "wget -q -O- http://127.0.0.1/"]',
    );
}

/** The command a probe runs, or undefined when the container has no check (none, or "NONE"). */
export function probeCommand(h: Healthcheck | undefined): string[] | undefined {
  const t = h?.Test ?? [];
  if (t[0] === 'CMD-SHELL') return ['/bin/sh', '-c', t.slice(1).join(' ')];
  if (t[0] === 'CMD') return t.slice(1);
  return undefined;
}

const timings = (h: Healthcheck) => ({
  interval: (h.Interval || HEALTH_DEFAULTS.Interval) / 1e6,
  timeout: (h.Timeout || HEALTH_DEFAULTS.Timeout) / 1e6,
  startPeriod: (h.StartPeriod || HEALTH_DEFAULTS.StartPeriod) / 1e6,
  retries: h.Retries || HEALTH_DEFAULTS.Retries,
});

/** Its run began: the status is "starting" and the first probe comes after one interval. */
export function startHealth(engine: Engine, c: EngineContainer): void {
  stopHealth(c);
  const h = c.record.Config.Healthcheck;
  const cmd = probeCommand(h);
  if (!h || !cmd) return;
  const t = timings(h);
  const run = c.run;
  const began = Date.now();
  c.setHealth({ Status: 'starting', FailingStreak: 0, Log: [] });
  const monitor = { timer: undefined as NodeJS.Timeout | undefined, stopped: false };
  c.healthMonitor = monitor;
  const next = () => {
    monitor.timer = setTimeout(() => {
      void probe(engine, c, cmd, t.timeout).then((result) => {
        if (monitor.stopped || c.run !== run) return;
        record(engine, c, result, Date.now() - began < t.startPeriod, t.retries);
        next();
      });
    }, t.interval);
  };
  next();
}

/** Its run is over (or it is removed): no more probes. State.Health stays as the last probe left it. */
export function stopHealth(c: EngineContainer): void {
  const m = c.healthMonitor;
  if (!m) return;
  m.stopped = true;
  if (m.timer) clearTimeout(m.timer);
  c.healthMonitor = undefined;
}

/** moby's handleProbeResult: the log, the streak, the status, and an event when the status changed. */
function record(engine: Engine, c: EngineContainer, result: HealthLog, inStartPeriod: boolean, retries: number): void {
  const old = c.record.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
  const h: HealthState = { ...old, Log: [...old.Log, result].slice(-MAX_LOG) };
  if (result.ExitCode === 0) {
    h.FailingStreak = 0;
    h.Status = 'healthy';
  } else if (!(old.Status === 'starting' && inStartPeriod)) {
    h.FailingStreak = old.FailingStreak + 1;
    if (h.FailingStreak >= retries) h.Status = 'unhealthy';
  }
  c.setHealth(h);
  if (h.Status !== old.Status) engine.event(c, `health_status: ${h.Status}`);
}

/** One probe: an exec of the command, its output kept (4 KiB), killed after `timeout` ms. */
async function probe(engine: Engine, c: EngineContainer, cmd: string[], timeout: number): Promise<HealthLog> {
  const Start = new Date().toISOString();
  const end = (ExitCode: number, Output: string): HealthLog => ({
    Start,
    End: new Date().toISOString(),
    ExitCode,
    Output: Output.slice(0, MAX_OUTPUT),
  });
  if (!c.canExec()) return end(-1, 'the container is not running');
  let id: string | undefined;
  try {
    id = createExec(engine, c, { Cmd: cmd, AttachStdout: true, AttachStderr: true }).ID;
    const e = c.execs.get(id)!;
    let out = '';
    const frames = new FrameDecoder((_s, d) => {
      if (out.length < MAX_OUTPUT) out += d.toString();
    });
    e.hub.on('data', (d: Buffer) => frames.push(d));
    const { finished } = await startExec(engine, c, e);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), timeout)));
    const how = await Promise.race([finished.then(() => 'done' as const), late]);
    clearTimeout(timer);
    if (how === 'late') {
      e.container?.abort();
      return end(-1, `Health check exceeded timeout (${timeout / 1000}s)`);
    }
    return end(e.record.ExitCode ?? -1, out);
  } catch (err) {
    return end(-1, (err as Error).message);
  } finally {
    if (id) c.execs.delete(id); // a probe's exec is not kept (docker's health execs are not listed either)
  }
}
