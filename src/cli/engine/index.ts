// The engine and the verbs that talk to it: nsx engine start|stop|status, and docker's ps, logs,
// wait, inspect, stop, kill, rm. Every verb is a client of nsxd; one finding no engine starts it.
import { containers, lazyCommand, type AnyCommand, type ExitHolder } from '../types.js';
import { lifecycleCommands } from './lifecycle.js';

const load = () => import('./handlers.js');

export function engineCommands(exit: ExitHolder): AnyCommand[] {
  return [
    lazyCommand(
      exit,
      {
        command: 'engine <action>',
        describe: 'Start, stop or ask about nsxd, the engine that runs containers in the background',
        builder: (y) =>
          y
            .positional('action', {
              choices: ['start', 'stop', 'status'] as const,
              demandOption: true,
              describe: 'start | stop | status',
            })
            .example('sudo nsx engine start', 'Start the engine (containers become its children)'),
      },
      load,
      (h) => (a) => ({ start: h.engineStart, stop: h.engineStop, status: h.engineStatus })[a.action](),
    ),
    lazyCommand(
      exit,
      {
        command: 'ps',
        describe: 'List containers (running ones; -a all)',
        builder: (y) =>
          y.options({
            all: { alias: 'a', type: 'boolean', describe: 'Show all containers (default shows just running)' },
            quiet: { alias: 'q', type: 'boolean', describe: 'Only display container IDs' },
            'no-trunc': { type: 'boolean', describe: "Don't truncate output" },
          }),
      },
      load,
      (h) => h.ps,
    ),
    lazyCommand(
      exit,
      {
        command: 'logs <container>',
        describe: 'Fetch the output of a container',
        builder: (y) =>
          y
            .positional('container', { type: 'string', demandOption: true })
            .options({ follow: { alias: 'f', type: 'boolean', describe: 'Follow log output' } }),
      },
      load,
      (h) => h.logs,
    ),
    lazyCommand(
      exit,
      {
        command: 'wait <containers..>',
        describe: 'Block until containers stop, then print their exit codes',
        builder: (y) => y.positional('containers', containers),
      },
      load,
      (h) => h.wait,
    ),
    lazyCommand(
      exit,
      {
        command: 'top <container>',
        describe: 'The processes of a running container, as the host sees them (host PIDs)',
        builder: (y) => y.positional('container', { type: 'string', demandOption: true }),
      },
      load,
      (h) => h.top,
    ),
    lazyCommand(
      exit,
      {
        command: 'stats [containers..]',
        describe: 'CPU, memory and pids of running containers, from their cgroups (live; --no-stream: once)',
        builder: (y) =>
          y
            .positional('containers', { type: 'string', array: true, describe: 'Containers (default: all running)' })
            .options({
              stream: {
                type: 'boolean',
                default: true,
                describe: 'Refresh every second (--no-stream: print one sample and exit)',
              },
            }),
      },
      load,
      (h) => h.stats,
    ),
    lazyCommand(
      exit,
      {
        command: 'events',
        describe: 'What happens to containers, as it happens: create, start, kill, die, restart, destroy',
      },
      load,
      (h) => h.events,
    ),
    lazyCommand(
      exit,
      {
        command: 'inspect <containers..>',
        describe:
          'Low-level information on containers (JSON), with their namespaces, cgroup, capabilities and seccomp mode',
        builder: (y) => y.positional('containers', containers),
      },
      load,
      (h) => h.inspect,
    ),
    lazyCommand(
      exit,
      {
        command: 'start <containers..>',
        describe: 'Start created or stopped containers (-a: follow the output, exit with its code)',
        builder: (y) =>
          y.positional('containers', containers).options({
            attach: {
              alias: 'a',
              type: 'boolean',
              describe: "Attach STDOUT/STDERR and exit with the container's code",
            },
          }),
      },
      load,
      (h) => h.start,
    ),
    lazyCommand(
      exit,
      {
        command: 'exec [options] [container] [command..]',
        describe: 'Run a command in a running container: its namespaces, cgroup, user, capabilities and seccomp filter',
        builder: (y) =>
          y
            .positional('container', { type: 'string', describe: 'The container (name, id or unique id prefix)' })
            .positional('command', {
              type: 'string',
              array: true,
              default: [],
              describe: 'The command and its arguments',
            })
            .options({
              detach: { alias: 'd', type: 'boolean', describe: 'Run it in the background' },
              interactive: { alias: 'i', type: 'boolean', describe: 'Keep its stdin open and send yours' },
              tty: { alias: 't', type: 'boolean', describe: 'A pseudo-terminal for the command' },
              env: { alias: 'e', type: 'string', array: true, describe: 'Set an environment variable: NAME=value' },
              workdir: { alias: 'w', type: 'string', describe: 'Working directory inside the container' },
              user: { alias: 'u', type: 'string', describe: 'User to run as: name|uid[:group|gid]' },
              privileged: { type: 'boolean', describe: 'All capabilities for the command' },
            })
            .parserConfiguration({ 'populate--': true })
            .example('sudo nsx exec web ps', "ps inside: the container's PID namespace")
            .example('sudo nsx exec -it web sh', 'A shell in a running container'),
      },
      load,
      (h) => (a) => {
        // The container and the command arrive after "--" (markCommandStart), verbatim.
        const rest = (a['--'] as string[] | undefined) ?? []; // populate--: yargs' types do not know it
        const words = [...(a.container !== undefined ? [a.container] : []), ...a.command, ...rest].map(String);
        return h.exec({ ...a, container: words[0], command: words.slice(1) });
      },
    ),
    lazyCommand(
      exit,
      {
        command: 'attach <container>',
        describe: 'Attach this terminal to a running container: its output here, your input to it (if made with -i)',
        builder: (y) =>
          y
            .positional('container', { type: 'string', demandOption: true })
            .options({ 'no-stdin': { type: 'boolean', describe: 'Do not send your input' } }),
      },
      load,
      (h) => h.attach,
    ),
    lazyCommand(
      exit,
      {
        command: 'stop <containers..>',
        describe: 'Stop running containers (SIGTERM, then SIGKILL after --time seconds)',
        builder: (y) =>
          y.positional('containers', containers).options({
            time: {
              alias: 't',
              type: 'number',
              describe: 'Seconds to wait before killing the container (default 10)',
            },
          }),
      },
      load,
      (h) => h.stop,
    ),
    lazyCommand(
      exit,
      {
        command: 'kill <containers..>',
        describe: 'Kill running containers (SIGKILL, or --signal)',
        builder: (y) =>
          y.positional('containers', containers).options({
            signal: { alias: 's', type: 'string', describe: 'Signal to send to the container (default KILL)' },
          }),
      },
      load,
      (h) => h.kill,
    ),
    lazyCommand(
      exit,
      {
        command: 'rm <containers..>',
        describe: 'Remove containers (-f: a running one too, killed first)',
        builder: (y) =>
          y.positional('containers', containers).options({
            force: {
              alias: 'f',
              type: 'boolean',
              describe: 'Force the removal of a running container (uses SIGKILL)',
            },
          }),
      },
      load,
      (h) => h.rm,
    ),
    ...lifecycleCommands(exit),
  ];
}
