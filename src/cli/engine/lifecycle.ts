// nsx pause, unpause, restart, rename, update and container prune: docker's verbs of the same names,
// through nsxd (the work in lifecycle-handlers.ts, loaded only when one of them runs).
import { containers, lazyCommand, type AnyCommand, type ExitHolder } from '../types.js';

const load = () => import('./lifecycle-handlers.js');

export function lifecycleCommands(exit: ExitHolder): AnyCommand[] {
  return [
    lazyCommand(
      exit,
      {
        command: 'pause <containers..>',
        describe: 'Freeze all processes of containers (the cgroup freezer: they stop where they are)',
        builder: (y) => y.positional('containers', containers),
      },
      load,
      (h) => h.pause,
    ),
    lazyCommand(
      exit,
      {
        command: 'unpause <containers..>',
        describe: 'Thaw the processes of paused containers',
        builder: (y) => y.positional('containers', containers),
      },
      load,
      (h) => h.unpause,
    ),
    lazyCommand(
      exit,
      {
        command: 'restart <containers..>',
        describe: 'Stop containers (SIGTERM, SIGKILL after --time seconds), then start them again',
        builder: (y) =>
          y.positional('containers', containers).options({
            time: { alias: 't', type: 'number', describe: 'Seconds to wait before killing the container (default 10)' },
          }),
      },
      load,
      (h) => h.restart,
    ),
    lazyCommand(
      exit,
      {
        command: 'rename <container> <name>',
        describe: 'Give a container a new name',
        builder: (y) =>
          y
            .positional('container', { type: 'string', demandOption: true })
            .positional('name', { type: 'string', demandOption: true }),
      },
      load,
      (h) => h.rename,
    ),
    lazyCommand(
      exit,
      {
        command: 'update <containers..>',
        describe: "Change containers' limits, in their live cgroup while they run",
        builder: (y) =>
          y.positional('containers', containers).options({
            memory: {
              alias: 'm',
              type: 'string',
              describe: 'Memory limit (e.g. 64m): memory.max / memory.limit_in_bytes',
            },
            'pids-limit': { type: 'number', describe: 'Process limit (pids.max; -1 or 0: unlimited)' },
            cpus: { type: 'number', describe: 'Number of CPUs (cpu.max / cpu.cfs_quota_us)' },
          }),
      },
      load,
      (h) => h.update,
    ),
    lazyCommand(
      exit,
      {
        command: 'container <action>',
        describe: 'Manage containers: prune removes every stopped one',
        builder: (y) =>
          y
            .positional('action', { choices: ['prune'] as const, demandOption: true, describe: 'prune' })
            .options({ force: { alias: 'f', type: 'boolean', describe: 'Do not prompt for confirmation' } }),
      },
      load,
      (h) => h.prune,
    ),
  ];
}
