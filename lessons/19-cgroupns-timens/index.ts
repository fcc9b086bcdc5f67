import type { Lesson } from '../../src/learn/lesson.js';
import { inNewNamespace } from '../../src/learn/kernel.js';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';

const WEEK = 7 * 24 * 3600;
const DAY = 24 * 3600;

/** /proc/PID/timens_offsets → seconds by clock ("monotonic", "boottime"). */
export function parseTimensOffsets(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const [clock, secs, nsecs] = line.trim().split(/\s+/);
    if (clock && secs !== undefined) out[clock] = Number(secs) + Number(nsecs ?? 0) / 1e9;
  }
  return out;
}

/** The running kernel and whether its execve moves the caller into its time_for_children namespace: since
 *  Linux 6.2 (kernel commit "fs/exec: switch timens when a task gets a new mm", exec_task_namespaces() in
 *  kernel/nsproxy.c); before, an execve leaves it where it is. time_namespaces(7) does not say so yet. */
const KERNEL = release();
function execEnters(kernel: string): boolean {
  const [major, minor] = (/^(\d+)\.(\d+)/.exec(kernel) ?? []).slice(1).map(Number);
  return major > 6 || (major === 6 && minor >= 2);
}
const EXEC_ENTERS = execEnters(KERNEL);
const THIS_KERNEL = `This machine runs Linux ${KERNEL}: ${EXEC_ENTERS ? '6.2 or later' : 'older than 6.2'}.`;

function offsetsOf(pid: number): Record<string, number> {
  try {
    return parseTimensOffsets(readFileSync(`/proc/${pid}/timens_offsets`, 'utf8'));
  } catch {
    return {};
  }
}

const lesson: Lesson = {
  id: 'cgroupns-timens',
  title: 'Cgroup and time namespaces: their own root, their own clocks',
  minutes: 5,
  needsRoot: true,
  manPages: ['cgroup_namespaces(7)', 'time_namespaces(7)', 'cgroups(7)'],
  run: {
    options: { timeNamespace: true, timeOffsets: { boottime: WEEK } },
    command: ['/bin/sh', '-c', 'cat /proc/self/cgroup; cat /proc/uptime'],
  },
  focus: ['namespaces', 'fork'],
  demos: [
    {
      after: 'cgroup',
      onHost: true,
      command: ['cat', '/proc/{pid}/cgroup'],
      notice: "The runtime's process is in its new cgroup; from the host the path runs from the hierarchy's root.",
    },
    {
      after: 'namespaces',
      command: ['cat', '/proc/{pid}/cgroup'],
      notice:
        'The same file of the same process, read from inside its new cgroup namespace: its cgroup is the root, /.',
    },
    {
      after: 'namespaces',
      command: ['cat', '/proc/self/cgroup'],
      notice:
        "nsenter joins namespaces, not cgroups: cat stays in the cgroup nsx runs in, outside this namespace's root, so its path starts by climbing out (/..).",
    },
    {
      after: 'namespaces',
      onHost: true,
      command: ['readlink', '/proc/{pid}/ns/time', '/proc/{pid}/ns/time_for_children'],
      notice: `unshare(CLONE_NEWTIME) left the process in the host's time namespace (ns/time); ns/time_for_children names the new one, where its children will be created. On Linux 6.2 and later an execve would move the process itself there too; the runtime forks before it ever execs. ${THIS_KERNEL}`,
    },
    {
      after: 'namespaces',
      onHost: true,
      command: ['cat', '/proc/{pid}/timens_offsets'],
      notice:
        'The offsets nsx wrote for the new time namespace, before any process is in it: boot time one week ahead.',
    },
    {
      after: 'fork',
      command: ['cat', '/proc/uptime'],
      notice:
        "PID 1, the new namespace's first process: its boot-time clock, and so /proc/uptime, runs a week (604800 s) ahead.",
    },
    { after: 'fork', onHost: true, command: ['cat', '/proc/uptime'], notice: "The host's uptime is untouched." },
  ],
  async check() {
    const procs = inNewNamespace('time');
    if (!procs.length) return { ok: false, message: 'No running process is in a time namespace of its own yet.' };
    const ahead = procs
      .map((p) => ({ p, boottime: offsetsOf(p.pid).boottime ?? 0 }))
      .sort((a, b) => b.boottime - a.boottime)[0];
    if (ahead.boottime >= DAY) {
      return {
        ok: true,
        message: `Process ${ahead.p.pid} (${ahead.p.comm}) is in a time namespace whose boot-time clock is ${(ahead.boottime / DAY).toFixed(1)} days ahead of the host's.`,
      };
    }
    return {
      ok: false,
      message: `Process ${ahead.p.pid} (${ahead.p.comm}) is in a time namespace of its own, but its boot-time clock is offset by only ${Math.round(ahead.boottime)} s; at least a day ahead is asked for.`,
    };
  },
  hints: [
    'unshare(1) can make a time namespace, and has options for its clock offsets.',
    'unshare(CLONE_NEWTIME) does not move the caller: the children it creates afterwards go into the new namespace (and, since Linux 6.2, the caller itself when it calls execve).',
    'Offsets can be set only before the first process is in the namespace; /proc/PID/timens_offsets shows them.',
  ],
  quiz: [
    {
      question:
        "A runtime calls unshare(CLONE_NEWTIME), writes the offsets, then forks. It has not called execve. Which of them reads the new namespace's clocks?",
      choices: ['The runtime, from the unshare on', 'The child it forked', 'Both, from the fork on'],
      answer: 1,
      why: `time_namespaces(7): unshare(CLONE_NEWTIME) "does not place the calling process in the new namespace. Instead, the calling process's subsequently created children are placed in the new namespace", which leaves time to write the offsets first. The demo showed ns/time unchanged and ns/time_for_children new. The caller itself gets in only by setns(2), which moves it at once (setns(2) makes the children-only exception for PID namespaces alone; timens_install() in kernel/time/namespace.c sets both links), or, since Linux 6.2, by execve(2). ${THIS_KERNEL}`,
    },
    {
      question:
        'Inside a new cgroup namespace, /proc/self/cgroup shows "/". What is the process\'s cgroup, seen from the host?',
      choices: [
        'The root of the cgroup hierarchy',
        'The cgroup it was in when the namespace was made (here /nsx/<id>)',
        'A new, empty cgroup',
      ],
      answer: 1,
      why: "cgroup_namespaces(7): with CLONE_NEWCGROUP the caller's current cgroups become the namespace's root directories, and /proc/PID/cgroup shows paths relative to the reader's root. The process did not move: only the view did.",
    },
  ],
};

export default lesson;
