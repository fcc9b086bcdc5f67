// Stops the suite's engine (test/global-setup.ts): SIGTERM, so it stops what containers it still
// has and removes its socket; SIGKILL if it lingers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export default async function globalTeardown(): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(join(new URL('.', import.meta.url).pathname, '.work', 'engine', 'suite.pid'), 'utf8'));
  } catch {
    return; // not started (not root)
  }
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive()) process.kill(pid, 'SIGKILL');
}
