// cgroup: a control group limits and accounts the resources of the processes in it (cgroups(7);
// the kernel's Documentation/admin-guide/cgroup-v2.rst and cgroup-v1/). nsx (on the host) creates the container's
// cgroup, writes the limits and moves the shim in; every process the container makes inherits it.
import type { CgroupLimits } from '../actions.js';
import { cgroupByHand, cgroupSyscalls } from '../cgroups/words.js';
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

export const cgroup: Step<'cgroup'> = {
  id: 'cgroup',
  title: 'Join a new cgroup with the limits',
  // Without a spec and a machine: the v2 names and v1's. A built step names this machine's own.
  syscalls: [
    'mkdir("/sys/fs/cgroup/…/nsx/<id>")',
    'write("memory.max" (v2) or "memory.limit_in_bytes" (v1), …)',
    'write("cgroup.procs", pid)',
  ],
  shell: 'mkdir /sys/fs/cgroup/…/nsx/<id> && echo $$ > /sys/fs/cgroup/…/nsx/<id>/cgroup.procs',
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
      // The directories and file names of this machine's layout (v1, v2 or hybrid: cgroups/words.ts).
      syscalls: cgroupSyscalls(host.cgroups, limits),
      shell: cgroupByHand(host.cgroups, limits),
    };
  },

  hint: () =>
    'nsx creates cgroups only as root, on a mounted cgroup filesystem (a normal user would need a delegated subtree, cgroups(7)): run `nsx doctor` to see the layout',
};
