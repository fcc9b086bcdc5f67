import type { Lesson } from '../../src/learn/lesson.js';
import { checkTask } from './check.js';
import { startBigLab } from './lab.js';

// No wget -T: busybox 1.35's wget crashes with it (SIGSEGV, seen here); --health-timeout bounds a probe.
const PROBE = 'wget -q -O /dev/null http://127.0.0.1:8080/';
/** Lines of nsx inspect that say how a container is: its state, PID 1, restarts, health. */
const STATE = (name: string) => `nsx inspect ${name} | grep -E '"(Status|Pid|RestartCount|FailingStreak)"' | tr -s ' '`;
/** Follows nsx events while `then` runs, then shows what they said. */
const WATCHING = (then: string, seconds: number) =>
  `nsx events > {dir}/events.txt & E=$!; sleep 1.5; ${then}; sleep ${seconds}; kill $E; cat {dir}/events.txt`;

const biggerPicture: Lesson = {
  id: 'bigger-picture',
  title: 'The bigger picture: restarts, replicas, desired state',
  minutes: 12,
  needsRoot: true,
  manPages: ['systemd.service(5)', 'veth(4)', 'network_namespaces(7)', 'cgroups(7)', 'kill(1)'],
  focus: [],
  demos: [],
  tour: {
    setup: startBigLab,
    stops: [
      {
        id: 'restart',
        title: 'Life cycle: the engine restarts what dies',
        commands: [
          {
            command: [
              'nsx',
              'run',
              '-d',
              '--name',
              'svc',
              '--restart',
              'always',
              '--network',
              'veth',
              'nsx-sandbox/server:1',
              'server',
              '--serve',
            ],
            notice: 'A service in the background, its restart policy "always" (docker\'s --restart).',
          },
          {
            command: ['sh', '-c', `sleep 0.5; ${STATE('svc')}`],
            notice: 'Running, PID 1 of the container seen from the host as {pid}, no restart yet.',
            gives: (out) => ({ pid: /"Pid": (\d+)/.exec(out)?.[1] ?? '' }),
          },
          {
            command: ['sh', '-c', WATCHING('kill -9 {pid}', 2)],
            notice:
              'Its program killed from the host (SIGKILL): the engine saw it die (exit 137) and started it again ("restart").',
          },
          {
            command: ['sh', '-c', STATE('svc')],
            notice: 'A new PID 1, and RestartCount 1: the policy did it, not a person.',
          },
        ],
      },
      {
        id: 'engine',
        title: 'And when the engine itself dies',
        commands: [
          {
            command: [
              'sh',
              '-c',
              'echo "PID 1 here: $(cat /proc/1/comm)"; systemctl cat nsxd.service 2>/dev/null || sed -n "/^\\[Unit\\]/,/^WantedBy/p" {root}/scripts/provision.sh',
            ],
            notice:
              'In the VM, systemd (PID 1) runs nsxd.service with Restart=on-failure: it starts a killed engine again after RestartSec=2. Where PID 1 is not systemd, nobody does: the lesson does it by hand.',
          },
          {
            command: ['sh', '-c', 'kill -9 $(cat {state}/nsxd.pid); sleep 1; nsx ps -a; sleep 1; nsx ps'],
            notice:
              'The engine killed: its containers died with it (their supervisors saw its socket close). The next nsx verb started an engine ("started the engine", systemd\'s part here), which read its state file and started svc again: its policy says always.',
            seconds: 40,
          },
        ],
      },
      {
        id: 'health',
        title: 'Alive is not healthy',
        commands: [
          {
            command: [
              'nsx',
              'run',
              '-d',
              '--name',
              'sick',
              '--network',
              'veth',
              '--health-cmd',
              PROBE,
              '--health-interval',
              '1s',
              '--health-timeout',
              '1s',
              '--health-retries',
              '2',
              'nsx-sandbox/server:1',
              'sh',
              '-c',
              'server --serve & wait',
            ],
            notice:
              "A service with a health check: every second, a request to its own port, run inside it as an exec (docker's --health-cmd).",
          },
          {
            command: ['sh', '-c', 'sleep 2; nsx ps'],
            notice: 'STATUS says "(healthy)": the probe answered.',
          },
          {
            command: ['sh', '-c', WATCHING("nsx exec sick sh -c 'kill -STOP $(pidof httpd)'", 5) + '; nsx ps'],
            notice:
              'Its web server stopped (SIGSTOP), not killed: the container runs on, but two probes in a row got no answer and it is "(unhealthy)" — an event said so.',
            seconds: 40,
          },
          {
            command: ['sh', '-c', `${STATE('sick')}; nsx restart -t 1 sick; sleep 2; nsx ps`],
            notice:
              "Docker only marks it; restarting an unhealthy container is someone else's job (a person, a script, an orchestrator). Restarted, it is healthy again.",
            seconds: 40,
          },
        ],
      },
      {
        id: 'replicas',
        title: 'Replicas and a rolling update',
        commands: [
          {
            command: ['reconcile', 'nsx-sandbox/server:1', '3'],
            notice:
              'Three replicas of server:1, web-1…web-3, each in its network namespace with its own veth pair and address.',
            seconds: 40,
          },
          {
            command: ['rollout', 'nsx-sandbox/server:2'],
            notice:
              'A request every 20 ms, round-robin over the replicas, while each is replaced by a server:2: the new one joins once it answers, the old one leaves the rotation before it is removed. The count: answers by version, and failed requests.',
            seconds: 60,
          },
          { command: ['nsx', 'ps'], notice: 'Three replicas of server:2, under the old names.' },
        ],
      },
      {
        id: 'desired',
        title: 'Desired state: a reconcile loop',
        commands: [
          {
            command: ['sed', '-n', '/^export async function reconcile/,/^}/p', '{lessonDir}/reconcile.ts'],
            notice:
              'The whole controller: observe (list containers), compare with "N replicas of IMAGE, running", act (remove what is wrong, create what is missing). Through the engine\'s API only.',
          },
          {
            command: ['nsx', 'rm', '-f', 'web-2'],
            notice: 'One replica gone — a crash the restart policy cannot undo, because the container itself is gone.',
          },
          {
            command: ['reconcile', 'nsx-sandbox/server:2', '3'],
            notice:
              "One pass of the loop found two of three and made the third. Run with --watch it would do this every second, for ever: that is an orchestrator's controller.",
            seconds: 40,
          },
        ],
      },
      {
        id: 'visibility',
        title: 'Visibility: what runs, and how',
        commands: [
          {
            command: ['nsx', 'stats', '--no-stream'],
            notice: 'CPU, memory and pids of each replica, read from its cgroup.',
          },
          { command: ['nsx', 'top', 'web-1'], notice: 'The processes of one replica, as the host sees them.' },
          { command: ['nsx', 'logs', 'web-1'], notice: 'What its program printed: the version it found in its image.' },
        ],
      },
    ],
  },
  check: checkTask,
  hints: [
    'The task wants a container of your own, made after the task was shown, with a health check and a restart policy.',
    "nsx run takes docker's --health-cmd (a shell command run inside the container) and --health-interval; --restart always for the policy.",
    "Wait until nsx ps says (healthy), then kill the container's PID 1 from the host (nsx inspect shows its Pid) and run nsx check again.",
  ],
  quiz: [
    {
      question: 'A container with --restart always is killed with SIGKILL from the host. What happens?',
      choices: [
        'It stays exited: a killed container is never restarted',
        'The engine sees it exit (die, 137) and starts it again after a short back-off; RestartCount grows',
        'The kernel restarts PID 1 of the namespace',
      ],
      answer: 1,
      why: "The restart policy is the engine's: it waits on the container's exit and, for always (and on-failure with a non-zero exit), starts it again with a back-off of 100 ms doubling (moby's daemon/restartmanager). Only docker stop/kill by hand (or a removal) stop that.",
    },
    {
      question: 'What does docker do with a container whose health check reports "unhealthy"?',
      choices: [
        'It restarts it at once',
        'It marks it (State.Health, ps, a health_status event) and leaves it running; restarting it is for a person or an orchestrator',
        'It removes it',
      ],
      answer: 1,
      why: "docker run's HEALTHCHECK only sets the status (moby's daemon/health.go); Swarm replaces unhealthy tasks, and Kubernetes' liveness probes restart containers: those are the orchestrators' additions.",
    },
    {
      question: 'What makes a reconcile loop different from a script that starts three containers?',
      choices: [
        'It is faster',
        'It runs again and again, comparing the desired state with what is and acting on the difference, so a replica that disappears comes back',
        'It uses a different container runtime',
      ],
      answer: 1,
      why: "A controller observes, diffs and acts in a loop (Kubernetes' controller pattern: kubernetes.io/docs/concepts/architecture/controller/). A script acts once; the loop keeps acting until reality matches the declaration.",
    },
  ],
};

export default biggerPicture;
