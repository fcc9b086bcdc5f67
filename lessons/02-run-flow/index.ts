import type { Lesson } from '../../src/learn/lesson.js';
import { LAB_IMAGE, reachEngine, startLab } from '../engine-lab.js';

/** The host PID in `nsx top`'s output (docker's columns: UID PID PPID …): its first process. */
export function firstPid(top: string): Record<string, string> {
  const [head, row] = top.trim().split('\n');
  const col = head.trim().split(/\s+/).indexOf('PID');
  const pid = row?.trim().split(/\s+/)[col];
  return pid && /^\d+$/.test(pid) ? { program: pid } : {};
}

const create = (name: string, body: string) => ['engine-api', 'POST', `/containers/create?name=${name}`, body];
const HELLO = JSON.stringify({ Image: LAB_IMAGE });

const runFlow: Lesson = {
  id: 'run-flow',
  title: 'docker run, step by step: store, registry, create, start',
  minutes: 8,
  needsRoot: true,
  manPages: ['pid_namespaces(7)', 'kill(2)', 'signal(7)', 'unix(7)'],
  focus: [],
  demos: [],
  tour: {
    setup: () => startLab({ registry: true }),
    stops: [
      {
        id: 'store',
        title: 'Is the image here? The local store',
        commands: [
          {
            command: ['nsx', 'images'],
            notice: "The lab's store is empty: the image is not here, so it must be found on a registry.",
          },
        ],
      },
      {
        id: 'registry',
        title: 'Not here: find it on the registry and download it',
        commands: [
          {
            command: ['nsx', 'pull', LAB_IMAGE],
            notice:
              "Found on the lab's registry (127.0.0.1, the first in its search list), downloaded, checked against its digest, unpacked.",
          },
          {
            command: ['cat', '{registryLog}'],
            notice:
              'What the registry was asked: the manifest by its tag (the look-up), then the blobs it names by digest (the download: the config, then the one layer).',
          },
          {
            command: ['nsx', 'images'],
            notice:
              'Now it is in the store, under the name of the registry it came from. The next run finds it here and asks no registry.',
          },
        ],
      },
      {
        id: 'create',
        title: 'Create the container',
        commands: [
          {
            command: create('first', HELLO),
            notice:
              "The CLI's request to the engine: create a container from the image. The engine answers 201 with its id. Nothing runs yet.",
          },
          {
            command: ['nsx', 'ps', '-a'],
            notice: "The container exists, with the image's command, in the state Created: no process yet.",
          },
        ],
      },
      {
        id: 'start',
        title: 'Run it',
        commands: [
          {
            command: ['nsx', 'start', '-a', 'first'],
            notice:
              "Started, its output attached: the image's command, echo hello world, ran as the container's PID 1.",
          },
          {
            command: ['nsx', 'ps', '-a'],
            notice:
              "echo exited, so the container stopped: Exited (0), its program's exit status. It is stopped, not gone.",
          },
        ],
      },
      {
        id: 'twice',
        title: 'Run it again: a second container',
        commands: [
          { command: create('second', HELLO), notice: 'Another create, from the same image: another id.' },
          { command: ['nsx', 'start', '-a', 'second'], notice: 'The same program runs again, in the new container.' },
          {
            command: ['nsx', 'ps', '-a'],
            notice: 'Two containers from one image, each with its own id, name and state. The image was pulled once.',
          },
        ],
      },
      {
        id: 'program',
        title: 'One program: kill it, and the container stops',
        commands: [
          {
            command: create('lasting', JSON.stringify({ Image: LAB_IMAGE, Cmd: ['sleep', '300'] })),
            notice: "A container whose program lasts: sleep 300 instead of the image's echo.",
          },
          { command: ['nsx', 'start', 'lasting'], notice: 'Started in the background: the engine keeps it.' },
          {
            command: ['nsx', 'top', 'lasting'],
            notice: 'Its one program, as the host numbers it (PID). Inside its PID namespace it is PID 1.',
            gives: firstPid,
          },
          {
            command: ['kill', '-KILL', '{program}'],
            notice: 'Killed from the host, past the engine: kill(2) on that one process.',
          },
          {
            command: ['nsx', 'wait', 'lasting'],
            notice: '137 = 128 + 9: the program died of SIGKILL, and the engine saw the container end with it.',
          },
          { command: ['nsx', 'ps', '-a'], notice: 'Exited (137): the container stopped because its one program did.' },
        ],
      },
      {
        id: 'remove',
        title: 'Remove them',
        commands: [
          {
            command: ['nsx', 'rm', 'first', 'second', 'lasting'],
            notice: 'Stopped containers stay until removed; rm deletes their state and writable layer.',
          },
          {
            command: ['nsx', 'ps', '-a'],
            notice: 'None left. The image is still in the store, ready for the next run.',
          },
        ],
      },
    ],
  },
  // The task: two containers from one image on the machine's own engine, both run.
  async check() {
    const reached = await reachEngine(', then run your containers');
    if ('fail' in reached) return reached.fail;
    const { client } = reached;
    const all =
      (await client.call<{ Names: string[]; Image: string; State: string }[]>('GET', '/containers/json?all=1')) ?? [];
    const ran = all.filter((c) => c.State !== 'created');
    const byImage = new Map<string, string[]>();
    for (const c of ran) byImage.set(c.Image, [...(byImage.get(c.Image) ?? []), c.Names[0]?.replace(/^\//, '') ?? '?']);
    const twice = [...byImage.entries()].find(([, names]) => names.length >= 2);
    if (twice)
      return {
        ok: true,
        message: `${twice[1].length} containers ran from ${twice[0]} (${twice[1].join(', ')}): one image, a container for each run.`,
      };
    if (all.length)
      return {
        ok: false,
        message: `nsx ps -a lists ${all.length} container(s), but no image (or root filesystem) has two that have run yet.`,
      };
    return { ok: false, message: 'The engine has no containers yet (nsx ps -a is empty).' };
  },
  hints: [
    "The lesson's steps work on the machine's own engine too; without a lab the image must be in root's store first (the VM's registry has it; npm run sandbox:images -- --load puts it there offline).",
    'A container is created, then started. Do both, twice, from the same image; nsx ps -a shows what you have.',
  ],
  quiz: [
    {
      question: 'docker run IMAGE is run twice. How many containers are there afterwards?',
      choices: ['One, run twice', 'Two: each run creates a container', 'None: they are removed when they exit'],
      answer: 1,
      why: "docker run is create + start: each run makes a new container with its own id, writable layer and state, kept after it exits until docker rm (or --rm). The lesson's nsx ps -a listed first and second, both from one image.",
    },
    {
      question: "A container's only program is killed with kill -9 from the host. What happens to the container?",
      choices: ['The engine starts the program again', 'It stops: Exited (137)', 'It keeps running without a program'],
      answer: 1,
      why: 'A container runs as long as its PID 1 does; when PID 1 dies the kernel kills the rest of its PID namespace (pid_namespaces(7)) and the engine records the end: 128 + 9 for SIGKILL (signal(7)). Without a restart policy nothing starts it again.',
    },
  ],
};

export default runFlow;
