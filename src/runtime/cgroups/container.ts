// A container's cgroup: <hierarchy root>/nsx/<id> in every hierarchy that holds a controller nsx
// uses (layout.ts says which). Created with the limits written (create), joined by the container's
// first process (addProcess), found again by a later nsx (open, e.g. for exec or stats), read
// (facts: limits in force, usage, OOM kills) and removed (remove); leftovers of a killed nsx are
// swept by removeStaleCgroups. The limits are checked first (limits.ts), and nothing is created
// for a limit the machine cannot enforce.
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NsxError, errnoMessage, errnoNumber } from '../errors.js';
import {
  enableControllers,
  fsError,
  genericHint,
  isErrno,
  readCpu,
  readMemoryV1,
  readMemoryV2,
  readOptional,
  readFreezerStateV1,
  readFrozenV2,
  readPids,
  setCpuV1,
  setCpuV2,
  setMemoryV1,
  setMemoryV2,
  setFreezeV2,
  setFreezerStateV1,
  setPidsMax,
  updateMemoryV1,
  writeProcs,
  type MemoryCounters,
} from './files.js';
import {
  NSX_CONTROLLERS,
  missingControllerError,
  placeController,
  type CgroupLayout,
  type NsxController,
  type Placement,
} from './layout.js';
import { checkLimits, type CgroupLimits, type CheckedLimits } from './limits.js';

export type { CgroupLimits } from './limits.js';

export interface CgroupFacts {
  paths: string[];
  memoryLimit?: number | 'max';
  pidsMax?: number | 'max';
  cpuQuotaUs?: number | 'max';
  cpuPeriodUs?: number;
  memoryCurrent?: number;
  pidsCurrent?: number;
  oomKills?: number;
}

/**
 * How a cgroup directory is made and removed. On cgroupfs, mkdir(2) and rmdir(2) are the whole
 * story: the kernel fills a new cgroup with its interface files, and rmdir takes them with it,
 * failing EBUSY while the cgroup has child cgroups or processes (cgroups(7)). A test that runs on
 * a tree of plain directories passes a stand-in that does the kernel's part (test/fake-cgroups.ts).
 * Both throw Node's errno errors (err.code), as mkdirSync/rmdirSync do.
 */
export interface CgroupDirs {
  mkdir(dir: string): void;
  rmdir(dir: string): void;
}

const kernelDirs: CgroupDirs = { mkdir: (dir) => mkdirSync(dir), rmdir: (dir) => rmdirSync(dir) };

export interface CgroupFsOptions {
  /** Prefix for every path touched (default '/'); tests pass a temp dir that mimics the tree. */
  fsRoot?: string;
  /** mkdir/rmdir of cgroups; default: the real ones, for cgroupfs. */
  dirs?: CgroupDirs;
}

/** Directory under each hierarchy root that holds nsx's container cgroups. */
const NSX_DIR = 'nsx';

// ---------------------------------------------------------------------------------------------
// Directories: creating and removing cgroups

/**
 * cgroups(7) "Creating cgroups and moving processes": a cgroup is made with mkdir(2), and the
 * kernel fills it with interface files. Returns false if it already existed.
 */
function makeCgroupDir(dir: string, dirs: CgroupDirs): boolean {
  try {
    dirs.mkdir(dir);
  } catch (err) {
    if (isErrno(err, 'EEXIST')) return false;
    const hint =
      genericHint((err as NodeJS.ErrnoException).code, dir) ??
      'check that the cgroup filesystem is mounted there (grep cgroup /proc/self/mountinfo)';
    throw fsError(err, 'mkdir', dir, hint);
  }
  return true;
}

/**
 * rmdir the nsx parent if nothing else is in it; cgroups(7) "Removing cgroups": a cgroup with
 * child cgroups is busy, and a busy parent is fine — other containers' cgroups are in it.
 */
function removeParentIfEmpty(dir: string, dirs: CgroupDirs): void {
  try {
    dirs.rmdir(dir);
  } catch {
    // ENOENT, EBUSY (other containers' cgroups), ENOTEMPTY: leave it.
  }
}

