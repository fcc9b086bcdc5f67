// docker wait: the exit code, once the container is not running. condition=next-exit (or removed, for
// --rm) waits for the next exit even when it has not started yet (docker run asks before it starts
// the container, so a quick exit cannot be missed).
import type { EngineContainer } from '../container.js';
import { ApiError } from '../errors.js';

export async function wait(
  c: EngineContainer,
  condition = 'not-running',
): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
  if (!['not-running', 'next-exit', 'removed'].includes(condition)) {
    throw new ApiError(400, `invalid condition: "${condition}"`, 'use not-running, next-exit or removed');
  }
  if (condition === 'next-exit') await c.untilNextExit();
  // not-running (while it runs or a restart is due) and removed: through restarts, to the last exit.
  else if (condition === 'removed' || c.run || c.restartTimer) await c.untilSettled();
  const s = c.record.State;
  return { StatusCode: s.ExitCode, Error: s.Error ? { Message: s.Error } : null };
}
