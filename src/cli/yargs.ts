// yargs, made without laying out help at start-up. yargs' ESM entry (node_modules/yargs/index.mjs)
// builds its parser from a "platform shim" (yargs/lib/platform-shims/esm.mjs) that imports cliui and
// string-width at module scope. string-width's module scope constructs an Intl.Segmenter (ICU's
// grapheme break data: 16-26 ms measured here) and compiles /\p{RGI_Emoji}/v (4-7 ms), cliui brings
// wrap-ansi, strip-ansi, emoji-regex and get-east-asian-width: about 40 ms of `nsx --version`'s
// 180, spent on help that only `--help` and a usage error print.
//
// So this file gives yargs' factory (yargs/build/lib/yargs-factory.js, what index.mjs calls) the same
// shim as esm.mjs, member for member, except that cliui and string-width are loaded when yargs first
// calls them (the help layout, usage.js), synchronously with require() of an ES module (Node >= 20.19,
// package.json's engines). test/unit/cli-yargs.test.ts checks that the shim has every member of
// yargs' own, so a yargs upgrade that adds one fails there instead of at run time.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type yargs from 'yargs';
import type { Argv } from 'yargs';

/** yargs' default export: makes a parser for the given arguments. */
export type YargsFactory = typeof yargs;

/** yargs' own modules and dependencies, resolved from yargs' directory as its own imports are:
 *  `load` imports an ES module, `require` loads a CommonJS one (escalade/sync and y18n have both
 *  builds; their CommonJS one spares Node the CommonJS export scan of an import()). */
function yargsResolver() {
  const entry = createRequire(import.meta.url).resolve('yargs'); // …/node_modules/yargs/index.mjs
  const require = createRequire(entry);
  const load = (name: string): Promise<unknown> => import(pathToFileURL(require.resolve(name)).href);
  return { dir: dirname(entry), require, load };
}

/** The member that holds a module's export, whether loaded by import() or require() (an ES module
 *  whose default is exported as 'module.exports', as cliui's is, is that export itself). */
const main = <T>(m: unknown): T => ((m as { default?: T }).default ?? m) as T;

/** The platform shim of yargs/lib/platform-shims/esm.mjs (yargs 18), with cliui and string-width
 *  loaded on first use. */
export async function platformShim(): Promise<Record<string, unknown>> {
  const { dir, require, load } = yargsResolver();
  const [parser, argvBin] = await Promise.all([load('yargs-parser'), load('./build/lib/utils/process-argv.js')]);
  // esm.mjs: the directory above node_modules, where yargs looks for the package.json it takes
  // --version from.
  const mainFilename = dir.substring(0, dir.lastIndexOf('node_modules'));
  let cliui: ((opts: unknown) => unknown) | undefined;
  let stringWidth: ((s: string) => number) | undefined;
  // node:assert and node:util's inspect load a dozen of Node's own modules: yargs calls them only
  // to check its own calls and in a few error messages.
  const assert = (): typeof import('node:assert') => require('node:assert');
  return {
    assert: {
      notStrictEqual: (...a: [unknown, unknown, string?]) => assert().notStrictEqual(...a),
      strictEqual: (...a: [unknown, unknown, string?]) => assert().strictEqual(...a),
    },
    cliui: (opts: unknown) => (cliui ??= main<(opts: unknown) => unknown>(require('cliui')))(opts),
    findUp: main(require('escalade/sync')),
    getEnv: (key: string) => process.env[key],
    inspect: (value: unknown) => (require('node:util') as typeof import('node:util')).inspect(value),
    getProcessArgvBin: (argvBin as { getProcessArgvBin: () => string }).getProcessArgvBin,
    mainFilename: mainFilename || process.cwd(),
    Parser: main(parser),
    path: { basename, dirname, extname, relative, resolve, join },
    process: {
      argv: () => process.argv,
      cwd: process.cwd,
      emitWarning: (warning: string | Error, type?: string) => process.emitWarning(warning, type),
      execPath: () => process.execPath,
      exit: (code?: number) => process.exit(code),
      nextTick: process.nextTick,
      stdColumns: typeof process.stdout.columns !== 'undefined' ? process.stdout.columns : null,
    },
    readFileSync,
    readdirSync,
    require,
    // Only .commandDir() asks for its caller's file, and nsx lists its commands instead.
    getCallerFile: () => {
      const getCallerFile = main<(position?: number) => string>(require('get-caller-file'));
      const file = getCallerFile(3);
      return file.startsWith('file://') ? fileURLToPath(file) : file;
    },
    stringWidth: (s: string) => (stringWidth ??= main<(s: string) => number>(require('string-width')))(s),
    y18n: main<(o: object) => unknown>(require('y18n'))({ directory: resolve(dir, 'locales'), updateFiles: false }),
  };
}

/** yargs, as `import yargs from 'yargs'` gives it, without the help layout's modules loaded. */
export async function loadYargs(): Promise<YargsFactory> {
  const { load } = yargsResolver();
  const [factory, shim] = await Promise.all([load('./build/lib/yargs-factory.js'), platformShim()]);
  return (factory as { YargsFactory: (shim: object) => YargsFactory }).YargsFactory(shim);
}

/**
 * After starting a command's handler, yargs lays out that command's help and keeps it
 * (cacheHelpMessage, called in yargs/build/lib/command.js), so that a failure of the handler can show
 * the command's help instead of the top level's. For `nsx run` that is its forty options through
 * cliui and string-width, on every run. nsx never shows help on a failure (its .fail() throws and
 * runCli prints "See 'nsx --help'"), so the help is laid out only when --help asks for it.
 */
export function withoutHelpCache<T>(argv: Argv<T>): Argv<T> {
  type Internal = { getInternalMethods(): { getUsageInstance(): { cacheHelpMessage(): void } } };
  (argv as unknown as Internal).getInternalMethods().getUsageInstance().cacheHelpMessage = () => undefined;
  return argv;
}
