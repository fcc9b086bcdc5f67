// docker exec's cgroup step: the new process joins the running container's cgroup by writing its
// PID to cgroup.procs (cgroups(7)), so it counts against the container's limits.
import { containerDirs, joinByHand } from '../../cgroups/words.js';
import { cgroup } from '../cgroup.js';
import type { ExecStep } from '../step.js';

export const execCgroup: ExecStep<'cgroup'> = {
  id: 'cgroup',
  title: "Join the container's cgroup",
  syscalls: ['write("/sys/fs/cgroup/…/nsx/<id>/cgroup.procs", pid)'],
  shell: 'echo $$ > /sys/fs/cgroup/…/nsx/<id>/cgroup.procs',
  manPage: 'cgroups(7)',
  why: "The new process counts against the container's limits like every other process of it.",

  build(spec, host) {
    if (!host.root) return { skip: 'running without root: the container has no cgroup of its own' };
    return {
      actions: [{ kind: 'host', op: 'cgroup-join', id: spec.id }],
      syscalls: containerDirs(host.cgroups).map((d) => `write("${d}/cgroup.procs", pid)`),
      shell: joinByHand(host.cgroups),
    };
  },
  hint: cgroup.hint,
};
