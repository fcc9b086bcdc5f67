import type { Lesson } from '../../src/learn/lesson.js';
import { inNsxContainer, newestFirst, nsPidsOf, processes } from '../../src/learn/kernel.js';
import { readFileSync, readlinkSync } from 'node:fs';

/** This nsx process as the host numbers it: a PID the container has no process for. */
const HOST_PID = String(process.pid);

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** comm and start time (proc(5): /proc/PID/stat, field 22): the same process in any /proc. */
function identity(stat: string | undefined): string | undefined {
  if (!stat) return undefined;
  const close = stat.lastIndexOf(')');
  return `${stat.slice(stat.indexOf('(') + 1, close)} ${stat.slice(close + 2).split(' ')[19]}`;
}

/** Whose processes the /proc that process pid sees shows: its own namespace's (its PID 1 there is
 *  pid itself), the host's (this process is visible there), or neither (none mounted, another one). */
function procOf(pid: number): 'own' | 'host' | 'other' {
  const proc = `/proc/${pid}/root/proc`;
  if (identity(read(`${proc}/1/stat`)) === identity(read(`/proc/${pid}/stat`))) return 'own';
  try {
    // /proc/self names the reader's PID in the procfs's namespace; it is missing where we are invisible.
    if (readlinkSync(`${proc}/self`) === String(process.pid)) return 'host';
  } catch {
    /* not a /proc in which this process is visible */
  }
  return 'other';
}

const pid: Lesson = {
  id: 'pid',
  title: 'PID namespace: PID 1 of its own little world',
  minutes: 8,
  needsRoot: true,
  manPages: ['pid_namespaces(7)', 'namespaces(7)', 'kill(2)', 'proc(5)'],
  run: { options: {}, command: ['/bin/sh', '-c', 'sleep 300 & echo started a background sleep; exit'] },
  focus: ['fork', 'proc', 'exec'],
  demos: [
    {
      after: 'fork',
      onHost: true,
      command: ['ps', '-o', 'pid,pidns,comm', '-p', '{pid}'],
      notice:
        "The host's ps finds the same process under its host PID, in the new PID namespace (PIDNS). Inside, it is PID 1.",
    },
    {
      after: 'fork',
      command: ['sh', '-c', 'ps -o pid,comm | head -4'],
      notice:
        "Already in the new PID namespace, and yet ps lists the host's processes: ps reads /proc, and this /proc still belongs to the host's namespace.",
    },
    {
      after: 'pivot-root',
      command: ['ps', '-o', 'pid,ppid,comm'],
      notice:
        "Now /proc is the container's own: ps sees PID 1 and itself, nothing of the host. Both have PPID 0: their parents are outside the namespace.",
    },
    {
      after: 'pivot-root',
      command: ['kill', '-0', HOST_PID],
      notice: `${HOST_PID} is this nsx process on the host. No process has that PID inside, so not even root in the container can signal it.`,
    },
    {
      after: 'exit',
      onHost: true,
      beforeCleanup: true,
      command: ['ps', '-o', 'pid,pidns,args', '-C', 'sleep'],
      notice:
        "Looked at the moment PID 1 exited, before nsx cleaned anything up: no sleep is left whose PIDNS is the container's PID namespace (the number of its ns pid row in the evidence; any sleep listed here belongs to another namespace). The kernel killed it with SIGKILL.",
    },
  ],
  async check() {
    const inits = newestFirst(
      processes().filter((p) => {
        const ns = nsPidsOf(p.pid);
        return ns.length >= 2 && ns[ns.length - 1] === 1 && !inNsxContainer(p.pid);
      }),
    );
    if (!inits.length)
      return { ok: false, message: 'No process (outside nsx) is PID 1 of a PID namespace of its own yet.' };
    const own = inits.find((p) => procOf(p.pid) === 'own');
    if (own)
      return {
        ok: true,
        message: `Process ${own.pid} (${own.comm}) is PID 1 of its own PID namespace, and its /proc shows that namespace: ps there lists only it and its children.`,
      };
    const p = inits[0];
    const why =
      procOf(p.pid) === 'host'
        ? "is still the host's: ps there lists every process on the machine"
        : 'does not show its namespace';
    return {
      ok: false,
      message: `Process ${p.pid} (${p.comm}) is PID 1 of a PID namespace of its own, but its /proc ${why}. Give it a /proc of its own.`,
    };
  },
  hints: [
    'unshare(1) has an option for a new PID namespace. Remember which process the new namespace applies to: pid_namespaces(7), "setns(2) and unshare(2) semantics".',
    'ps reads /proc. A proc filesystem shows the PID namespace of whoever mounted it; unshare(1) can mount a fresh one, but only where the host will not see it (in a new mount namespace).',
    'Keep PID 1 running (a shell waiting for input is enough) while you check from another terminal.',
  ],
  quiz: [
    {
      question: 'A runtime calls unshare(CLONE_NEWPID). Which process becomes PID 1 of the new PID namespace?',
      choices: [
        'The runtime itself, at once',
        'The first child the runtime creates after the call',
        "None: PID 1 is always the host's init",
      ],
      answer: 1,
      why: 'pid_namespaces(7): PID 1 is "the first child created by a process after a call to unshare(2) using the CLONE_NEWPID flag"; the call does not "change the PID namespace of the calling process", which keeps its PID and its namespace. That is why runtimes fork after it (unshare --pid --fork).',
    },
    {
      question: "The container's PID 1 exits while a background job of it is still running. What happens to the job?",
      choices: [
        "It is reparented to the host's init and keeps running",
        'The kernel kills it with SIGKILL',
        'It becomes the new PID 1',
      ],
      answer: 1,
      why: 'pid_namespaces(7): "If the \'init\' process of a PID namespace terminates, the kernel terminates all of the processes in the namespace via a SIGKILL signal." A container lives exactly as long as its PID 1.',
    },
  ],
};

export default pid;
