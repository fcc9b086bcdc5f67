import type { Lesson } from '../../src/learn/lesson.js';
import { inNewNamespace } from '../../src/learn/kernel.js';
import { sysvObjectsIn } from './sysvipc.js';

/** The id ipcmk reports ("Message queue id: 3"), to remove that queue, and only it, afterwards. */
const queueId = (output: string) => /id:\s*(\d+)/.exec(output)?.[1];

const ipc: Lesson = {
  id: 'ipc',
  title: 'IPC namespace: message queues of its own',
  minutes: 6,
  needsRoot: true,
  manPages: ['ipc_namespaces(7)', 'sysvipc(7)', 'mq_overview(7)', 'ipcmk(1)', 'ipcs(1)'],
  run: { options: {}, command: ['/bin/sh', '-c', "sed 's/  */ /g' /proc/sysvipc/msg; ls /dev/mqueue"] },
  focus: ['namespaces', 'dev'],
  demos: [
    {
      after: 'cgroup',
      onHost: true,
      command: ['ipcmk', '-Q'],
      notice: 'A System V message queue, made on the host (it is removed when the lesson ends).',
      cleanup: (output) => (queueId(output) ? ['ipcrm', '-q', queueId(output)!] : undefined),
    },
    {
      after: 'cgroup',
      command: ['ipcs', '-q'],
      notice: "The runtime's process is still in the host's IPC namespace: it sees the host's queue.",
    },
    {
      after: 'namespaces',
      command: ['ipcs', '-q'],
      notice: 'The same process right after unshare(CLONE_NEWIPC): a new IPC namespace, and no queues in it.',
    },
    {
      after: 'namespaces',
      command: ['ipcmk', '-Q'],
      notice: "A queue made inside the new namespace (by the host's ipcmk, run in the container's namespaces).",
    },
    {
      after: 'namespaces',
      onHost: true,
      command: ['ipcs', '-q'],
      notice: 'The host lists its own queue only: the one made inside is in another namespace.',
    },
    {
      after: 'pivot-root',
      command: ['sh', '-c', 'touch /dev/mqueue/inbox; cat /dev/mqueue/inbox'],
      notice:
        "A file made on the container's own mqueue filesystem is a POSIX message queue: cat shows its size and notification settings.",
    },
  ],
  async check() {
    const seen = new Set<string>();
    let member: { pid: number; comm: string } | undefined;
    let others = '';
    for (const p of inNewNamespace('ipc')) {
      const ns = p.ns.ipc!;
      if (seen.has(ns)) continue;
      seen.add(ns);
      member ??= p;
      const objects = sysvObjectsIn(p.pid);
      const q = objects.msg[0];
      if (q)
        return {
          ok: true,
          message: `Process ${p.pid} (${p.comm}) is in an IPC namespace of its own that holds message queue ${q.id} (key ${q.key}); the host's IPC namespace has its own set of queues.`,
        };
      if (!others && objects.shm.length) others = 'a shared memory segment';
      if (!others && objects.sem.length) others = 'a semaphore set';
    }
    if (!member) return { ok: false, message: 'No running process is in an IPC namespace of its own yet.' };
    const other = others ? ` (only ${others})` : '';
    return {
      ok: false,
      message: `Process ${member.pid} (${member.comm}) is in an IPC namespace of its own, but no such namespace holds a message queue yet${other}.`,
    };
  },
  hints: [
    'unshare(1) can start a command in a new IPC namespace; ipcmk(1) makes IPC objects.',
    'An IPC object lives as long as its namespace, and the namespace as long as a process is in it.',
    'Look from both sides: ipcs -q on the host, and the same inside (nsenter(1) can run it there).',
  ],
  quiz: [
    {
      question:
        'In the container, a program makes a message queue and exits; PID 1 keeps running. Is the queue still there?',
      choices: [
        'No: it went with the process that made it',
        'Yes: it belongs to the IPC namespace, which PID 1 keeps alive',
        "It moves to the host's namespace",
      ],
      answer: 1,
      why: "IPC objects belong to the namespace, not to a process: the lesson's command listed the queue the demo had made, after ipcmk had exited. They are destroyed with the namespace, when its last process terminates (ipc_namespaces(7)).",
    },
    {
      question: 'Which of these does the IPC namespace NOT keep apart?',
      choices: ['System V message queues', 'POSIX message queues', 'POSIX shared memory (shm_open, files in /dev/shm)'],
      answer: 2,
      why: 'ipc_namespaces(7) isolates System V IPC objects and POSIX message queues, "identified by mechanisms other than filesystem pathnames". POSIX shared memory objects are files in a tmpfs under /dev/shm (shm_overview(7)): the mount namespace keeps those apart, and runtimes give the container its own /dev/shm, as the dev step does.',
    },
  ],
};

export default ipc;
