// nsx run: docker run's options and meaning: nsx run [OPTIONS] IMAGE [COMMAND…], or on a root
// filesystem directory with --rootfs DIR (then every word after the options is the command). The
// engine makes and keeps the container; nsx runtime run runs one in this process (runc's place).
import type { Argv, CommandModule } from 'yargs';
import { lazyCommand, type ExitHolder } from '../types.js';
import { HEALTH_OPTIONS, HEALTH_VALUE_OPTIONS } from './health.js';

export interface RunArgs {
  rootfs?: string;
  pull?: string;
  entrypoint?: string;
  command: string[];
  name?: string;
  hostname?: string;
  rm?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
  memory?: string;
  'pids-limit'?: number;
  cpus?: string;
  'cap-add'?: string[];
  'cap-drop'?: string[];
  privileged?: boolean;
  'security-opt'?: string[];
  network?: string;
  userns?: string;
  cgroupns?: string;
  step?: boolean;
  trace?: boolean;
  events?: string;
  'unsafe-chroot'?: boolean;
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  restart?: string;
  'health-cmd'?: string;
  'health-interval'?: string;
  'health-timeout'?: string;
  'health-start-period'?: string;
  'health-retries'?: number;
  'no-healthcheck'?: boolean;
}

/** The options that take a value (the rest are flags): needed to find where the command starts. */
const VALUE_OPTIONS = new Set([
  'rootfs',
  'pull',
  'entrypoint',
  'name',
  'hostname',
  'h',
  'env',
  'e',
  'workdir',
  'w',
  'user',
  'u',
  'memory',
  'm',
  'pids-limit',
  'cpus',
  'cap-add',
  'cap-drop',
  'security-opt',
  'network',
  'userns',
  'cgroupns',
  'events',
  'restart',
  ...HEALTH_VALUE_OPTIONS,
]);

/** The verbs whose words after the options are IMAGE [COMMAND…] (run, create) or CONTAINER COMMAND… (exec). */
const COMMAND_VERBS = new Set(['run', 'create', 'exec']);

/** docker run's rule: options end at the first word that is not one (the IMAGE, or with --rootfs the
 *  command); the rest is the command, verbatim (so `nsx run busybox sh -c 'ls -l'` passes -c and -l
 *  to sh). Inserts "--" there for yargs. */
export function markCommandStart(argv: string[]): string[] {
  let at = argv.findIndex((w) => !w.startsWith('-'));
  if (argv[at] === 'runtime' && argv[at + 1] === 'run') at++; // nsx runtime run: run's words
  if (at < 0 || !COMMAND_VERBS.has(argv[at])) return argv;
  for (let i = at + 1; i < argv.length; i++) {
    const t = argv[i];
    if (t === '--') return argv;
    if (t.startsWith('-') && t !== '-') {
      const name = t.replace(/^--?/, '');
      if (
        !name.includes('=') &&
        VALUE_OPTIONS.has(name) &&
        !(t.startsWith('-') && !t.startsWith('--') && name.length > 1)
      )
        i++;
      continue;
    }
    return [...argv.slice(0, i), '--', ...argv.slice(i)];
  }
  return argv;
}

/** nsx run's (and nsx create's) positionals and options: docker run's. The handlers get the image and the
 *  command as one list (commandWords) and split them themselves. */