/** Container ids become directory names: keep them to one safe path component. */
function checkId(id: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(id)) {
    throw new NsxError(`cgroup name ${JSON.stringify(id)}: not a valid container id`, {
      detail: id,
      hint: 'use letters, digits, "_", "." and "-" (starting with a letter or digit), at most 128 characters',
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The container's cgroup

interface Hierarchy {
  /** Absolute directory of the container's cgroup (fsRoot included). */
  dir: string;
  /** Absolute directory of the nsx parent. */
  parent: string;
  version: 1 | 2;
}

type ControllerDirs = Map<NsxController, { dir: string; version: 1 | 2 }>;

export class ContainerCgroup {
  /** Absolute dirs of the container's cgroup, one per hierarchy (v1 controller mounts, then the unified one). */
  readonly paths: string[];
  readonly id: string;
  private readonly hierarchies: Hierarchy[];
  /** Which directory (and interface version) each controller's files are in. */
  private readonly controllerDirs: ControllerDirs;
  private readonly dirs: CgroupDirs;

  /** The container's cgroup in v1's devices hierarchy (devices.allow/deny), and its cgroup2
   *  directory (where a device eBPF program attaches), where there are such hierarchies. */
  readonly devicesDir?: string;
  readonly unifiedDir?: string;
  /** Its cgroup in v1's freezer hierarchy (freezer.state), where there is one. */
  readonly freezerDir?: string;

  private constructor(
    id: string,
    hierarchies: Hierarchy[],
    controllerDirs: ControllerDirs,
    dirs: CgroupDirs,
    special: { devices?: string; unified?: string; freezer?: string } = {},
  ) {
    this.devicesDir = special.devices;
    this.freezerDir = special.freezer;
    this.unifiedDir = special.unified;
    this.id = id;
    this.hierarchies = hierarchies;
    this.paths = hierarchies.map((h) => h.dir);
    this.controllerDirs = controllerDirs;
    this.dirs = dirs;
  }

  /** Work out the directories for <root>/nsx/<id> in every hierarchy, without touching them. */
  private static plan(layout: CgroupLayout, id: string, required: Set<NsxController>, opts: CgroupFsOptions) {
    checkId(id);
    const fsRoot = opts.fsRoot ?? '/';
    const placements: Placement[] = [];
    for (const c of NSX_CONTROLLERS) {
      const p = placeController(layout, c);
      if (p) placements.push(p);
      else if (required.has(c)) throw missingControllerError(layout, c);
    }
    const hierarchies: Hierarchy[] = [];
    const controllerDirs: ControllerDirs = new Map();
    const add = (mount: string, version: 1 | 2): Hierarchy => {
      const parent = join(fsRoot, mount, NSX_DIR);
      let h = hierarchies.find((x) => x.parent === parent);
      if (!h) hierarchies.push((h = { dir: join(parent, id), parent, version }));
      return h;
    };
    // v1 hierarchies first (co-mounted controllers such as cpu,cpuacct share one), then the
    // unified one — in hybrid too, so the process also has its own v2 cgroup (cgroups(7):
    // every process is in exactly one cgroup of each hierarchy).
    for (const p of placements.filter((x) => x.version === 1)) {
      controllerDirs.set(p.controller, { dir: add(p.mount, 1).dir, version: 1 });
    }
    // v1's devices controller, wherever it is mounted (hybrid too, as runc does): the devices step
    // writes its rules there; a process of the container (docker exec's too) joins it with the rest.
    const devices = layout.v1.devices !== undefined ? add(layout.v1.devices, 1).dir : undefined;
    // v1's freezer the same way (docker pause, as runc's v1 freezer): the container's processes join
    // it at the cgroup step, so freezer.state freezes them all; without it, cgroup2's cgroup.freeze.
    const freezer = layout.v1.freezer !== undefined ? add(layout.v1.freezer, 1).dir : undefined;
    if (layout.unified !== undefined) {
      const h = add(layout.unified, 2);
      for (const p of placements.filter((x) => x.version === 2)) {
        controllerDirs.set(p.controller, { dir: h.dir, version: 2 });
      }
    }
    const v2Controllers = placements.filter((p) => p.version === 2).map((p) => p.controller);
    const unified = hierarchies.find((h) => h.version === 2)?.dir;
    return { hierarchies, controllerDirs, v2Controllers, special: { devices, unified, freezer } };
  }

  /**
   * Creates <root>/nsx/<id> in every hierarchy the limits need (v2: one dir under the unified
   * root; v1: memory, pids, cpu (+cpuacct if co-mounted) hierarchies; hybrid: the v1 controllers,
   * plus the unified dir so the process has a v2 cgroup too) and writes the limits. Controllers
   * needed but missing → NsxError. With no limits still creates the dirs (memory+pids+cpu where
   * available) so stats work. 0 means "no limit" (as in Docker), and so does pidsMax -1.
   */
  static create(layout: CgroupLayout, id: string, limits: CgroupLimits, opts: CgroupFsOptions = {}): ContainerCgroup {
    const checked = checkLimits(limits);
    const required = new Set<NsxController>();
    if (checked.memoryBytes !== undefined) required.add('memory');
    if (checked.pidsMax !== undefined) required.add('pids');
    if (checked.cpu !== undefined) required.add('cpu');
    const { hierarchies, controllerDirs, v2Controllers, special } = ContainerCgroup.plan(layout, id, required, opts);
    const dirs = opts.dirs ?? kernelDirs;
    const cg = new ContainerCgroup(id, hierarchies, controllerDirs, dirs, special);

    const created: string[] = [];
    try {
      for (const h of hierarchies) {
        let made: boolean | undefined;
        // Another nsx may remove an empty nsx/ parent between our two mkdirs (its remove());
        // then the second mkdir fails ENOENT and we simply make the parent again.
        for (let attempt = 1; made === undefined; attempt++) {
          if (h.version === 2) enableControllers(join(h.parent, '..'), v2Controllers);
          if (makeCgroupDir(h.parent, dirs)) created.push(h.parent);
          if (h.version === 2) enableControllers(h.parent, v2Controllers);
          try {
            made = makeCgroupDir(h.dir, dirs);
          } catch (err) {
            if (!(err instanceof NsxError && err.info.errno === errnoNumber('ENOENT') && attempt < 3)) throw err;
          }
        }
        if (!made) {
          throw new NsxError(`mkdir ${h.dir}: ${errnoMessage(errnoNumber('EEXIST')!)}`, {
            syscall: 'mkdir',
            errno: errnoNumber('EEXIST'),
            detail: h.dir,
            hint:
              `a container with id ${id} is running, or a killed nsx left its cgroup behind; ` +
              `nsx removes empty leftovers at start-up, or rmdir ${h.dir} yourself`,
          });
        }
        created.push(h.dir);
      }
      cg.writeLimits(checked);
    } catch (err) {
      // Leave nothing half-made behind: the dirs are fresh, so they are empty and rmdir works.
      for (const dir of created.reverse()) {
        try {
          dirs.rmdir(dir);
        } catch {
          // best effort
        }
      }
      throw err;
    }
    return cg;
  }

  /** Attach to the cgroup of a container created earlier (e.g. by another nsx process) to read facts or remove it. */
  static open(layout: CgroupLayout, id: string, opts: CgroupFsOptions = {}): ContainerCgroup {
    const { hierarchies, controllerDirs, special } = ContainerCgroup.plan(layout, id, new Set(), opts);
    return new ContainerCgroup(id, hierarchies, controllerDirs, opts.dirs ?? kernelDirs, special);
  }

  private writeLimits(l: CheckedLimits): void {
    const mem = this.controllerDirs.get('memory');
    if (l.memoryBytes !== undefined && mem) (mem.version === 2 ? setMemoryV2 : setMemoryV1)(mem.dir, l.memoryBytes);
    const pids = this.controllerDirs.get('pids');
    if (l.pidsMax !== undefined && pids) setPidsMax(pids.dir, l.pidsMax, pids.version);
    const cpu = this.controllerDirs.get('cpu');
    if (l.cpu !== undefined && cpu) (cpu.version === 2 ? setCpuV2 : setCpuV1)(cpu.dir, l.cpu.quotaUs, l.cpu.periodUs);
  }

  /**
   * Limits changed while the container runs (docker update): only those given, written to the live
   * cgroup. Memory keeps nsx's no-swap rule (memsw = memory on v1, memory.swap.max = 0 on v2).
   */
  update(limits: CgroupLimits & { pidsUnlimited?: boolean }): void {
    const checked = checkLimits(limits);
    const mem = this.controllerDirs.get('memory');
    const pids = this.controllerDirs.get('pids');
    const cpu = this.controllerDirs.get('cpu');
    const need = (c: NsxController, present: unknown) => {
      if (!present)
        throw new NsxError(`${c} limit: the container's cgroup has no ${c} controller`, {
          detail: c,
          hint: `the ${c} controller was not available when the container started (grep cgroup /proc/self/mountinfo)`,
        });
    };
    if (checked.memoryBytes !== undefined) need('memory', mem);
    if (checked.pidsMax !== undefined || limits.pidsUnlimited) need('pids', pids);
    if (checked.cpu !== undefined) need('cpu', cpu);
    if (checked.memoryBytes !== undefined && mem)
      (mem.version === 2 ? setMemoryV2 : updateMemoryV1)(mem.dir, checked.memoryBytes);
    if (pids && (checked.pidsMax !== undefined || limits.pidsUnlimited))
      setPidsMax(pids.dir, checked.pidsMax ?? 'max', pids.version);
    if (checked.cpu !== undefined && cpu)
      (cpu.version === 2 ? setCpuV2 : setCpuV1)(cpu.dir, checked.cpu.quotaUs, checked.cpu.periodUs);
  }

  /**
   * docker pause: every process of the container stopped by the freezer (v1 freezer.state FROZEN,
   * cgroup-v1/freezer-subsystem.rst; v2 cgroup.freeze 1, cgroup-v2.rst "Core Interface Files").
   * Freezing takes a moment: v1 reads FREEZING, v2's cgroup.events "frozen 0", until every task is
   * frozen; this waits for that (up to ~2 s, as runc retries), else thaws and throws.
   */
  async freeze(): Promise<void> {
    const where = this.freezerWhere();
    const deadline = Date.now() + 2000;
    for (;;) {
      if (where.version === 1) setFreezerStateV1(where.dir, 'FROZEN');
      else setFreezeV2(where.dir, true);
      if (this.frozen()) return;
      if (Date.now() > deadline) break;
      await sleep(10);
    }
    this.thaw();
    throw new NsxError(`freeze ${where.dir}: the container's processes did not all freeze within 2 s`, {
      detail: where.dir,
      hint: 'a process stuck in the kernel (uninterruptible sleep, D in ps) cannot be frozen; try again',
    });
  }

  /** docker unpause: THAWED (v1) / cgroup.freeze 0 (v2); the processes run on where they stopped. */
  thaw(): void {
    const where = this.freezerWhere();
    if (where.version === 1) setFreezerStateV1(where.dir, 'THAWED');
    else setFreezeV2(where.dir, false);
  }

  /** Whether every process is frozen now (v1 freezer.state FROZEN; v2 cgroup.events "frozen 1"). */
  frozen(): boolean {
    const where = this.freezerWhere();
    return where.version === 1 ? readFreezerStateV1(where.dir) === 'FROZEN' : readFrozenV2(where.dir) === true;
  }

  /** v1's freezer hierarchy where it is mounted, else the container's cgroup2 directory. */
  private freezerWhere(): { dir: string; version: 1 | 2 } {
    if (this.freezerDir) return { dir: this.freezerDir, version: 1 };
    if (this.unifiedDir) return { dir: this.unifiedDir, version: 2 };
    throw new NsxError(`freezer: container ${this.id} has no freezer cgroup`, {
      hint: 'neither a v1 freezer hierarchy nor cgroup2 is mounted (grep cgroup /proc/self/mountinfo)',
    });
  }

  /**
   * Move a process in: one write to cgroup.procs per hierarchy, since a process has one cgroup in
   * each (cgroups(7)); children forked afterwards start there too.
   * One after the other, synchronously: writing them in parallel from libuv's thread pool (so that
   * kernels which wait for an RCU grace period per move would overlap the waits) measured 3x slower
   * on Linux 6.18 (hybrid, 4 hierarchies: ~1.1 ms vs ~0.36 ms), where a move does not wait.
   */
  addProcess(pid: number): void {
    for (const h of this.hierarchies) writeProcs(h.dir, pid);
  }

  /** Read back the kernel's view: the limits in force, current usage and the OOM-kill count. */
  facts(): CgroupFacts {
    const facts: CgroupFacts = { paths: [...this.paths] };
    const set = <K extends keyof CgroupFacts>(key: K, value: CgroupFacts[K] | undefined) => {
      if (value !== undefined) facts[key] = value;
    };
    const mem = this.controllerDirs.get('memory');
    if (mem) {
      const m: MemoryCounters = mem.version === 2 ? readMemoryV2(mem.dir) : readMemoryV1(mem.dir);
      set('memoryLimit', m.limit);
      set('memoryCurrent', m.current);
      set('oomKills', m.oomKills);
    }
    const pids = this.controllerDirs.get('pids');
    if (pids) {
      const p = readPids(pids.dir);
      set('pidsMax', p.max);
      set('pidsCurrent', p.current);
    }
    const cpu = this.controllerDirs.get('cpu');
    if (cpu) {
      const c = readCpu(cpu.dir, cpu.version);
      set('cpuQuotaUs', c.quotaUs);
      set('cpuPeriodUs', c.periodUs);
    }
    return facts;
  }

  /** Has the kernel's OOM killer killed anything in this cgroup? */
  oomKilled(): boolean {
    return (this.facts().oomKills ?? 0) > 0;
  }

  /**
   * SIGKILL every process still in the container's cgroup: what joined it besides PID 1's tree (a
   * docker exec made while the container was being built, before its fork, lives in the host's PID
   * namespace and does not die with PID 1, pid_namespaces(7)). runc does the same before it
   * removes a container's cgroup (libcontainer signalAllProcesses). Each hierarchy's cgroup.procs
   * is read, so the v1 hierarchies that a process joined one by one are all covered.
   */
  killAll(): void {
    const pids = new Set<number>();
    for (const h of this.hierarchies) {
      for (const line of (readOptional(join(h.dir, 'cgroup.procs')) ?? '').split('\n')) {
        if (/^\d+$/.test(line)) pids.add(Number(line));
      }
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
  }

  /**
   * rmdir every path (retry EBUSY for up to ~1 s: processes of a dying PID namespace take a
   * moment to be reaped, and cgroups(7) only lets an empty cgroup go); then remove the nsx parent
   * dir if empty. Never throws for ENOENT.
   */
  async remove(): Promise<void> {
    let firstError: NsxError | undefined;
    const deadline = Date.now() + 1000; // one budget for all hierarchies: the same processes hold them all
    for (const h of this.hierarchies) {
      for (;;) {
        try {
          // rmdir(2) of a cgroup returns at once (the kernel frees it later), so it is made here and
          // not in libuv's thread pool: a round trip there costs more than the call (~0.2 ms vs 0.03).
          this.dirs.rmdir(h.dir);
          break;
        } catch (err) {
          if (isErrno(err, 'ENOENT')) break;
          const busy = isErrno(err, 'EBUSY') || isErrno(err, 'ENOTEMPTY');
          if (busy && Date.now() < deadline) {
            await sleep(20);
            continue;
          }
          firstError ??= fsError(
            err,
            'rmdir',
            h.dir,
            busy
              ? `processes are still in it (cat ${join(h.dir, 'cgroup.procs')}); a cgroup can only be removed ` +
                  'once they have exited — kill them and try again'
              : (genericHint((err as NodeJS.ErrnoException).code, h.dir) ?? 'see cgroups(7) "Removing cgroups"'),
          );
          break;
        }
      }
      removeParentIfEmpty(h.parent, this.dirs);
    }
    if (firstError) throw firstError;
  }
}

/**
 * Remove nsx/<id> cgroups left behind by a killed nsx whose cgroup.procs is empty (call at
 * start-up); returns removed paths. A cgroup that still has processes stays: its container may
 * be running under another nsx. So does one younger than minAgeMs (default 5 s): another nsx
 * starting at the same moment has created it but not yet moved its process in.
 */
export function removeStaleCgroups(
  layout: CgroupLayout,
  opts: CgroupFsOptions & { keep?: (id: string) => boolean; minAgeMs?: number } = {},
): string[] {
  const fsRoot = opts.fsRoot ?? '/';
  const dirs = opts.dirs ?? kernelDirs;
  const minAgeMs = opts.minAgeMs ?? 5000;
  const mounts = new Set(Object.values(layout.v1));
  if (layout.unified !== undefined) mounts.add(layout.unified);
  const removed: string[] = [];
  for (const mount of mounts) {
    const parent = join(fsRoot, mount, NSX_DIR);
    // Usually there is none: existsSync answers that without building an exception (readdirSync's
    // ENOENT costs ~25 µs, and this runs for every hierarchy at every container's start).
    if (!existsSync(parent)) continue;
    let entries;
    try {
      entries = readdirSync(parent, { withFileTypes: true });
    } catch {
      continue; // no nsx dir in this hierarchy
    }
    for (const e of entries) {
      if (!e.isDirectory() || opts.keep?.(e.name)) continue;
      const dir = join(parent, e.name);
      if (minAgeMs > 0 && isYoungerThan(dir, minAgeMs)) continue;
      const procs = readOptional(join(dir, 'cgroup.procs'));
      if (procs === undefined || procs.trim() !== '') continue;
      try {
        dirs.rmdir(dir);
        removed.push(dir);
      } catch {
        // busy (a process joined meanwhile, or it has children): not stale
      }
    }
    removeParentIfEmpty(parent, dirs);
  }
  return removed;
}

/** cgroupfs stamps a cgroup directory with its creation time like any directory. */
function isYoungerThan(dir: string, ms: number): boolean {
  try {
    const st = statSync(dir);
    return Date.now() - Math.max(st.mtimeMs, st.ctimeMs) < ms;
  } catch {
    return false;
  }
}
