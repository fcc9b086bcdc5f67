// Read-only views of the live kernel state that `nsx check` verifies lessons' tasks against. Generic:
// which processes exist, in which namespaces, with what hostname, uid map, limits... (proc(5)).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout, parseProcCgroup, type CgroupLayout } from '../runtime/cgroups/index.js';
import { NAMESPACE_KINDS, type NamespaceKind } from '../runtime/observe.js';

export interface ProcessInfo {
  pid: number;
  /** The command line, space-joined. */
  cmdline: string;
  comm: string;
  uid: number;
  ns: Partial<Record<NamespaceKind, string>>;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Whether pid runs: /proc/PID/stat exists and its state is not Z (proc(5): a zombie has exited and
 *  waits for its parent to reap it, which Node does asynchronously), so a killed child counts as
 *  gone at once. */
export function processRuns(pid: number): boolean {
  const stat = read(`/proc/${pid}/stat`);
  return stat !== '' && !/^\d+ \(.*\) Z /.test(stat);
}

let countSince: number | undefined;

/** From now on processes() lists only processes started at or after `ms` (epoch milliseconds), or
 *  every process again with undefined. nsx check sets it to when the lesson showed its task, so a
 *  check judges what the learner made, not whatever else runs on the machine. */
export function countOnlyStartedSince(ms: number | undefined): void {
  countSince = ms;
}

/** The time countOnlyStartedSince set (epoch milliseconds), or undefined when every process counts. */
export function countingSince(): number | undefined {
  return countSince;
}

let clockTicks: number | undefined;

/** When pid started, in epoch milliseconds: field 22 of /proc/PID/stat (starttime, in clock ticks
 *  since boot) plus btime of /proc/stat (the boot, in whole seconds), as proc(5) describes them;
 *  sysconf(_SC_CLK_TCK) from getconf(1). Undefined when the process is gone. */
export function startedAt(pid: number): number | undefined {
  if (!read(`/proc/${pid}/stat`)) return undefined;
  const btime = Number(/^btime (\d+)/m.exec(read('/proc/stat'))?.[1]);
  if (!btime) return undefined;
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100; // USER_HZ on every Linux architecture nsx supports (x86_64, aarch64)
    }
  }
  return btime * 1000 + (startTime(pid) * 1000) / clockTicks;
}

/** Whether pid counts as the learner's: it started at or after countOnlyStartedSince's time (or no
 *  time was set). A process that is gone does not count. */
export function startedSinceTask(pid: number): boolean {
  if (countSince === undefined) return read(`/proc/${pid}/stat`) !== '';
  return (startedAt(pid) ?? 0) >= countSince;
}

/** Whether the namespace bound at path (a bind mount of /proc/PID/ns/KIND, as ip-netns(8) makes
 *  under /run/netns) was made since countOnlyStartedSince's time. stat(2) on it reaches the nsfs
 *  inode, whose times the kernel sets when it makes that inode (fs/nsfs.c, on the first open of
 *  the namespace's /proc/PID/ns file); the bind mount then keeps it, so an older namespace shows
 *  an older time. Unreadable paths do not count. */
export function namespaceMadeSinceTask(path: string): boolean {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(path).mtimeMs;
  } catch {
    return false;
  }
  // The kernel stamps it with its coarse clock, up to a tick (at most 10 ms) behind the fine one.
  return countSince === undefined || mtimeMs >= countSince - 10;
}

/** The namespaces of this kind that a process started before countOnlyStartedSince's time is in:
 *  they were made before the task was shown, so they are not the learner's work even when a new
 *  process enters one (docker exec, a health check). Empty when no time was set. */
export function namespacesBeforeTask(kind: NamespaceKind): Set<string> {
  const out = new Set<string>();
  if (countSince === undefined) return out;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const at = startedAt(Number(d));
    if (at === undefined || at >= countSince) continue;
    try {
      out.add(readlinkSync(`/proc/${d}/ns/${kind}`));
    } catch {
      /* gone, or not ours to read */
    }
  }
  return out;
}

/** Every process whose details this user may read (started since countOnlyStartedSince's time,
 *  when it was set). */
export function processes(): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    if (countSince !== undefined && !startedSinceTask(pid)) continue;
    const ns: ProcessInfo['ns'] = {};
    for (const k of NAMESPACE_KINDS) {
      try {
        ns[k] = readlinkSync(`/proc/${pid}/ns/${k}`);
      } catch {
        /* gone, or not ours to read */
      }
    }
    const status = read(`/proc/${pid}/status`);
    if (!status) continue;
    out.push({
      pid,
      cmdline: read(`/proc/${pid}/cmdline`).split('\0').filter(Boolean).join(' '),
      comm: read(`/proc/${pid}/comm`).trim(),
      uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1),
      ns,
    });
  }
  return out;
}

/** The initial namespaces: those of PID 1 (when readable), else this process's. */
export function hostNamespaces(): Partial<Record<NamespaceKind, string>> {
  const out: Partial<Record<NamespaceKind, string>> = {};
  for (const k of NAMESPACE_KINDS) {
    for (const pid of ['1', 'self']) {
      try {
        out[k] = readlinkSync(`/proc/${pid}/ns/${k}`);
        break;
      } catch {
        /* try the next */
      }
    }
  }
  return out;
}