const runOptions = (y: Argv) =>
  y
    .positional('image', {
      type: 'string',
      describe: 'The image (pulled when not in the store); left out with --rootfs',
    })
    .positional('command', {
      type: 'string',
      array: true,
      default: [],
      describe: "The command and its arguments (default: the image's)",
    })
    .options({
      rootfs: {
        type: 'string',
        describe: 'Run on a root filesystem directory instead of an image (build one: npm run sandbox)',
      },
      pull: { type: 'string', describe: 'Pull the image: always | missing (default: when not in the store) | never' },
      entrypoint: { type: 'string', describe: 'Replace the image\'s ENTRYPOINT (and its CMD); "" clears it' },
      name: { type: 'string', describe: 'A name for the container' },
      hostname: { alias: 'h', type: 'string', describe: 'Container host name (default: the short id)' },
      rm: {
        type: 'boolean',
        describe: 'Remove the container when it exits (otherwise nsx ps -a keeps it, with its exit code and logs)',
      },
      detach: {
        alias: 'd',
        type: 'boolean',
        describe: 'Start it in the background and print its id',
      },
      interactive: { alias: 'i', type: 'boolean', describe: 'Keep its stdin open and send yours' },
      tty: { alias: 't', type: 'boolean', describe: 'A pseudo-terminal for the command' },
      restart: { type: 'string', describe: 'no | always | unless-stopped | on-failure[:N]' },
      env: {
        alias: 'e',
        type: 'string',
        array: true,
        describe: 'Set an environment variable: NAME=value, or NAME to copy it',
      },
      workdir: { alias: 'w', type: 'string', describe: 'Working directory inside the container' },
      user: { alias: 'u', type: 'string', describe: 'User to run as: name|uid[:group|gid]' },
      memory: { alias: 'm', type: 'string', describe: 'Memory limit, e.g. 64m (cgroup)' },
      'pids-limit': { type: 'number', describe: 'Maximum number of processes (cgroup)' },
      cpus: { type: 'string', describe: 'CPU limit, e.g. 0.5 (cgroup)' },
      'cap-add': { type: 'string', array: true, describe: 'Add a Linux capability (or ALL)' },
      'cap-drop': { type: 'string', array: true, describe: 'Drop a Linux capability (or ALL)' },
      privileged: { type: 'boolean', describe: 'All capabilities, no seccomp, no masked paths' },
      'security-opt': {
        type: 'string',
        array: true,
        describe: 'no-new-privileges | seccomp=PROFILE.json | seccomp=unconfined',
      },
      network: { type: 'string', describe: 'none (only lo) | host | veth (a pair to the host)', default: 'none' },
      userns: { type: 'string', describe: 'host | private (default: host as root, private otherwise)' },
      cgroupns: { type: 'string', describe: 'private (default: a cgroup namespace of its own) | host' },
      step: {
        type: 'boolean',
        describe:
          'Pause before every step (nsx ps shows it): Enter applies, s opens a shell inside, c continues, q quits',
      },
      trace: { type: 'boolean', describe: 'Print every step and its evidence without pausing' },
      events: { type: 'string', describe: "Write the runtime's events as JSON lines to FILE (- for stdout)" },
      'unsafe-chroot': {
        type: 'boolean',
        describe: 'Use chroot instead of pivot_root (UNSAFE: for the chroot lesson)',
      },
      ...HEALTH_OPTIONS,
    })
    .parserConfiguration({ 'populate--': true })
    .example('nsx run dockerinaction/hello_world', 'Pull the image if needed and run its default command')
    .example('sudo nsx run --step --rootfs sandbox/rootfs/busybox /bin/sh', 'Build a container step by step')
    .example('sudo nsx run --rm -m 64m --pids-limit 32 --rootfs sandbox/rootfs/busybox ps', 'Limits and ps inside')
    .example('sudo nsx run -it busybox sh', 'A shell in a terminal (nsx ps shows it while it runs)')
    .example('sudo nsx run -d --name web --restart on-failure:3 busybox httpd -f', 'In the background');

export function runCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'run [options] [image] [command..]',
      describe: 'Run a command in a new container (docker run: the engine makes it and keeps it until nsx rm)',
      builder: (y) =>
        runOptions(y).epilogue(
          'The engine (nsxd) makes the container, as dockerd does; one is started if none runs. The container stays in nsx ps -a with its exit code and logs until nsx rm (or --rm). nsx runtime run runs one without the engine, in this process.',
        ),
    },
    () => import('./run.js'),
    (h) => (a) => h.runContainer({ ...a, command: commandWords(a) }),
  );
}

/** nsx runtime run: the runtime alone, in this process, as runc runs a container under docker: no
 *  engine, no record; removed when it exits. Takes nsx run's options but -d, -i, -t, --restart, --step. */
export function runtimeCommand(exit: ExitHolder): CommandModule<object, object> {
  const run = lazyCommand(
    exit,
    {
      command: 'run [options] [image] [command..]',
      describe: 'Run a container in this process, without the engine (removed when it exits)',
      builder: (y: Argv) =>
        runOptions(y).epilogue(
          "The runtime alone, as runc is under docker: no engine, nothing kept (as --rm), no -d, -i, -t, --restart or --step. For the runtime's own tests, bench/run.mjs, and a machine without the engine; nsx run is docker run.",
        ),
    },
    () => import('./handler.js'),
    (h) => (a) => h.runInProcess({ ...a, command: commandWords(a) }),
  );
  return {
    command: 'runtime <command>',
    describe: "The runtime under the engine (runc's place): nsx runtime run",
    builder: (y) => y.command(run).demandCommand(1, 'Name a runtime command: nsx runtime run'),
    handler: () => undefined,
  };
}

/** nsx create: docker create — the container made by the engine, not started (nsx start starts it). */
export function createCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'create [options] [image] [command..]',
      describe: 'Create a container through the engine without starting it (nsx start starts it)',
      builder: runOptions,
    },
    () => Promise.all([import('../../runtime/real-root.js'), import('./engine-run.js')]),
    ([host, m]) =>
      (a) =>
        m.createContainer(a, commandWords(a), host.isRealRoot()),
  );
}

/** The image and the command arrive together after "--" (markCommandStart). */
function commandWords(args: RunArgs): string[] {
  const a = args as RunArgs & { image?: string; '--'?: string[] };
  return [...(a.image !== undefined ? [a.image] : []), ...(args.command ?? []), ...(a['--'] ?? [])].map(String);
}
