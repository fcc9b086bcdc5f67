// The cgroup filesystem's interface files, one function per file: each takes a cgroup directory
// and numbers already validated by the caller (container.ts), writes or reads the file the
// kernel documents, and turns a refusal into an NsxError that names the file, the errno and the
// likely cause. Sources: Documentation/admin-guide/cgroup-v2.rst (v2), cgroup-v1/memory.rst,
// cgroup-v1/pids.rst, scheduler/sched-bwc.rst (v1 CPU bandwidth), cgroups(7).
import { closeSync, constants as fsConstants, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { NsxError, errnoMessage, errnoNumber } from '../errors.js';

// ---------------------------------------------------------------------------------------------
// Reading, writing, and saying what went wrong

export function isErrno(err: unknown, code: string): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === code;
}

/** strerror texts for errnos this module meets that errors.ts does not spell out. */
const moreErrnoText: Record<string, string> = {
  ESRCH: 'No such process',
  ENOTEMPTY: 'Directory not empty',
  EOPNOTSUPP: 'Operation not supported',
};

/** "<syscall> <path>: <strerror>" with the errno and a hint, as every error in nsx reads. */
export function fsError(err: unknown, syscall: string, path: string, hint: string): NsxError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const errno = code ? errnoNumber(code) : undefined;
  if (code === undefined || errno === undefined) {
    const message = `${syscall} ${path}: ${(err as Error)?.message ?? String(err)}`;
    return new NsxError(message, { syscall, detail: path, hint });
  }
  const text = errnoMessage(errno);
  const message = `${syscall} ${path}: ${text === code ? (moreErrnoText[code] ?? code) : text}`;
  return new NsxError(message, { syscall, errno, detail: path, hint });
}

/** A file's text, or undefined when it is not there (a controller not enabled in this cgroup). */
export function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
}

function exists(path: string): boolean {
  try {
    closeSync(openSync(path, 'r'));
    return true;
  } catch {
    return false;
  }
}

/**
 * Write one value with one write(2): cgroup files parse each write on its own (cgroup-v2.rst
 * "Format"). Opened without O_CREAT: cgroupfs cannot create files, so a missing interface file
 * means the controller is not enabled here — ENOENT says that, where O_CREAT would say EACCES.
 */