/** Processes in a namespace of this kind other than the host's. */
export function inNewNamespace(kind: NamespaceKind, procs = processes()): ProcessInfo[] {
  const host = hostNamespaces()[kind];
  return procs.filter((p) => p.ns[kind] && p.ns[kind] !== host);
}

/** What `hostname` says inside the UTS namespace of pid (needs root: nsenter). */
export function hostnameOf(pid: number): string | undefined {
  try {
    return execFileSync('nsenter', ['-t', String(pid), '-u', 'cat', '/proc/sys/kernel/hostname'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/** /proc/PID/uid_map as lines of [inside, outside, count]. */
export function uidMapOf(pid: number): number[][] {
  return read(`/proc/${pid}/uid_map`)
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/).map(Number));
}

/** The interfaces of pid's network namespace and whether each is up (needs root for others' namespaces). */
export function linksOf(pid: number): { name: string; up: boolean }[] {
  try {
    const out = execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', '-o', 'link'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ name: l.split(': ')[1].split('@')[0], up: /[<,]UP[,>]/.test(l) }));
  } catch {
    return [];
  }
}

/** A field of /proc/PID/status. */
export function statusField(pid: number, field: string): string | undefined {
  return new RegExp(`^${field}:\\s*(.*)$`, 'm').exec(read(`/proc/${pid}/status`))?.[1];
}

/** The directory of a process's cgroup that holds a controller's files, from its /proc/PID/cgroup
 *  lines (as read from the initial cgroup namespace) and the machine's layout: the v1 hierarchy
 *  that has the controller, else the unified v2 one (cgroups(7): a controller is in one only). */
export function cgroupDirFor(lines: string[], controller: string, layout: CgroupLayout): string | undefined {
  const entries = parseProcCgroup(lines.join('\n'));
  const v1 = layout.v1[controller];
  const entry =
    v1 !== undefined
      ? entries.find((e) => e.id !== 0 && e.controllers.includes(controller))
      : entries.find((e) => e.id === 0);
  const mount = v1 ?? layout.unified;
  return entry && mount !== undefined ? join(mount, entry.path) : undefined;
}

/** cgroupDirFor a live process. */
export function cgroupDirOf(
  pid: number,
  controller: string,
  layout: CgroupLayout = detectLayout(),
): string | undefined {
  return cgroupDirFor(read(`/proc/${pid}/cgroup`).split('\n').filter(Boolean), controller, layout);
}

/** Whether pid belongs to an nsx container: it, or one of its ancestors, runs nsx's shim (the
 *  supervisor stays the parent of the container's PID 1 after exec). Tasks ask for work done by
 *  hand, so checks leave these out. */
export function inNsxContainer(pid: number): boolean {
  for (let p = pid, hops = 0; p > 1 && hops < 64; hops++) {
    try {
      if (/\/nsx-shim( \(deleted\))?$/.test(readlinkSync(`/proc/${p}/exe`))) return true;
    } catch {
      /* a kernel thread, gone, or not ours to read */
    }
    const ppid = Number(statusField(p, 'PPid') ?? 0);
    if (!ppid || ppid === p) break;
    p = ppid;
  }
  return false;
}

/** NSpid: the process's PID in each PID namespace from the host's down to its own (proc(5)). */
export function nsPidsOf(pid: number): number[] {
  return (statusField(pid, 'NSpid') ?? '').split(/\s+/).filter(Boolean).map(Number);
}

/** One line of /proc/PID/mountinfo (proc(5)). */
export interface MountEntry {
  id: number;
  parent: number;
  /** major:minor of the filesystem's device. */
  dev: string;
  /** The directory of the filesystem that forms the root of this mount. */
  root: string;
  /** Where it is mounted, as the process sees it (relative to its root). */
  mountPoint: string;
  /** Optional fields: shared:N, master:N, propagate_from:N, unbindable. */
  optional: string[];
  fstype: string;
  source: string;
}

/** The mounts process pid can see: its mount namespace from its root (proc(5) leaves out mounts
 *  outside the process's root, so a chroot's view is not the whole namespace). */
export function mountInfo(pid: number | 'self'): MountEntry[] {
  return parseMountInfo(read(`/proc/${pid}/mountinfo`));
}

/** /proc/PID/mountinfo's lines (proc(5)); octal escapes (\040 for a space) decoded. */
export function parseMountInfo(text: string): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const [id, parent, dev, root, mountPoint, , ...optional] = line.slice(0, dash).split(' ');
    const [fstype, source] = line.slice(dash + 3).split(' ');
    const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    out.push({
      id: Number(id),
      parent: Number(parent),
      dev,
      root: unescape(root),
      mountPoint: unescape(mountPoint),
      optional,
      fstype,
      source: unescape(source),
    });
  }
  return out;
}

/** When the process started, in clock ticks after boot (proc(5): /proc/PID/stat, field 22). */
export function startTime(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? 0);
}

/** The newest process first: what a learner just started is the one a check should talk about. */
export function newestFirst<T extends { pid: number }>(procs: T[]): T[] {
  const at = new Map(procs.map((p) => [p.pid, startTime(p.pid)]));
  return [...procs].sort((a, b) => at.get(b.pid)! - at.get(a.pid)! || b.pid - a.pid);
}
