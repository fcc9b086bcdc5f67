// docker restart: stop (SIGTERM, SIGKILL after t seconds), then start, as one verb (moby's
// daemon/restart.go). A --rm container is not removed by the stop in between, as docker keeps it.
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { start } from './start.js';
import { stop } from './stop.js';

export async function restart(engine: Engine, c: EngineContainer, t = 10): Promise<void> {
  const h = c.record.HostConfig;
  const autoRemove = h.AutoRemove;
  if (c.run || c.restartTimer) {
    h.AutoRemove = false;
    try {
      await stop(engine, c, t);
    } finally {
      if (autoRemove !== undefined) h.AutoRemove = autoRemove;
      else delete h.AutoRemove;
    }
  }
  await start(engine, c);
  engine.event(c, 'restart');
}
