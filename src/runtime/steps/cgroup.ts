// cgroup: a control group limits and accounts the resources of the processes in it (cgroups(7);
// the kernel's Documentation/admin-guide/cgroup-v2.rst). nsx (on the host) creates the container's
// cgroup, writes the limits and moves the shim in; every process the container makes inherits it.
import type { CgroupLimits } from '../actions.js';
import type { ContainerSpec } from '../spec.js';
import type { Step } from './step.js';

/** The limits of the spec as the cgroup files take them (docker's -m, --pids-limit, --cpus). */
function limitsOf(spec: ContainerSpec): CgroupLimits {
  const r = spec.linux.resources ?? {};
  return {
    ...(r.memory ? { memoryBytes: r.memory.limit } : {}),
    ...(r.pids ? { pidsMax: r.pids.limit } : {}),
    ...(r.cpu ? { cpuQuotaUs: r.cpu.quota, cpuPeriodUs: r.cpu.period } : {}),
  };
}

/** The cgroup v2 files the limits are written to, with their values, for the step's syscalls. As
 *  docker, 0 means no limit, and so does a pids limit of -1: nothing is written for them. */
function writes(l: CgroupLimits): string[] {
  const swap = 'write("memory.swap.max", "0") (if the file exists)';
  const memory = l.memoryBytes ? [`write("memory.max", "${l.memoryBytes}")`, swap] : [];
  const pids = l.pidsMax && l.pidsMax > 0 ? [`write("pids.max", "${l.pidsMax}")`] : [];
  const cpu = l.cpuQuotaUs ? [`write("cpu.max", "${l.cpuQuotaUs} ${l.cpuPeriodUs}")`] : [];
  return [...memory, ...pids, ...cpu];
}

export const cgroup: Step<'cgroup'> = {
  id: 'cgroup',
  title: 'Join a new cgroup with the limits',
  syscalls: ['mkdir("/sys/fs/cgroup/…/nsx/<id>")', 'write("memory.max"…)', 'write("cgroup.procs", pid)'],
  shell: 'mkdir /sys/fs/cgroup/nsx/<id> && echo $$ > /sys/fs/cgroup/nsx/<id>/cgroup.procs',
  manPage: 'cgroups(7)',
  why: "Children inherit their parent's cgroup, so joining it first puts every later process under the limits.",

  build(spec, host) {
    const r = spec.linux.resources;
    if (!host.root && !r)
      return {
        skip: 'running without root: nsx creates cgroups only as root (a normal user would need a delegated subtree, cgroups(7))',
      };
    const limits = limitsOf(spec);
    return {
      actions: [{ kind: 'host', op: 'cgroup', limits }],
      syscalls: ['mkdir("/sys/fs/cgroup/…/nsx/<id>")', ...writes(limits), 'write("cgroup.procs", pid)'],
    };
  },

  hint: () =>
    'nsx creates cgroups only as root, on a mounted cgroup filesystem (a normal user would need a delegated subtree, cgroups(7)): run `nsx doctor` to see the layout',
};
