// The cgroups lesson's task, checked against the live cgroup filesystems: a cgroup named
// `mylimits` that the learner made (not one of nsx's), with a pids or memory limit written in it and
// at least one process of the learner's in it (one started since the task was shown, kernel.ts
// startedSinceTask: a service or another container in a cgroup of that name does not count). The hierarchies are read from the machine's layout (v1, v2 or
// hybrid), never assumed (cgroups(7)).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { countingSince, startedSinceTask } from '../../src/learn/kernel.js';
import type { CheckResult } from '../../src/learn/lesson.js';
import { detectLayout, type CgroupLayout } from '../../src/runtime/cgroups/index.js';

export const TASK_CGROUP = 'mylimits';

/** Deeper than this under a hierarchy's root, nobody makes a cgroup for this task. */
const MAX_DEPTH = 4;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Every directory named name under root (depth-first, nsx's own cgroups left out). */
function findNamed(root: string, name: string, depth = 0): string[] {
  if (depth >= MAX_DEPTH) return [];
  let entries;
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || (depth === 0 && e.name === 'nsx')) continue;
    const dir = join(root, e.name);
    if (e.name === name) out.push(dir);
    out.push(...findNamed(dir, name, depth + 1));
  }
  return out;
}

/** The mount points of the hierarchies that can hold a pids or memory limit, v1 ones and the v2 one. */
function hierarchies(layout: CgroupLayout): string[] {
  const mounts = new Set<string>();
  for (const c of ['pids', 'memory']) if (layout.v1[c]) mounts.add(layout.v1[c]);
  if (layout.unified) mounts.add(layout.unified);
  return [...mounts];
}

/** v1 reads "no limit" as a huge page-rounded number; v2 as "max". */
function isLimit(text: string | undefined): boolean {
  if (text === undefined || text === 'max' || text === '-1') return false;
  const n = Number(text);
  return Number.isFinite(n) && n <= Number.MAX_SAFE_INTEGER;
}

/** The limits set in a cgroup directory, in words ("at most 5 processes"). */
function limitsIn(dir: string): string[] {
  const out: string[] = [];
  const pids = read(join(dir, 'pids.max'));
  if (isLimit(pids)) out.push(`at most ${pids} processes (pids.max)`);
  for (const file of ['memory.max', 'memory.limit_in_bytes']) {
    const mem = read(join(dir, file));
    if (isLimit(mem)) out.push(`at most ${Math.round(Number(mem) / 1024 / 1024)} MiB of memory (${file})`);
  }
  return out;
}

function comm(pid: string): string {
  return read(`/proc/${pid}/comm`) ?? '?';
}

export async function checkTask(layout: CgroupLayout = detectLayout()): Promise<CheckResult> {
  const roots = hierarchies(layout);
  const found = roots.flatMap((r) => findNamed(r, TASK_CGROUP));
  if (found.length === 0) {
    return { ok: false, message: `No cgroup named ${TASK_CGROUP} yet (looked under ${roots.join(', ')}).` };
  }
  let best: CheckResult | undefined;
  for (const dir of found) {
    const limits = limitsIn(dir);
    const all = (read(join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean);
    const procs = all.filter((pid) => startedSinceTask(Number(pid)));
    if (limits.length && procs.length) {
      return {
        ok: true,
        message: `${dir} allows ${limits.join(' and ')}, and process ${procs[0]} (${comm(procs[0])}) is in it.`,
      };
    }
    const since = countingSince();
    const older = since === undefined ? [] : all.filter((pid) => existsSync(`/proc/${pid}`));
    if (limits.length && older.length) {
      best = {
        ok: false,
        message: `${dir} allows ${limits.join(' and ')}, but the only processes in it, ${older.map((p) => `${p} (${comm(p)})`).join(', ')}, started before the task was shown (${new Date(since!).toLocaleTimeString()}), so they may not be yours: start a new one (a new sh will do) and move that one in.`,
      };
    } else if (limits.length)
      best = { ok: false, message: `${dir} allows ${limits.join(' and ')}, but no process is in it yet.` };
    else {
      const hasFiles =
        read(join(dir, 'pids.max')) !== undefined ||
        read(join(dir, 'memory.max')) !== undefined ||
        read(join(dir, 'memory.limit_in_bytes')) !== undefined;
      best ??= hasFiles
        ? { ok: false, message: `${dir} exists, but no pids or memory limit is written in it yet.` }
        : {
            ok: false,
            message: `${dir} exists, but it has no pids or memory files: those controllers are not enabled in that hierarchy.`,
          };
    }
  }
  return best!;
}
