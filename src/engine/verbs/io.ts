// docker attach, logs and resize: a container's streams. A container that is not running may be
// attached to: its output comes once it starts (docker run -it attaches before start).
import type { EngineContainer } from '../container.js';
import type { Hub } from '../hub.js';
import { refusal } from '../lifecycle.js';

/** docker attach: the hub to follow (and write to, with stdin). */
export function attach(c: EngineContainer): { hub: Hub; record: EngineContainer['record'] } {
  return { hub: c.hub(), record: c.record };
}

/** A terminal's size: docker's POST /containers/{id}/resize?h=&w=. */
export function resize(c: EngineContainer, rows: number, cols: number): void {
  if (!c.run) throw refusal.notRunning(c.id);
  c.run.container.resize(rows, cols);
}

/** The log file (stdout and stderr together, in the order written), and whether more may come. */
export function logPath(c: EngineContainer): { path: string; running: () => boolean; done: Promise<unknown> } {
  return { path: c.record.LogPath, running: () => !!c.run, done: c.run?.done ?? Promise.resolve() };
}
