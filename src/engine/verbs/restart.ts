// docker's restart policies: no, always, unless-stopped, on-failure[:N] (only a non-zero exit), with
// docker's back-off (100 ms, doubling, at most a minute), and the daemon's restart of its containers
// at its own start.
import type { RunResult } from '../../runtime/runtime.js';
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import type { HostConfig } from '../state.js';
import { start } from './start.js';

/** docker's checks of HostConfig.RestartPolicy (runconfig/hostconfig.go), in its words. */
export function checkRestartPolicy(h: HostConfig): void {
  const p = h.RestartPolicy;
  if (!p || p.Name === '' || p.Name === 'no') {
    if (p?.MaximumRetryCount)
      throw new ApiError(400, `invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    return;
  }
  if (!['always', 'unless-stopped', 'on-failure'].includes(p.Name))
    throw new ApiError(
      400,
      `invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'unless-stopped', or 'on-failure'`,
    );
  if (p.Name !== 'on-failure' && p.MaximumRetryCount)
    throw new ApiError(400, `invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (p.MaximumRetryCount !== undefined && (!Number.isInteger(p.MaximumRetryCount) || p.MaximumRetryCount < 0))
    throw new ApiError(400, 'invalid restart policy: maximum retry count must be a positive integer');
  if (h.AutoRemove) throw new ApiError(400, `conflicting options: cannot specify both --restart and --rm`);
}

/** Whether the policy starts it again after this exit. */
export function restartWanted(engine: Engine, c: EngineContainer, result: Pick<RunResult, 'exitCode'>): boolean {
  const r = c.record;
  const p = r.HostConfig.RestartPolicy;
  if (!p || engine.shuttingDown || r.ManuallyStopped) return false;
  if (p.Name === 'always' || p.Name === 'unless-stopped') return true;
  if (p.Name !== 'on-failure' || result.exitCode === 0) return false;
  return !p.MaximumRetryCount || (r.RestartCount ?? 0) < p.MaximumRetryCount;
}

/** The next restart, after the back-off; a failed one leaves it exited, with why. */
export function scheduleRestart(engine: Engine, c: EngineContainer): void {
  const count = c.record.RestartCount ?? 0;
  c.restartTimer = setTimeout(
    () => {
      c.restartTimer = undefined;
      start(engine, c, true).catch((e: Error) => {
        c.transition({ to: 'exited', error: `restart ${count} failed: ${e.message}` }, 'fact');
        c.settle();
      });
    },
    Math.min(100 * 2 ** (count - 1), 60_000),
  );
}

/** Containers that died with (or were stopped by) the previous engine and whose restart policy says
 *  so start again (docker's daemon does the same at boot). Returns their ids. */
export function restartRecovered(engine: Engine): string[] {
  const again = [...engine.recovered, ...engine.stoppedWithEngine]
    .map((id) => engine.get(id))
    .filter((c): c is EngineContainer => {
      return !!c && restartWanted(engine, c, { exitCode: c.record.State.ExitCode });
    });
  for (const c of again) {
    c.record.RestartCount = (c.record.RestartCount ?? 0) + 1;
    start(engine, c, true).catch((e: Error) => {
      if (c.status === 'exited')
        c.transition({ to: 'exited', error: `restart after the engine's start failed: ${e.message}` }, 'fact');
    });
  }
  return again.map((c) => c.id);
}
