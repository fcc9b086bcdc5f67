import type { CheckResult, Lesson } from '../../src/learn/lesson.js';
import { hostNamespaces, processes, uidMapOf, type ProcessInfo } from '../../src/learn/kernel.js';

/** The try-it-yourself task: a process of a normal user that is root in a user namespace of its own.
 *  Seen from the initial namespace, such a process has a uid_map line "0 X n" with X its own uid
 *  and X not 0 (as root, 0 would map to 0 and prove nothing). */
export function checkUserNamespace(procs: ProcessInfo[] = processes()): CheckResult {
  const hostUser = hostNamespaces().user;
  const inNew = procs.filter((p) => p.ns.user && p.ns.user !== hostUser);
  for (const p of inNew) {
    const root = uidMapOf(p.pid).find(([inside]) => inside === 0);
    if (root && root[1] !== 0 && root[1] === p.uid) {
      return {
        ok: true,
        message: `Process ${p.pid} (${p.comm}) is root in its own user namespace and uid ${p.uid} outside (uid_map: ${root.join(' ')}).`,
      };
    }
  }
  const unmapped = inNew.find((p) => uidMapOf(p.pid).length === 0);
  if (unmapped)
    return {
      ok: false,
      message: `Process ${unmapped.pid} (${unmapped.comm}) is in a new user namespace, but nothing is mapped there: inside it is 65534 (nobody), not 0.`,
    };
  const rootToRoot = inNew.find((p) => uidMapOf(p.pid).some(([inside, outside]) => inside === 0 && outside === 0));
  if (rootToRoot)
    return {
      ok: false,
      message: `Process ${rootToRoot.pid} (${rootToRoot.comm}) is root inside, but root outside too (0 maps to 0): do it as your normal user, without sudo, or as another uid through setpriv --reuid.`,
    };
  return { ok: false, message: 'No running process is root in a user namespace of its own yet.' };
}

const user: Lesson = {
  id: 'user',
  title: 'User namespace: root inside, you outside',
  minutes: 8,
  needsRoot: true,
  manPages: ['user_namespaces(7)', 'capabilities(7)', 'unshare(1)', 'proc(5)'],
  run: {
    as: 'invoking-user',
    options: { hostname: 'rootless' },
    command: ['/bin/sh', '-c', 'echo "inside: $(id)"; read a b c < /proc/self/uid_map; echo "uid_map: $a $b $c"'],
  },
  focus: ['userns', 'hostname'],
  demos: [
    {
      after: 'userns',
      onHost: true,
      command: ['ps', '-o', 'user,uid,pid,comm', '-p', '{pid}'],
      notice: 'On the host the same process is an ordinary user: the one uid_map maps 0 to.',
    },
    {
      after: 'hostname',
      command: ['sh', '-c', 'touch /tmp/made-inside; ls -ln /tmp/made-inside'],
      notice: 'Inside, the new file belongs to uid 0 and gid 0: root.',
    },
    {
      after: 'hostname',
      onHost: true,
      command: ['ls', '-ln', '/proc/{pid}/root/tmp/made-inside'],
      notice:
        "The host, looking in through /proc/PID/root, sees the same file owned by the outside uid: a new file gets its creator's ids as mapped into the initial user namespace.",
    },
    {
      after: 'hostname',
      command: ['sh', '-c', 'ls -ln /etc/passwd; : >> /etc/passwd'],
      notice:
        "Host root's file shows as 65534: uid 0 outside has no mapping here. Root inside may not open it for writing: CAP_DAC_OVERRIDE counts only for files whose uid and gid are mapped.",
    },
    {
      after: 'hostname',
      command: ['mknod', '/tmp/disk', 'b', '8', '0'],
      notice:
        'A device belongs to no namespace: creating one takes CAP_MKNOD in the initial user namespace, which root here does not have.',
    },
  ],
  async check() {
    return checkUserNamespace();
  },
  hints: [
    'unshare(1) makes user namespaces for normal users too; read its options about mapping users.',
    'A new user namespace maps nobody at first: without a mapping you are 65534 inside, not 0.',
    'Run it as your normal user, without sudo: as root, 0 inside would be 0 outside. Only root here? setpriv(1) starts a command as any other uid.',
    'Keep the process running (a shell waiting for input) and check from another terminal.',
  ],
  quiz: [
    {
      question:
        'In a container whose uid_map is "0 1000 1", root creates a file on a filesystem the host can see. Who owns it on the host?',
      choices: ['root (uid 0)', 'uid 1000', 'nobody (uid 65534)'],
      answer: 1,
      why: 'user_namespaces(7): when a process accesses a file, its user and group IDs are mapped into the initial user namespace "for the purpose of permission checking and assigning IDs when creating a file". 0 inside is 1000 there.',
    },
    {
      question:
        "Root in that container has CAP_SYS_ADMIN and CAP_MKNOD in its user namespace, and the runtime created the container's UTS namespace from inside that user namespace. What can root do?",
      choices: [
        "Set the hostname of the container's UTS namespace",
        "Set the host's hostname",
        'Create a block device node',
      ],
      answer: 0,
      why: 'user_namespaces(7), "Effect of capabilities within a user namespace": a capability there counts only for resources governed by namespaces that user namespace owns. The UTS namespace is one only because it was created from inside the container\'s user namespace ("owned by the user namespace in which the creating process was a member at the time of the creation"); for a UTS namespace owned by another user namespace (the host\'s, say) root here would get EPERM, since sethostname(2) checks CAP_SYS_ADMIN "in the user namespace associated with its UTS namespace". Devices belong to no namespace and need CAP_MKNOD in the initial user namespace.',
    },
  ],
};

export default user;
