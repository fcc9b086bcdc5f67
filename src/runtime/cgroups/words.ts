// What a learner is shown of a container's cgroup, in the file names of this machine's layout: v2's
// memory.max and cpu.max where the unified hierarchy holds the controller, v1's
// memory.limit_in_bytes and cpu.cfs_quota_us where a v1 hierarchy does (cgroups(7); the kernel's
// cgroup-v2.rst, cgroup-v1/memory.rst, scheduler/sched-bwc.rst). Mirrors what files.ts writes and
// where container.ts makes directories, as text only: nothing here touches the filesystem.
import { basename, dirname, join } from 'node:path';
import { NSX_CONTROLLERS, placeController, type CgroupLayout, type NsxController } from './layout.js';
import type { CgroupLimits } from './limits.js';

/** One write of a limit: the file (in the controller's directory), the value, and whether it is
 *  written only where the file exists (swap accounting, cgroup-v1/memory.rst, cgroup-v2.rst). */
export interface LimitWrite {
  controller: NsxController;
  file: string;
  value: string;
  ifExists?: true;
}

/** The version of the hierarchy that holds controller here (v2 when no layout is known). */
export function versionOf(layout: CgroupLayout | undefined, controller: NsxController): 1 | 2 {
  return layout && placeController(layout, controller)?.version === 1 ? 1 : 2;
}

/** The files a limit is written to, in files.ts's order, with the names of this machine's layout.
 *  As docker, 0 means no limit, and so does a pids limit of -1: nothing is written for them. */
export function limitWrites(layout: CgroupLayout | undefined, l: CgroupLimits): LimitWrite[] {
  const out: LimitWrite[] = [];
  if (l.memoryBytes) {
    const bytes = String(l.memoryBytes);
    if (versionOf(layout, 'memory') === 2) {
      out.push({ controller: 'memory', file: 'memory.max', value: bytes });
      out.push({ controller: 'memory', file: 'memory.swap.max', value: '0', ifExists: true });
    } else {
      out.push({ controller: 'memory', file: 'memory.limit_in_bytes', value: bytes });
      out.push({ controller: 'memory', file: 'memory.memsw.limit_in_bytes', value: bytes, ifExists: true });
    }
  }
  if (l.pidsMax && l.pidsMax > 0) out.push({ controller: 'pids', file: 'pids.max', value: String(l.pidsMax) });
  if (l.cpuQuotaUs) {
    if (versionOf(layout, 'cpu') === 2) {
      out.push({ controller: 'cpu', file: 'cpu.max', value: `${l.cpuQuotaUs} ${l.cpuPeriodUs}` });
    } else {
      out.push({ controller: 'cpu', file: 'cpu.cfs_period_us', value: String(l.cpuPeriodUs) });
      out.push({ controller: 'cpu', file: 'cpu.cfs_quota_us', value: String(l.cpuQuotaUs) });
    }
  }
  return out;
}

/** The container's cgroup directories, <mount>/nsx/<id>, in the hierarchies container.ts uses: the
 *  v1 ones of nsx's controllers, v1's devices and freezer, then the unified one. */
export function containerDirs(layout: CgroupLayout | undefined, id = '<id>'): string[] {
  if (!layout) return [`/sys/fs/cgroup/nsx/${id}`];
  const mounts: string[] = [];
  for (const c of NSX_CONTROLLERS) {
    const p = placeController(layout, c);
    if (p?.version === 1) mounts.push(p.mount);
  }
  for (const c of ['devices', 'freezer']) if (layout.v1[c] !== undefined) mounts.push(layout.v1[c]);
  if (layout.unified !== undefined) mounts.push(layout.unified);
  return [...new Set(mounts)].map((m) => join(m, 'nsx', id));
}

/** The directory that holds controller's files for the container. */
export function controllerDir(layout: CgroupLayout | undefined, controller: NsxController, id = '<id>'): string {
  const p = layout && placeController(layout, controller);
  return join(p?.mount ?? layout?.unified ?? '/sys/fs/cgroup', 'nsx', id);
}

/** The directories in one string: "/sys/fs/cgroup/{memory,pids,unified}/nsx/<id>" where they all
 *  are in mounts side by side (a shell's brace notation, for reading), else one per line. */
function braced(dirs: string[]): string[] {
  const mounts = dirs.map((d) => dirname(dirname(d)));
  const parents = new Set(mounts.map((m) => dirname(m)));
  if (dirs.length < 2 || parents.size !== 1) return dirs;
  const tail = dirs[0].slice(mounts[0].length);
  return [`${[...parents][0]}/{${mounts.map((m) => basename(m)).join(',')}}${tail}`];
}

/** The cgroup step as system calls, with this layout's directories and file names. */
export function cgroupSyscalls(layout: CgroupLayout | undefined, l: CgroupLimits): string[] {
  const dirs = braced(containerDirs(layout));
  return [
    ...dirs.map((d) => `mkdir("${d}")`),
    ...limitWrites(layout, l).map(
      (w) =>
        `write("${join(controllerDir(layout, w.controller), w.file)}", "${w.value}")${w.ifExists ? ' (if the file exists)' : ''}`,
    ),
    // Once per directory; shown once for braced ones, as one word of that length would not wrap.
    ...(dirs.length === containerDirs(layout).length
      ? dirs.map((d) => `write("${d}/cgroup.procs", pid)`)
      : [`write("cgroup.procs", pid) in each of them`]),
  ];
}

/** The cgroup step by hand, in sh, for this layout: on v2 the parents first enable the controllers
 *  the limits need (cgroup-v2.rst "Top-down Constraint"), then mkdir, the limits, and $$ joins. */
export function cgroupByHand(layout: CgroupLayout | undefined, l: CgroupLimits): string {
  const writes = limitWrites(layout, l);
  const v2 = [...new Set(writes.filter((w) => versionOf(layout, w.controller) === 2).map((w) => w.controller))];
  const unified = layout ? layout.unified : '/sys/fs/cgroup';
  const enable =
    v2.length && unified !== undefined
      ? [
          `echo '${v2.map((c) => `+${c}`).join(' ')}' > ${unified}/cgroup.subtree_control`,
          `mkdir -p ${unified}/nsx`,
          `echo '${v2.map((c) => `+${c}`).join(' ')}' > ${unified}/nsx/cgroup.subtree_control`,
        ]
      : [];
  const dirs = containerDirs(layout);
  const write = (w: LimitWrite) => {
    const file = join(controllerDir(layout, w.controller), w.file);
    const echo = `echo ${w.value.includes(' ') ? `'${w.value}'` : w.value} > ${file}`;
    return w.ifExists ? `{ [ ! -e ${file} ] || ${echo}; }` : echo;
  };
  return [
    ...enable,
    `mkdir -p ${dirs.join(' ')}`,
    ...writes.map(write),
    dirs.length === 1
      ? `echo $$ > ${dirs[0]}/cgroup.procs`
      : `for d in ${dirs.join(' ')}; do echo $$ > $d/cgroup.procs; done`,
  ].join(' && ');
}

/** docker exec's cgroup step by hand: the new process's PID into each of the container's cgroups. */
export function joinByHand(layout: CgroupLayout | undefined): string {
  const dirs = containerDirs(layout);
  return dirs.length === 1
    ? `echo $$ > ${dirs[0]}/cgroup.procs`
    : `for d in ${dirs.join(' ')}; do echo $$ > $d/cgroup.procs; done`;
}
