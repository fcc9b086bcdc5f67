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

/** The words a command answers to: the first word of its command string(s) and its aliases. */
const namesOf = (c: AnyCommand): string[] =>
  [c.command ?? [], c.aliases ?? []].flat().map((s) => String(s).split(' ')[0]);

/** An option word that asks yargs for help or for shell completion, both of which list the commands. */
const LISTS_COMMANDS = /^--?(no-)?(help|get-yargs-completions)(=|$)/;

/**
 * The commands yargs is given for these arguments. yargs parses every command module it is given
 * (.command(): its command string, positionals and handler), ~60 of them, but it needs the whole
 * table only to list it (--help, shell completion) or to match an unknown word against it
 * (recommendCommands' "Did you mean"). A first word that names a command needs that command only:
 * yargs runs it with a table of its own (reset() in yargs/build/lib/command.js, before the command's
 * builder), so its help, its checks and its errors never see the others. Arguments that are all
 * options, asking for neither help nor completion, need none: --version, or demandCommand's error.
 * Anything else (a first word that is no command, an option before the command, "--") gets them all.
 * test/unit/cli-table.test.ts checks that each choice prints what the whole table prints.
 */
export function commandsFor(argv: string[], table: () => AnyCommand[]): AnyCommand[] {
  const first = argv[0];
  if (first === undefined || first.startsWith('-')) {
    return argv.every((w) => /^--?[A-Za-z]/.test(w) && !LISTS_COMMANDS.test(w)) ? [] : table();
  }
  const all = table();
  const named = all.filter((c) => namesOf(c).includes(first));
  return named.length === 1 ? named : all;
}

/** yargs with nsx's commands: only those these arguments need (commandsFor), or with `every` all. */
export async function buildCli(argv: string[], exit: ExitHolder, every = false): Promise<Argv> {
  const yargs = await loadYargs();
  const table = () => commands(exit);
  return withoutHelpCache(yargs(markCommandStart(argv)))
    .scriptName('nsx')
    .usage(
      '$0 <command> [options]\n\nnamespace-explorer: watch a real container being built, one Linux kernel feature at a time.',
    )
    .command(every ? table() : commandsFor(argv, table))
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

/** Runs the CLI and returns the exit status (docker's: 125 for nsx's own errors). `every`: give
 *  yargs every command whatever the arguments (the tests compare it with the table commandsFor picks). */
export async function runCli(argv: string[], every = false): Promise<number> {
  const exit: ExitHolder = { exitCode: 0 };
  try {
    await (await buildCli(argv, exit, every)).parseAsync();
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
