import type { Demo, Lesson } from '../../src/learn/lesson.js';
import { detectLayout } from '../../src/runtime/cgroups/index.js';
import { TASK_CGROUP, checkTask } from './check.js';

// One container, three limits (docker run -m 16m --pids-limit 10 --cpus 0.2's, but no swap), and a command
// that runs into each. The hog and the fork loop run as children: an OOM kill or a failed fork of
// PID 1 itself would end the container before it could tell what happened.
const SCRIPT = [
  'exec 2>&1', // the shell's own messages ("Killed", "can't fork") in order with the rest
  "echo '1) memory: dd fills a 64 MiB buffer from /dev/zero'",
  'dd if=/dev/zero of=/dev/null bs=64M count=1',
  'echo "dd: exit status $?"',
  "echo '2) cpu: the same awk loop as the baseline'",
  "time awk 'BEGIN { for (i = 0; i < 5e5; i++); }'",
  "echo '3) pids: a shell starts 30 sleeps'",
  `sh -c 'for i in $(seq 30); do sleep 5 & echo -n "$i "; done'`,
  'echo "exit status $?"',
].join('; ');

/** A CPU-bound loop of fixed work: `time` shows its CPU time (user) and wall time (real). */
export const LOOP = ['time', 'awk', 'BEGIN { for (i = 0; i < 5e5; i++); }'];

/** 1 where a v1 hierarchy holds the controller (v1, hybrid), 2 where the unified one does: read
 *  from the machine's mounts (cgroups(7): a controller is in one hierarchy only), never assumed. */
function versionOf(controller: 'memory' | 'pids' | 'cpu'): 1 | 2 {
  try {
    return detectLayout().v1[controller] ? 1 : 2;
  } catch {
    return 2;
  }
}

/** The demos, with the file names of the interface this machine has for each controller. */
function demos(): Demo[] {
  const mem = versionOf('memory');
  const cpu = versionOf('cpu');
  return [
    {
      after: 'cgroup',
      onHost: true,
      command: ['findmnt', '-lnt', 'cgroup,cgroup2', '-o', 'FSTYPE,TARGET'],
      notice:
        'The cgroup filesystems of this machine: each "cgroup" line is a v1 hierarchy (one per controller, or a named one like systemd\'s); "cgroup2" is the unified v2 hierarchy. Pure v2 has only that line.',
    },
    {
      after: 'cgroup',
      onHost: true,
      command: ['cat', '/proc/{pid}/cgroup'],
      notice:
        'One line per hierarchy, "ID:controllers:path" (v2: "0::path"): the container\'s process is now in nsx/<id> wherever nsx made one.',
    },
    mem === 2
      ? {
          after: 'cgroup',
          onHost: true,
          command: ['cat', '{cgroup:memory}/memory.max'],
          notice: 'memory (v2): memory.max, in bytes: 16 MiB.',
        }
      : {
          after: 'cgroup',
          onHost: true,
          command: ['cat', '{cgroup:memory}/memory.limit_in_bytes'],
          notice: 'memory (v1): memory.limit_in_bytes, in bytes: 16 MiB.',
        },
    {
      after: 'cgroup',
      onHost: true,
      command: ['cat', '{cgroup:pids}/pids.max'],
      notice: 'pids: pids.max, the most processes (and threads) the cgroup may hold at once.',
    },
    cpu === 2
      ? {
          after: 'cgroup',
          onHost: true,
          command: ['cat', '{cgroup:cpu}/cpu.max'],
          notice: 'cpu (v2): cpu.max is "$MAX $PERIOD": 20000 µs of CPU time per 100000 µs, a fifth of one CPU.',
        }
      : {
          after: 'cgroup',
          onHost: true,
          command: ['cat', '{cgroup:cpu}/cpu.cfs_quota_us'],
          notice:
            'cpu (v1): cpu.cfs_quota_us, 20000 µs of CPU time per cpu.cfs_period_us (100000 µs): a fifth of one CPU.',
        },
    {
      after: 'seccomp',
      command: LOOP,
      notice:
        "A baseline: nsenter entered all of the container's namespaces but not its cgroup (a cgroup is not a namespace), so no CPU limit applied: real stays close to user unless the machine is busy.",
    },
    mem === 2
      ? {
          after: 'exit',
          beforeCleanup: true,
          onHost: true,
          command: ['cat', '{cgroup:memory}/memory.events'],
          notice:
            'Read after the command exited, before nsx removed the cgroup: oom_kill counts the processes the OOM killer killed in it.',
        }
      : {
          after: 'exit',
          beforeCleanup: true,
          onHost: true,
          command: ['cat', '{cgroup:memory}/memory.oom_control'],
          notice:
            'Read after the command exited, before nsx removed the cgroup: oom_kill counts the processes the OOM killer killed in it.',
        },
    {
      after: 'exit',
      beforeCleanup: true,
      onHost: true,
      command: ['cat', '{cgroup:pids}/pids.events'],
      notice: '"max": how many times a fork or clone failed because the cgroup was at pids.max.',
    },
    {
      after: 'exit',
      beforeCleanup: true,
      onHost: true,
      command: ['cat', '{cgroup:cpu}/cpu.stat'],
      notice: 'nr_throttled: in how many 100 ms periods the cgroup used up its quota and had to wait for the next one.',
    },
  ];
}

