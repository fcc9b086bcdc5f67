import type { Lesson } from '../../src/learn/lesson.js';
import { hostnameOf, inNewNamespace } from '../../src/learn/kernel.js';
import { hostname } from 'node:os';

const WANTED = 'mybox';

const uts: Lesson = {
  id: 'uts',
  title: 'UTS namespace: a hostname of its own',
  minutes: 5,
  needsRoot: true,
  manPages: ['uts_namespaces(7)', 'unshare(2)', 'sethostname(2)'],
  run: { options: { hostname: 'classroom' }, command: ['/bin/sh', '-c', 'echo "inside, hostname says: $(hostname)"'] },
  focus: ['namespaces', 'hostname'],
  demos: [
    {
      after: 'namespaces',
      command: ['hostname'],
      notice: "A new UTS namespace starts as a copy of the caller's: the name is still the host's.",
    },
    { after: 'hostname', command: ['hostname'], notice: "Inside, the name is now the container's." },
    {
      after: 'hostname',
      command: ['hostname'],
      onHost: true,
      notice: "On the host, nothing changed: sethostname changed only the new namespace's copy.",
    },
  ],
  async check() {
    if (hostname() === WANTED)
      return {
        ok: false,
        message: `The host itself is called ${WANTED} now: that is the one thing the namespace should have prevented. Rename the host back (hostname …) and try again inside a new namespace.`,
      };
    const found = inNewNamespace('uts').find((p) => hostnameOf(p.pid) === WANTED);
    if (!found)
      return {
        ok: false,
        message: `No running process has the hostname "${WANTED}" in a UTS namespace of its own yet.`,
      };
    return {
      ok: true,
      message: `Process ${found.pid} (${found.comm}) is called ${WANTED} in its own UTS namespace, and the host is still ${hostname()}.`,
    };
  },
  hints: [
    'unshare(1) runs a command in new namespaces; its manual lists one option per namespace type.',
    'The name must be set by a process inside the new namespace, not before entering it.',
    'Keep a process running in the namespace (a shell waiting for input is enough) while you check.',
  ],
  quiz: [
    {
      question: 'Right after unshare(CLONE_NEWUTS), before any sethostname, what hostname does the new namespace have?',
      choices: ['An empty one', "A copy of the caller's", '"localhost"', 'The container id'],
      answer: 1,
      why: 'uts_namespaces(7): with CLONE_NEWUTS, "the hostname and domain name of the new UTS namespace are copied from the corresponding values in the caller\'s UTS namespace" (clone(2): its identifiers are initialized "by duplicating the identifiers from the UTS namespace of the calling process"). Runtimes then call sethostname(2) inside it; docker uses the short container id by default.',
    },
    {
      question: 'Which capability does sethostname(2) need inside a container?',
      choices: ['CAP_NET_ADMIN', 'CAP_SYS_ADMIN in the user namespace that owns the UTS namespace', 'None'],
      answer: 1,
      why: 'sethostname(2): EPERM "the caller did not have the CAP_SYS_ADMIN capability in the user namespace associated with its UTS namespace". Docker drops CAP_SYS_ADMIN, so `hostname x` fails inside a default container.',
    },
  ],
};

export default uts;
