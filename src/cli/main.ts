// nsx: the command line. An explicit list of yargs command modules; handlers import their heavy
// modules lazily so `nsx --help` stays fast.
import type { Argv } from 'yargs';
import { createCommand, markCommandStart, runCommand, runtimeCommand } from './run/index.js';
import { doctorCommand } from './doctor/index.js';
import { pullCommand } from './pull/index.js';
import { pushCommand } from './push/index.js';
import { imagesCommand } from './images/index.js';
import { rmiCommand } from './rmi/index.js';
import { tagCommand } from './tag/index.js';
import { imageCommand } from './image/index.js';
import { checkCommand, learnCommand, lessonCommand, progressCommand } from './learn/index.js';
import { engineCommands } from './engine/index.js';
import { fsCommands } from './fs/index.js';
import { seccompCommand } from './seccomp/index.js';
import { buildCommands } from './build/index.js';
import { versionCommand } from './version/index.js';
import { UsageError, type AnyCommand, type ExitHolder } from './types.js';
import { loadYargs, withoutHelpCache } from './yargs.js';

export const commands = (exit: ExitHolder): AnyCommand[] => [
  learnCommand(exit),
  lessonCommand(exit),
  checkCommand(exit),
  progressCommand(exit),
  runCommand(exit),
  createCommand(exit),
  runtimeCommand(exit),
  doctorCommand(exit),
  pullCommand(exit),
  pushCommand(exit),
  imagesCommand(exit),
  rmiCommand(exit),
  tagCommand(exit),
  imageCommand(exit),
  ...engineCommands(exit),
  ...fsCommands(exit),
  seccompCommand(exit),
  ...buildCommands(exit),
  versionCommand(exit),
];

export async function buildCli(argv: string[], exit: ExitHolder): Promise<Argv> {
  const yargs = await loadYargs();
  return withoutHelpCache(yargs(markCommandStart(argv)))
    .scriptName('nsx')
    .usage(
      '$0 <command> [options]\n\nnamespace-explorer: watch a real container being built, one Linux kernel feature at a time.',
    )
    .command(commands(exit))
    .demandCommand(1, 'Name a command: nsx learn, nsx run, nsx doctor (nsx --help lists them).')
    .strict()
    .recommendCommands()
    .exitProcess(false)
    .wrap(Math.min(100, process.stdout.columns || 80))
    .epilogue('Docs: README.md. Check this machine first with: nsx doctor')
    .fail((msg, err) => {
      if (err) throw err;
      throw new UsageError(msg);
    })
    .version()
    .help();
}

/** Runs the CLI and returns the exit status (docker's: 125 for nsx's own errors). */
export async function runCli(argv: string[]): Promise<number> {
  const exit: ExitHolder = { exitCode: 0 };
  try {
    await (await buildCli(argv, exit)).parseAsync();
    return exit.exitCode;
  } catch (e) {
    const { NsxError } = await import('../runtime/errors.js');
    if (e instanceof UsageError) {
      process.stderr.write(`nsx: ${e.message}\n  See 'nsx --help'.\n`);
      return 125;
    }
    if (e instanceof NsxError) {
      process.stderr.write(`nsx: ${e.describe()}\n`);
      return e.exitCode;
    }
    process.stderr.write(`nsx: unexpected error (a bug in namespace-explorer): ${(e as Error)?.stack ?? e}\n`);
    return 125;
  }
}
