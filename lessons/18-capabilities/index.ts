import type { CheckResult, Lesson } from '../../src/learn/lesson.js';
import { hostNamespaces, processes, statusField } from '../../src/learn/kernel.js';
import { capNumber, decodeCapMask } from '../../src/runtime/capabilities.js';

const NET_RAW = 1n << BigInt(capNumber('CAP_NET_RAW'));

const mask = (hex: string | undefined): bigint | undefined =>
  hex && /^[0-9a-f]+$/i.test(hex.trim()) ? BigInt('0x' + hex.trim()) : undefined;

/** The try-it-yourself task: a process outside any container (in the host's PID namespace) whose
 *  bounding set is PID 1's without CAP_NET_RAW, and nothing else missing: dropped on purpose, not a
 *  system service's narrow set (capabilities(7), "Capability bounding set"). */
export function checkBoundingSet(): CheckResult {
  const host = mask(statusField(1, 'CapBnd'));
  if (host === undefined)
    return { ok: false, message: 'Cannot read the bounding set of PID 1 (/proc/1/status) to compare with.' };
  if (!(host & NET_RAW))
    return {
      ok: false,
      message:
        'PID 1 itself has no CAP_NET_RAW in its bounding set on this machine, so there is nothing to drop it from.',
    };
  const hostPid = hostNamespaces().pid;
  const wanted = host & ~NET_RAW;
  for (const p of processes()) {
    if (p.pid === 1 || (p.ns.pid && p.ns.pid !== hostPid)) continue; // containers have their own PID namespace
    if (mask(statusField(p.pid, 'CapBnd')) !== wanted) continue;
    // capabilities(7): "the bounding set masks the file permitted capabilities, but not the inheritable
    // capabilities": a capability kept in the inheritable set can still be gained through execve.
    const inheritable = (mask(statusField(p.pid, 'CapInh')) ?? 0n) & NET_RAW;
    const gain = inheritable
      ? 'but it is still in its inheritable set, so a program with it as an inheritable file capability can regain it'
      : 'with it out of the inheritable set too, nothing it executes can gain it';
    const name = decodeCapMask(NET_RAW)[0];
    return {
      ok: true,
      message: `Process ${p.pid} (${p.comm}) has no ${name} in its bounding set: ${gain}. PID 1 still has it.`,
    };
  }
  return { ok: false, message: "No running process has a bounding set like PID 1's without CAP_NET_RAW yet." };
}

const capabilities: Lesson = {
  id: 'capabilities',
  title: 'Capabilities: root, in pieces',
  minutes: 8,
  needsRoot: true,
  manPages: ['capabilities(7)', 'prctl(2)', 'sethostname(2)', 'chown(2)', 'raw(7)', 'icmp(7)', 'seccomp(2)'],
  run: {
    options: { capDrop: ['CHOWN', 'NET_RAW'], securityOpt: ['no-new-privileges', 'seccomp=unconfined'] },
    command: [
      '/bin/sh',
      '-c',
      'exec 2>&1; echo "I am $(id)"; hostname x; chown 1 /tmp; ping -c 1 127.0.0.1 >/dev/null; ' +
        'mknod /tmp/null c 1 3 && echo "mknod /tmp/null: ok"; grep NoNewPrivs /proc/self/status',
    ],
  },
  focus: ['no-new-privs', 'capabilities', 'exec'],
  demos: [
    {
      after: 'no-new-privs',
      onHost: true,
      command: ['grep', '-E', '^(CapEff|CapBnd|NoNewPrivs)', '/proc/{pid}/status'],
      notice: "Still all of root's capabilities (bit N set: capability number N of capabilities(7)); NoNewPrivs is 1.",
    },
    {
      after: 'capabilities',
      onHost: true,
      command: ['grep', '-E', '^(CapEff|CapBnd|NoNewPrivs)', '/proc/{pid}/status'],
      notice:
        'The same masks after the drop: the 12 names of the decoded CapEff row, in the effective and the bounding set alike.',
    },
  ],
  async check() {
    return checkBoundingSet();
  },
  hints: [
    'capabilities(7): the set that limits what a process and everything it starts can ever gain is the bounding set (read its section: the inheritable set is the one way around it).',
    'Dropping from the bounding set needs CAP_SETPCAP: do it as root. capsh(1) and setpriv(1) both can.',
    'Drop that one capability only, and keep the process running (sleep will do) while you check.',
    "Compare your process's CapBnd line in /proc/PID/status with PID 1's.",
  ],
  quiz: [
    {
      question: 'Inside this container `id` says uid=0, yet `ping` fails with EPERM. Why?',
      choices: [
        'ping needs a real uid 0 on the host',
        'A raw socket needs CAP_NET_RAW, and the container has no CAP_NET_RAW',
        'The network namespace has no route to 127.0.0.1',
      ],
      answer: 1,
      why: 'raw(7): "In order to create a raw socket, a process must have the CAP_NET_RAW capability in the user namespace that governs its network namespace." The kernel checks the capability, not the uid; busybox ping uses only raw sockets. (iputils ping would fall back to an ICMP datagram socket, icmp(7), allowed by group through net.ipv4.ping_group_range: nsx leaves that at "1 0", no group, but Docker sets "0 2147483647" in every container since 20.10, so there --cap-drop NET_RAW does not stop it.)',
    },
    {
      question: 'A process with no_new_privs set executes a set-user-ID-root program. What does it gain?',
      choices: [
        "Root's uid and capabilities, as usual",
        'Nothing: the set-user-ID bit is not honoured',
        'The capabilities, but not the uid',
      ],
      answer: 1,
      why: 'prctl(2), PR_SET_NO_NEW_PRIVS: "execve(2) promises not to grant privileges to do anything that could not have been done without the execve(2) call (for example, rendering the set-user-ID and set-group-ID mode bits, and file capabilities non-functional)". It is inherited and cannot be unset.',
    },
  ],
};

export default capabilities;