/** The hints, the third naming where this machine keeps the pids and memory controllers. */
function hints(): string[] {
  const v1 = (['pids', 'memory'] as const).filter((c) => versionOf(c) === 1);
  const here =
    v1.length === 2
      ? 'Here pids and memory are v1 controllers, in v1 hierarchies (findmnt -t cgroup): a new directory there gets pids.max, or memory.limit_in_bytes, at once. (On cgroup v2 its parent would first have to enable the controller in cgroup.subtree_control.)'
      : v1.length === 1
        ? `Here ${v1[0]} is a v1 controller (a new directory in its hierarchy gets its files at once) and ${v1[0] === 'pids' ? 'memory' : 'pids'} is in the v2 hierarchy, where a new cgroup only gets a controller's files if its parent enables it in cgroup.subtree_control.`
        : "Here pids and memory are in the v2 hierarchy: a new cgroup only gets a controller's files (pids.max, memory.max) if its parent enables that controller in cgroup.subtree_control.";
  return [
    'cgroups(7), "Creating cgroups and moving processes": a cgroup is a directory, and the kernel fills it with files.',
    "Which hierarchy holds the pids (or memory) controller here? The lesson's first demo listed them: findmnt -t cgroup,cgroup2.",
    here,
    `Keep a process in ${TASK_CGROUP} while you check: the check counts the PIDs listed in its cgroup.procs that started after the task was shown.`,
  ];
}

/** Quiz 1's explanation, with the memory limit's file of this machine's layout. */
function oomWhy(): string {
  const file =
    versionOf('memory') === 1
      ? 'cgroup-v1/memory.rst, memory.limit_in_bytes (v1, as here): when the usage reaches the limit and reclaim fails, "an OOM routine is invoked to select and kill the bulkiest task in the cgroup"'
      : 'cgroup-v2.rst, memory.max (v2, as here): when the usage reaches the limit and cannot be reduced, "the OOM killer is invoked in the cgroup"';
  return `${file}. It picked dd, which held the memory, and killed it with SIGKILL (status 137 = 128 + 9); oom_kill counted it. The container ends only when its PID 1 does. No swap: nsx allows none. Under docker -m 16m without --memory-swap, on a host with swap, dd could first be swapped out up to 16 MiB more.`;
}

let machineDemos: Demo[] | undefined;
let machineHints: string[] | undefined;
let machineOomWhy: string | undefined;

const cgroups: Lesson = {
  id: 'cgroups',
  title: 'cgroups: limits on memory, processes and CPU',
  minutes: 8,
  needsRoot: true,
  manPages: ['cgroups(7)', 'cgroup_namespaces(7)', 'fork(2)'],
  run: { options: { memory: '16m', pidsLimit: 10, cpus: 0.2 }, command: ['/bin/sh', '-c', SCRIPT] },
  focus: ['cgroup', 'exec'],
  // Computed once, when first asked for: the file names depend on this machine's layout.
  get demos() {
    return (machineDemos ??= demos());
  },
  check: () => checkTask(),
  get hints() {
    return (machineHints ??= hints());
  },
  get quiz() {
    return QUIZ.map((q, i) => (i === 0 ? { ...q, why: (machineOomWhy ??= oomWhy()) } : q));
  },
};

const QUIZ: Lesson['quiz'] = [
  {
    question: "Under -m 16m, the container's shell ran `dd if=/dev/zero of=/dev/null bs=64M count=1`. What happened?",
    choices: [
      'dd got ENOMEM from the kernel',
      "The OOM killer killed a process in the container's cgroup (dd) and the shell carried on",
      'The whole container was stopped',
      'dd was moved to swap and ran on slowly',
    ],
    answer: 1,
    why: '', // oomWhy(): the file of this machine's layout
  },
  {
    question: "The baseline loop, run with nsenter into all of the container's namespaces, was not throttled. Why?",
    choices: [
      'nsenter does not enter the PID namespace',
      'A cgroup is not a namespace: nsenter only called setns, so its process stayed in the cgroup it was born in',
      'The CPU limit applies to PID 1 only',
    ],
    answer: 1,
    why: "cgroups(7): a child created by fork(2) inherits its parent's cgroup memberships; a write to cgroup.procs moves a process, and since Linux 5.7 clone3(2) with CLONE_INTO_CGROUP can create a child in another v2 cgroup. setns(2) does neither; cgroup_namespaces(7): a cgroup namespace only changes the view of /proc/PID/cgroup. nsenter was forked from nsx, outside the container's cgroup. (docker exec, via runc, also writes the new process into the container's cgroup.)",
  },
];

export default cgroups;