function writeKernelFile(path: string, value: string, hint: (code: string | undefined) => string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, fsConstants.O_WRONLY | fsConstants.O_TRUNC);
    writeSync(fd, value);
  } catch (err) {
    throw fsError(err, 'write', path, hint((err as NodeJS.ErrnoException).code));
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function notEnabledHint(controller: string, dir: string, version: 1 | 2): string {
  return version === 2
    ? `the ${controller} controller is not enabled for ${dir}: "+${controller}" must be in its parent's ` +
        `cgroup.subtree_control, which needs "${controller}" in the parent's cgroup.controllers`
    : `the ${controller} controller is not mounted at this hierarchy (grep cgroup /proc/self/mountinfo)`;
}

/** The causes any cgroup file shares: not root, or a read-only cgroupfs. */
export function genericHint(code: string | undefined, path: string): string | undefined {
  if (code === 'EACCES' || code === 'EPERM') return `only root may change ${path}; run nsx with sudo`;
  if (code === 'EROFS') {
    return '/sys/fs/cgroup is mounted read-only (typical inside a container); run nsx on the host or VM';
  }
  return undefined;
}

/** A plain number, or 'max' for "no limit". v1 spells no-limit as a huge page-aligned number. */
function parseLimit(text: string | undefined): number | 'max' | undefined {
  if (text === undefined) return undefined;
  const t = text.trim();
  if (t === 'max' || t === '-1') return 'max';
  const n = Number(t);
  if (!Number.isFinite(n)) return undefined;
  // v1 memory.limit_in_bytes reads 9223372036854771712 (LONG_MAX rounded to a page) when unset;
  // no real limit is above 2^53 bytes (8 PiB), so anything that large means "unlimited".
  return n > Number.MAX_SAFE_INTEGER ? 'max' : n;
}

function parseCount(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** Flat keyed files: "oom_kill 3" lines in memory.events (v2) and memory.oom_control (v1). */
function keyedValue(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key) return parseCount(v);
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Core files: controllers, processes

/** cgroup-v2.rst "Enabling and Disabling": cgroup.controllers lists what this cgroup may use. */
export function readControllers(dir: string): string[] {
  const text = readOptional(join(dir, 'cgroup.controllers'));
  return text === undefined ? [] : text.split(/\s+/).filter(Boolean);
}

/**
 * cgroup-v2.rst "Enabling and Disabling": cgroup.subtree_control lists the controllers enabled for
 * the children ("memory pids"; a test's fake tree may hold what was written, "+memory +pids").
 */
export function readSubtreeControl(dir: string): string[] {
  const text = readOptional(join(dir, 'cgroup.subtree_control')) ?? '';
  return text
    .split(/\s+/)
    .filter(Boolean)
    .map((t) => t.replace(/^\+/, ''));
}

/**
 * cgroup-v2.rst "Enabling and Disabling" / "Top-down Constraint": a child only gets a
 * controller's files if its parent lists "+<controller>" in cgroup.subtree_control, and a parent
 * can only enable what its own cgroup.controllers lists. So <root> enables them for <root>/nsx,
 * and <root>/nsx for <root>/nsx/<id>.
 * "No Internal Process Constraint" (cgroups(7) "Cgroups v2 'no internal processes' rule"): a
 * non-root cgroup with processes cannot enable controllers for children (EBUSY). The root is
 * exempt, and nsx/ never holds processes itself — only its children do.
 */
export function enableControllers(dir: string, controllers: string[]): void {
  if (controllers.length === 0) return;
  const enabled = readSubtreeControl(dir);
  const wanted = controllers.filter((c) => !enabled.includes(c));
  if (wanted.length === 0) return;
  const file = join(dir, 'cgroup.subtree_control');
  writeKernelFile(file, wanted.map((c) => '+' + c).join(' '), (code) => {
    if (code === 'ENOENT') {
      const available = readControllers(dir);
      const missing = wanted.filter((c) => !available.includes(c));
      return (
        `${missing.join(', ') || wanted.join(', ')} not listed in ${join(dir, 'cgroup.controllers')}, ` +
        "so it cannot be enabled for children; enable it in the parent's cgroup.subtree_control first"
      );
    }
    if (code === 'EBUSY') {
      return (
        `${dir} has processes in it (cat ${join(dir, 'cgroup.procs')}), and cgroup v2's "no internal processes" ` +
        'rule forbids enabling controllers for children then; move them into a leaf cgroup ' +
        `(e.g. ${join(dir, 'init')}) first, as Docker-in-Docker entrypoints do`
      );
    }
    if (code === 'EINVAL' && wanted.includes('cpu')) {
      return (
        'the cpu controller can only be enabled while every realtime (SCHED_FIFO/RR) process is in the root ' +
        'cgroup (cgroup-v2.rst "CPU"); check with ps -eo pid,cls,comm | grep -E "FF|RR"'
      );
    }
    return genericHint(code, file) ?? 'write "+<controller>" names listed in cgroup.controllers';
  });
}

/**
 * cgroups(7) "Creating cgroups and moving processes": writing a PID to cgroup.procs moves the
 * whole process (all its threads) there; children forked afterwards start in it.
 */
export function writeProcs(dir: string, pid: number): void {
  const file = join(dir, 'cgroup.procs');
  writeKernelFile(file, String(pid), (code) => {
    if (code === 'ESRCH') return `process ${pid} no longer exists (it exited before it could be moved)`;
    if (code === 'EBUSY') {
      return (
        `${dir} has controllers enabled in its cgroup.subtree_control; cgroup v2's "no internal processes" ` +
        'rule allows processes only in leaf cgroups'
      );
    }
    if (code === 'EINVAL') {
      return (
        `the kernel refused to move ${pid}: a realtime (SCHED_FIFO/RR) process cannot join a cgroup whose ` +
        'cpu controller gives it no realtime budget'
      );
    }
    if (code === 'ENOENT') return `${dir} is gone (was the container's cgroup removed?)`;
    return genericHint(code, file) ?? 'see cgroups(7)';
  });
}

// ---------------------------------------------------------------------------------------------
// memory

/**
 * Memory, v2 (cgroup-v2.rst "Memory Interface Files"): memory.max is the hard limit; over it the
 * kernel reclaims and then OOM-kills inside the cgroup.
 * memory.swap.max = 0 when the file exists: otherwise a memory hog is not killed but pushed to
 * swap and crawls on, which hides the lesson. (Docker instead allows swap = 2x memory by default.)
 */
export function setMemoryV2(dir: string, bytes: number): void {
  writeKernelFile(join(dir, 'memory.max'), String(bytes), (code) => memoryHint(code, dir, 2));
  const swap = join(dir, 'memory.swap.max');
  if (exists(swap)) writeKernelFile(swap, '0', (code) => memoryHint(code, dir, 2));
}

/**
 * Memory, v1 (cgroup-v1/memory.rst): memory.limit_in_bytes limits RAM; memory.memsw.limit_in_bytes
 * limits RAM+swap and exists only with swap accounting. Setting memsw to the same value means
 * "no swap", like memory.swap.max = 0 on v2. Order matters: the kernel requires
 * memsw >= memory at every moment, so when lowering from unlimited, memory goes first.
 */
export function setMemoryV1(dir: string, bytes: number): void {
  writeKernelFile(join(dir, 'memory.limit_in_bytes'), String(bytes), (code) => memoryHint(code, dir, 1));
  const memsw = join(dir, 'memory.memsw.limit_in_bytes');
  if (exists(memsw)) writeKernelFile(memsw, String(bytes), (code) => memoryHint(code, dir, 1));
}

/**
 * A new memory limit for a v1 cgroup that has one (docker update). The kernel keeps memsw >=
 * memory at every write (cgroup-v1/memory.rst), so a higher limit raises memsw first and a lower
 * one lowers memory first; both end at the same value (no swap, as setMemoryV1).
 */
export function updateMemoryV1(dir: string, bytes: number): void {
  const memsw = join(dir, 'memory.memsw.limit_in_bytes');
  const current = parseLimit(readOptional(join(dir, 'memory.limit_in_bytes')));
  if (!exists(memsw) || current === 'max' || current === undefined || bytes <= current) return setMemoryV1(dir, bytes);
  writeKernelFile(memsw, String(bytes), (code) => memoryHint(code, dir, 1));
  writeKernelFile(join(dir, 'memory.limit_in_bytes'), String(bytes), (code) => memoryHint(code, dir, 1));
}

function memoryHint(code: string | undefined, dir: string, version: 1 | 2): string {
  if (code === 'ENOENT') return notEnabledHint('memory', dir, version);
  if (code === 'EBUSY') {
    return (
      'the cgroup already uses more memory than the new limit and the kernel could not reclaim enough; ' +
      'set a larger limit, or set it before adding processes'
    );
  }
  if (code === 'EINVAL') {
    return version === 1
      ? 'not a valid byte count, or memory.limit_in_bytes would exceed memory.memsw.limit_in_bytes ' +
          '(memsw must stay >= memory: raise memsw first, lower memory first)'
      : 'not a valid byte count (a number, or "max")';
  }
  return genericHint(code, dir) ?? 'see cgroups(7)';
}

export interface MemoryCounters {
  limit?: number | 'max';
  current?: number;
  oomKills?: number;
}

/**
 * v2 (cgroup-v2.rst "Memory Interface Files"): memory.max, memory.current, and memory.events'
 * "oom_kill N" — processes killed by the OOM killer in this cgroup (and below).
 */
export function readMemoryV2(dir: string): MemoryCounters {
  return {
    limit: parseLimit(readOptional(join(dir, 'memory.max'))),
    current: parseCount(readOptional(join(dir, 'memory.current'))),
    oomKills: keyedValue(readOptional(join(dir, 'memory.events')), 'oom_kill'),
  };
}

/**
 * v1 (cgroup-v1/memory.rst): memory.limit_in_bytes, memory.usage_in_bytes, and
 * memory.oom_control, which has an "oom_kill N" line since Linux 4.13.
 */
export function readMemoryV1(dir: string): MemoryCounters {
  return {
    limit: parseLimit(readOptional(join(dir, 'memory.limit_in_bytes'))),
    current: parseCount(readOptional(join(dir, 'memory.usage_in_bytes'))),
    oomKills: keyedValue(readOptional(join(dir, 'memory.oom_control')), 'oom_kill'),
  };
}

// ---------------------------------------------------------------------------------------------
// pids

/**
 * pids (cgroup-v2.rst "PID Interface Files"; the same file in cgroup-v1/pids.rst): once the cgroup
 * holds pids.max tasks, fork(2) and clone(2) fail with EAGAIN.
 */
export function setPidsMax(dir: string, max: number | 'max', version: 1 | 2): void {
  writeKernelFile(join(dir, 'pids.max'), String(max), (code) =>
    code === 'ENOENT'
      ? notEnabledHint('pids', dir, version)
      : code === 'EINVAL'
        ? 'pids.max takes a whole number or "max"'
        : (genericHint(code, dir) ?? 'see cgroups(7)'),
  );
}

/** pids.max and pids.current, the tasks in the cgroup now (cgroup-v2.rst "PID Interface Files"). */
export function readPids(dir: string): { max?: number | 'max'; current?: number } {
  return {
    max: parseLimit(readOptional(join(dir, 'pids.max'))),
    current: parseCount(readOptional(join(dir, 'pids.current'))),
  };
}

// ---------------------------------------------------------------------------------------------
// cpu

/**
 * CPU, v2 (cgroup-v2.rst "CPU Interface Files"): cpu.max = "$MAX $PERIOD" — the group may run
 * $MAX microseconds per $PERIOD, across all CPUs (so 150000 100000 = 1.5 CPUs).
 */
export function setCpuV2(dir: string, quotaUs: number, periodUs: number): void {
  writeKernelFile(join(dir, 'cpu.max'), `${quotaUs} ${periodUs}`, (code) => cpuHint(code, dir, 2));
}

/**
 * CPU, v1 (scheduler/sched-bwc.rst): the same bandwidth control as two files. The period goes
 * first so the quota is checked against the period we mean, not whatever was there.
 */
export function setCpuV1(dir: string, quotaUs: number, periodUs: number): void {
  writeKernelFile(join(dir, 'cpu.cfs_period_us'), String(periodUs), (code) => cpuHint(code, dir, 1));
  writeKernelFile(join(dir, 'cpu.cfs_quota_us'), String(quotaUs), (code) => cpuHint(code, dir, 1));
}

function cpuHint(code: string | undefined, dir: string, version: 1 | 2): string {
  if (code === 'ENOENT') {
    const bandwidth = version === 1 ? '; CFS bandwidth control needs CONFIG_CFS_BANDWIDTH' : '';
    return notEnabledHint('cpu', dir, version) + bandwidth;
  }
  if (code === 'EINVAL') {
    return (
      "the quota must be at least 1000µs (1ms) per period, and no larger than an enclosing cgroup's quota " + 'allows'
    );
  }
  return genericHint(code, dir) ?? 'see cgroups(7)';
}

/** The bandwidth limit in force: cpu.max on v2; cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us on v1. */
export function readCpu(dir: string, version: 1 | 2): { quotaUs?: number | 'max'; periodUs?: number } {
  if (version === 2) {
    const [quota, period] = (readOptional(join(dir, 'cpu.max')) ?? '').trim().split(/\s+/);
    return { quotaUs: parseLimit(quota || undefined), periodUs: parseCount(period || undefined) };
  }
  return {
    quotaUs: parseLimit(readOptional(join(dir, 'cpu.cfs_quota_us'))),
    periodUs: parseCount(readOptional(join(dir, 'cpu.cfs_period_us'))),
  };
}

// ---------------------------------------------------------------------------------------------
// freezer

/**
 * v1 (cgroup-v1/freezer-subsystem.rst): writing FROZEN to freezer.state stops every task of the
 * cgroup (they cannot run, nor handle signals, until THAWED); reading it says THAWED, FREEZING (not
 * all frozen yet) or FROZEN. Unlike SIGSTOP and SIGCONT, which the tasks can observe (the doc's
 * reason for the freezer), freezing is invisible to them.
 */
export function setFreezerStateV1(dir: string, state: 'FROZEN' | 'THAWED'): void {
  writeKernelFile(join(dir, 'freezer.state'), state, (code) =>
    code === 'ENOENT'
      ? notEnabledHint('freezer', dir, 1)
      : (genericHint(code, dir) ?? 'see cgroup-v1/freezer-subsystem.rst'),
  );
}

export function readFreezerStateV1(dir: string): string | undefined {
  return readOptional(join(dir, 'freezer.state'))?.trim();
}

/**
 * v2 (cgroup-v2.rst "Core Interface Files"): cgroup.freeze 1 freezes the cgroup and its
 * descendants, 0 thaws; cgroup.events' "frozen 1" says when every task is frozen. A frozen task
 * still dies of SIGKILL in v2 (the v1 freezer holds even that until THAWED).
 */
export function setFreezeV2(dir: string, frozen: boolean): void {
  writeKernelFile(join(dir, 'cgroup.freeze'), frozen ? '1' : '0', (code) =>
    code === 'ENOENT'
      ? `${dir} has no cgroup.freeze: the cgroup v2 freezer needs Linux 5.2`
      : (genericHint(code, dir) ?? 'see cgroup-v2.rst "Core Interface Files"'),
  );
}

export function readFrozenV2(dir: string): boolean | undefined {
  const v = keyedValue(readOptional(join(dir, 'cgroup.events')), 'frozen');
  return v === undefined ? undefined : v === 1;
}
