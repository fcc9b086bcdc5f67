// docker kill and docker stop: a signal to PID 1; stop's SIGTERM, then SIGKILL after its timeout. Both
// mark the container stopped by hand (docker's HasBeenManuallyStopped): no policy starts it again.
import { signalNumber } from '../../runtime/shim.js';
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import { refusal } from '../lifecycle.js';
import { thawAfterSignal } from './pause.js';

/** docker kill: a signal to PID 1 (SIGKILL by default). */
export function kill(engine: Engine, c: EngineContainer, ref: string, signal = 'SIGKILL'): void {
  if (!c.canKill()) throw refusal.kill(ref, c.id);
  const sig = parseSignal(signal);
  c.record.ManuallyStopped = true;
  c.run!.container.signal(sig);
  engine.event(c, 'kill', { signal: String(sig) });
  if (sig === 9 || sig === 15) thawAfterSignal(engine, c); // SIGTERM: nsx's stop signal
}

/** docker stop: SIGTERM, then SIGKILL after t seconds. Resolves when it has exited. */
export async function stop(engine: Engine, c: EngineContainer, t = 10): Promise<'stopped' | 'already'> {
  const run = c.run;
  c.record.ManuallyStopped = true;
  if (cancelRestart(c)) return 'stopped';
  if (!run) return 'already';
  run.container.signal(15);
  engine.event(c, 'kill', { signal: '15' });
  thawAfterSignal(engine, c);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), t * 1000)));
  if ((await Promise.race([run.done, late])) === 'late') run.container.signal(9);
  clearTimeout(timer);
  await run.done;
  return 'stopped';
}

/** Cancels a scheduled restart: the container stays exited. */
export function cancelRestart(c: EngineContainer): boolean {
  if (!c.clearRestart()) return false;
  c.transition({ to: 'exited' });
  c.settle();
  return true;
}

/** "SIGTERM", "TERM", "term" or "15" → 15. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const n = signalNumber(`SIG${text.toUpperCase().replace(/^SIG/, '')}`);
    if (n) return n;
  }
  throw new ApiError(400, `Invalid signal: ${text}`, 'e.g. SIGTERM, TERM, 15, SIGKILL');
}
