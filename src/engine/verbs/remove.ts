// docker rm [-f]: a running (or restarting) container only with force, killed first; then everything
// the engine had of it goes at once (EngineContainer.dispose).
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { refusal } from '../lifecycle.js';
import { thawAfterSignal } from './pause.js';
import { cancelRestart } from './stop.js';

export async function remove(engine: Engine, c: EngineContainer, force: boolean): Promise<void> {
  if (!c.canRemove(force))
    throw c.restartTimer
      ? refusal.removeRestarting(c.id)
      : c.status === 'paused'
        ? refusal.removePaused(c.id)
        : refusal.removeRunning(c.id);
  if (c.hostMounts) throw refusal.copying(c.id, 'remove');
  cancelRestart(c);
  const run = c.run;
  if (run) {
    c.record.ManuallyStopped = true;
    run.container.signal(9);
    thawAfterSignal(engine, c);
    await run.done;
  }
  if (engine.has(c.id)) engine.forget(c);
}
