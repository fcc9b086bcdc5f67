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
// package.json's engines). The rest of yargs comes from yargs-parts.ts (or, in the bundle, from
// scripts/bundle/yargs-parts.mjs). test/unit/cli-yargs.test.ts checks that the shim has every member of
// yargs' own, so a yargs upgrade that adds one fails there instead of at run time.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type yargs from 'yargs';
import type { Argv } from 'yargs';
import { loadYargsParts } from './yargs-parts.js';

/** yargs' default export: makes a parser for the given arguments. */
export type YargsFactory = typeof yargs;

/** What yargs is made of: the modules yargs/lib/platform-shims/esm.mjs and index.mjs import, but for
 *  the help layout's (loaded by yargs-parts.ts at run time, or bundled: scripts/build-cli.mjs). */
export interface YargsParts {
  /** yargs/build/lib/yargs-factory.js */
  YargsFactory: (shim: object) => YargsFactory;
  /** yargs-parser's default export */
  Parser: unknown;
  /** yargs/build/lib/utils/process-argv.js */
  getProcessArgvBin: () => string;
  /** escalade/sync */
  findUp: unknown;
  /** y18n's default export */
  y18n: unknown;
  /** yargs' package directory (…/node_modules/yargs) */
  dir: string;
  /** require() from yargs' directory: what yargs needs only sometimes (cliui, string-width, get-caller-file) */
  require: NodeJS.Require;
}

/** The member that holds a module's export, whether loaded by import() or require() (an ES module
 *  whose default is exported as 'module.exports', as cliui's is, is that export itself). */
const main = <T>(m: unknown): T => ((m as { default?: T }).default ?? m) as T;

/** The platform shim of yargs/lib/platform-shims/esm.mjs (yargs 18), with cliui and string-width
 *  loaded on first use. */
export async function platformShim(parts?: YargsParts): Promise<Record<string, unknown>> {
  const { dir, require, ...p } = parts ?? (await loadYargsParts());
  // esm.mjs: the directory above node_modules, where yargs looks for the package.json it takes
  // --version from.
  const mainFilename = dir.substring(0, dir.lastIndexOf('node_modules'));
  let cliui: ((opts: unknown) => unknown) | undefined;
  let stringWidth: ((s: string) => number) | undefined;
  // node:assert and node:util's inspect load a dozen of Node's own modules (10-20 ms): yargs calls
  // assert to check its own calls (.version() does, on every run) and inspect in a few error
  // messages. The checks pass as node:assert's own would (its strict comparisons are Object.is,
  // https://nodejs.org/api/assert.html#assertstrictequalactual-expected-message); a failing one is
  // handed to node:assert, which throws its AssertionError.
  const fail = (): typeof import('node:assert') => require('node:assert');
  return {
    assert: {
      notStrictEqual: (a: unknown, b: unknown, message?: string) => {
        if (!Object.is(a, b)) return;
        const assert: typeof import('node:assert') = fail();
        assert.notStrictEqual(a, b, message);
      },
      strictEqual: (a: unknown, b: unknown, message?: string) => {
        if (Object.is(a, b)) return;
        const assert: typeof import('node:assert') = fail();
        assert.strictEqual(a, b, message);
      },
    },
    cliui: (opts: unknown) => (cliui ??= main<(opts: unknown) => unknown>(require('cliui')))(opts),
    findUp: main(p.findUp),
    getEnv: (key: string) => process.env[key],
    inspect: (value: unknown) => (require('node:util') as typeof import('node:util')).inspect(value),
    getProcessArgvBin: p.getProcessArgvBin,
    mainFilename: mainFilename || process.cwd(),
    Parser: main(p.Parser),
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
    y18n: main<(o: object) => unknown>(p.y18n)({ directory: resolve(dir, 'locales'), updateFiles: false }),
  };
}

/** yargs, as `import yargs from 'yargs'` gives it, without the help layout's modules loaded. */
export async function loadYargs(): Promise<YargsFactory> {
  const parts = await loadYargsParts();
  return parts.YargsFactory(await platformShim(parts));
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
