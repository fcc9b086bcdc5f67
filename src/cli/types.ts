// What main.ts and every command module share. Apart from main.ts so that a command module imports
// nothing that imports it back (main.ts lists the commands; the commands need only these).
import type { ArgumentsCamelCase, CommandModule } from 'yargs';

/** Set by a handler: the process's exit status. */
export interface ExitHolder {
  exitCode: number;
}

/** A mistake on the command line, in yargs' words: nsx prints it with a pointer to --help and exits 125. */
export class UsageError extends Error {}

/** One entry of the list main.ts gives yargs. Each module is typed where it is built (its arguments
 *  inferred from its builder); the list holds commands of different arguments, as yargs' own
 *  `.command(modules: CommandModule<T, any>[])` does. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyCommand = CommandModule<object, any>;

/** A verb: takes the parsed arguments, answers the exit status. */
export type Verb<A> = (args: A) => number | Promise<number>;

/**
 * A command whose work lives in another module: that module is imported only when the command runs
 * (so `nsx --help` and every other command never load it), and the verb's answer becomes the exit
 * status. The arguments are typed by the builder (yargs infers them), and `verb` picks the function
 * out of the loaded module, e.g. `lazyCommand(exit, { command: 'ps', builder }, load, (h) => h.ps)`.
 */
export function lazyCommand<U, M>(
  exit: ExitHolder,
  module: Omit<CommandModule<object, U>, 'handler'>,
  load: () => Promise<M>,
  verb: (loaded: M) => Verb<ArgumentsCamelCase<U>>,
): CommandModule<object, U> {
  return {
    ...module,
    handler: async (args) => {
      exit.exitCode = await verb(await load())(args);
    },
  };
}

/** The positional of docker's verbs that take one or more containers (ps's ids, names, prefixes). */
export const containers = {
  type: 'string',
  array: true,
  demandOption: true,
  describe: 'Container names or ids (or unique id prefixes)',
} as const;
