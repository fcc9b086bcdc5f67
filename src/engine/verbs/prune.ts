// docker container prune: every stopped container removed at once (moby's daemon/prune.go
// ContainersPrune): those that exited or were only created; none that runs, is paused or restarts.
// Its answer: {"ContainersDeleted": [ids], "SpaceReclaimed": bytes of their writable layers}.
import { readdirSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import { remove } from './remove.js';

export async function pruneContainers(
  engine: Engine,
  filters: Record<string, string[]> = {},
): Promise<{ ContainersDeleted: string[]; SpaceReclaimed: number }> {
  const unknown = Object.keys(filters).filter((k) => k !== 'until' && k !== 'label');
  if (unknown.length) throw new ApiError(400, `invalid filter '${unknown[0]}'`);
  if (filters.label?.length)
    throw new ApiError(400, "nsx's containers have no labels: the label filter matches nothing nsx keeps");
  const until = filters.until?.length ? untilTime(filters.until[0]) : undefined;
  const deleted: string[] = [];
  let reclaimed = 0;
  for (const c of engine.all()) {
    if (c.status !== 'exited' && c.status !== 'created') continue;
    if (c.run || c.restartTimer) continue; // a stepped container being built, or a restart coming
    if (until !== undefined && Date.parse(c.record.Created) >= until) continue;
    const dir = c.rootDir();
    const size = dir ? duBytes(dir) : 0;
    await remove(engine, c, false);
    deleted.push(c.id);
    reclaimed += size;
  }
  return { ContainersDeleted: deleted, SpaceReclaimed: reclaimed };
}

/** until=: a Unix time in seconds, an RFC 3339 time, or a duration before now ("10m", "24h"). */
function untilTime(text: string): number {
  const d = /^(\d+)(s|m|h)$/.exec(text);
  if (d) return Date.now() - Number(d[1]) * { s: 1e3, m: 60e3, h: 3600e3 }[d[2] as 's' | 'm' | 'h'];
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const t = Date.parse(text);
  if (Number.isNaN(t)) throw new ApiError(400, `invalid until filter: ${text}`);
  return t;
}

/** The bytes of the regular files under a directory (du's apparent size), not following links. */
export function duBytes(dir: string): number {
  let total = 0;
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        try {
          total += lstatSync(p).size;
        } catch {
          /* gone meanwhile */
        }
      }
    }
  };
  walk(dir);
  return total;
}
