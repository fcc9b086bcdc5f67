import type { Lesson } from '../../src/learn/lesson.js';
import { sandboxRootfs } from '../../src/learn/sandbox.js';
import { firstPid } from '../02-run-flow/index.js';
import { reachEngine, startLab } from '../engine-lab.js';
import { readFileSync } from 'node:fs';

const STRACE = { program: 'strace', why: "Debian's strace package (apt-get install strace)" };
const DOCKER = {
  program: 'docker',
  why: "Docker's own CLI, not part of nsx: on Debian 13 the docker-cli package (sudo apt-get install docker-cli; the VM has it), on Debian 12 docker.io (which also brings dockerd), elsewhere docker-ce-cli from Docker's apt repository (docs.docker.com/engine/install)",
};
const NAMESPACES = ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup', 'user'];

/** A process's parent (proc(5): /proc/PID/stat, the field after the parenthesised name and state). */
function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '?';
  }
}

const engineCli: Lesson = {
  id: 'engine-cli',
  title: 'User space, kernel space: the engine, the CLI and the kernel',
  minutes: 8,
  needsRoot: true,
  manPages: ['syscalls(2)', 'uname(2)', 'strace(1)', 'unix(7)', 'clone(2)', 'namespaces(7)', 'cgroups(7)'],
  focus: [],
  demos: [],
  tour: {
    setup: async () => {
      const rootfs = sandboxRootfs(); // before the lab: if it cannot be built, there is nothing to undo
      const lab = await startLab({ registry: false });
      lab.vars.rootfs = rootfs;
      return lab;
    },
    stops: [
      {
        id: 'syscalls',
        title: 'A program asks the kernel: system calls',
        commands: [
          {
            command: ['strace', 'hostname'],
            needs: STRACE,
            notice:
              'Every line is one system call, hostname\'s only way to the kernel. The name comes from uname(2) (nodename="…"); write(1, …) puts it on the terminal, which is why it appears inside that line: strace writes to the same terminal.',
          },
        ],
      },
      {
        id: 'socket',
        title: 'Two programs: the engine and the CLI',
        commands: [
          {
            command: ['ps', '-o', 'pid,ppid,user,args', '-p', '{engine}'],
            notice: 'The engine: an ordinary user-space program (node running nsxd), started once, always running.',
          },
          {
            command: ['ls', '-l', '{socket}'],
            notice: 'Its Unix socket: a file of type s, mode rw------- so only its owner (root) may connect.',
          },
          {
            command: ['engine-api', 'GET', '/containers/json'],
            notice:
              "A client's question and the engine's answer, as they travel on the socket: plain HTTP, a JSON body (no containers yet: []).",
          },
          {
            command: ['strace', '-f', '-qqq', '-e', 'trace=connect', '-e', 'signal=none', 'nsx', 'ps'],
            needs: STRACE,
            notice:
              "The CLI does the same: one connect(2) to the engine's socket (then the request), and prints the answer as a table.",
          },
        ],
      },
      {
        id: 'docker',
        title: "Docker's own CLI, asking nsx's engine",
        commands: [
          {
            command: ['docker-log', 'docker', 'ps', '-a'],
            needs: DOCKER,
            notice:
              "Docker's real CLI, pointed at the lab's engine (DOCKER_HOST) through a proxy that logs the bytes: first HEAD /_ping (the engine's API version, in its reply's headers), then GET /v<version>/containers/json?all=1, the list engine-api asked for by hand, in the API version both know. Same table, same HTTP: nsxd is the engine it asks.",
          },
        ],
      },
      {
        id: 'children',
        title: "nsx's containers are its engine's children (Docker's are not dockerd's)",
        commands: [
          {
            command: [
              'engine-api',
              'POST',
              '/containers/create?name=sleeper',
              '{"Rootfs": "{rootfs}", "Cmd": ["sleep", "300"]}',
            ],
            notice: 'A container that keeps running (sleep 300), from the sandbox root filesystem.',
          },
          { command: ['nsx', 'start', 'sleeper'], notice: 'Started by the engine.' },
          {
            command: ['nsx', 'top', 'sleeper'],
            notice: "Its program, by its host PID; its PPID is the shim's supervisor.",
            gives: firstPid,
          },
          {
            command: ['ps', '--forest', '-o', 'pid,ppid,args', '-s', '{engine},{program}'],
            notice:
              "The tree: nsxd → nsx-shim (the supervisor the engine started) → sleep, the container's PID 1. The CLI is in no part of it. Under Docker the same ps shows no dockerd above the container: its parent is containerd-shim-runc-v2.",
          },
        ],
      },
      {
        id: 'kernel',
        title: "Namespaces and cgroups: the kernel's, asked for by the engine",
        commands: [
          {
            command: ['readlink', ...NAMESPACES.map((n) => `/proc/{engine}/ns/${n}`)],
            notice: "The engine's namespaces: the host's own.",
          },
          {
            command: ['readlink', ...NAMESPACES.map((n) => `/proc/{program}/ns/${n}`)],
            notice:
              "The container's: new mnt, uts, ipc, pid, net and cgroup namespaces (other numbers); the same user namespace (a root engine made none).",
          },
          {
            command: ['cat', '/proc/{program}/cgroup'],
            notice:
              "And its cgroup: nsx/<id> where nsx made one (the one line of v2; on v1 or hybrid, the hierarchies of the controllers nsx limits). In the other hierarchies it is where the engine is: a child is born in its parent's cgroup (cgroups(7)). The kernel counts and limits it in nsx/<id>.",
          },
          {
            command: ['nsx', 'rm', '-f', 'sleeper'],
            notice: 'Removed: the engine killed it and the kernel tore down its namespaces with its last process.',
          },
        ],
      },
    ],
  },
  // The task: a container running under the machine's engine, created by talking to the API directly.
  async check() {
    const reached = await reachEngine();
    if ('fail' in reached) return reached.fail;
    const { client } = reached;
    const engine = (await client.call<{ Pid?: number }>('GET', '/version'))?.Pid;
    const running = (await client.call<{ Id: string; Names: string[] }[]>('GET', '/containers/json')) ?? [];
    for (const c of running) {
      const pid = (await client.call<{ State: { Pid: number } }>('GET', `/containers/${c.Id}/json`))?.State.Pid;
      if (!pid || !engine) continue;
      const chain = [pid];
      for (let p = parentOf(pid); p && p > 1 && chain.length < 10; p = parentOf(p)) {
        chain.push(p);
        if (p === engine) break;
      }
      if (chain[chain.length - 1] === engine) {
        const shown = chain
          .reverse()
          .map((p) => `${commOf(p)} (${p})`)
          .join(' → ');
        return {
          ok: true,
          message: `${c.Names[0]?.replace(/^\//, '')} is running, the engine's descendant: ${shown}.`,
        };
      }
    }
    return {
      ok: false,
      message: running.length
        ? "The engine's running containers could not be traced back to it in /proc."
        : 'The engine has no running container: create one that lasts through its API, and start it.',
    };
  },
  hints: [
    "The lesson's engine-api is a convenience; curl speaks HTTP over a Unix socket too (its --unix-socket option), and the root engine's socket is /run/nsx/nsxd.sock.",
    "Two requests: one creates, one starts. The container's command must still be running when you check.",
  ],
  quiz: [
    {
      question: 'How does the CLI get the engine to create a container?',
      choices: [
        "It calls a function in the engine's memory",
        "It sends an HTTP request over the engine's Unix socket",
        "It asks the kernel to run the engine's code",
      ],
      answer: 1,
      why: 'The two are separate user-space programs with separate memory; they talk over a Unix domain socket, "used to communicate between processes on the same machine" (unix(7)), in HTTP with JSON bodies. The engine then makes the system calls that build the container.',
    },
    {
      question: 'Since which Linux release can a process be created in a new PID namespace (CLONE_NEWPID)?',
      choices: ['2.6.24', '3.8', '5.6'],
      answer: 0,
      why: 'clone(2): "CLONE_NEWPID (since Linux 2.6.24)". 3.8 completed user namespaces; 5.6 added time namespaces (unshare(2): CLONE_NEWTIME). Docker drives features the kernel has had for years.',
    },
  ],
};

export default engineCli;
