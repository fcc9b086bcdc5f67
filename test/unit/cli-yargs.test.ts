// src/cli/yargs.ts: yargs made with a platform shim that loads the help layout (cliui, string-width)
// only when help is printed. It must stay yargs' own shim in everything else.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadYargs, platformShim } from '../../src/cli/yargs.js';

const yargsDir = dirname(createRequire(import.meta.url).resolve('yargs'));
const root = join(dirname(new URL(import.meta.url).pathname), '..', '..');

/** yargs' own ESM shim (what `import yargs from 'yargs'` is made with). */
async function ownShim(): Promise<Record<string, unknown>> {
  return (await import(pathToFileURL(join(yargsDir, 'lib', 'platform-shims', 'esm.mjs')).href)).default;
}

const shape = (o: Record<string, unknown>): string[] =>
  Object.entries(o)
    .flatMap(([k, v]) => {
      const members = v && typeof v === 'object' && k !== 'y18n' ? Object.keys(v).map((m) => `${k}.${m}`) : [];
      return [k, ...members];
    })
    .sort();

describe('the yargs platform shim', () => {
  it("has every member of yargs' own ESM shim, and no other (a yargs upgrade that adds one fails here)", async () => {
    expect(shape(await platformShim())).toEqual(shape(await ownShim()));
  });

  it('finds the same package.json for --version, the same locales and the same terminal width', async () => {
    const ours = await platformShim();
    const own = await ownShim();
    expect(ours.mainFilename).toBe(own.mainFilename);
    const columns = (shim: Record<string, unknown>) => (shim.process as { stdColumns: unknown }).stdColumns;
    expect(columns(ours)).toBe(columns(own));
    const say = (shim: Record<string, unknown>) => (shim.y18n as { __: (s: string) => string }).__('Show help');
    expect(say(ours)).toBe(say(own));
  });

  it('parses as yargs itself does', async () => {
    const ours = await loadYargs();
    const own = (await import('yargs')).default;
    const cli = (y: typeof own) =>
      y(['-m', '64m', '--rm', 'sh', '-c', 'ls'])
        .option('memory', { alias: 'm', type: 'string' })
        .option('rm', { type: 'boolean' });
    expect(await cli(ours).parseAsync()).toEqual(await cli(own).parseAsync());
  });

  // Help is laid out with require() of ES modules (cliui, string-width), which Node does (>= 20.19)
  // and jest's module registry does not: so in a node of its own, on the built dist/.
  it('lays out help as yargs itself does', () => {
    const script = `
      import own from 'yargs';
      import { loadYargs } from ${JSON.stringify(pathToFileURL(join(root, 'dist', 'src', 'cli', 'yargs.js')).href)};
      const cli = (y) => y([]).scriptName('nsx')
        .usage('$0 <command>\\n\\nA long description that wraps at the width given to wrap, a long one.')
        .command('run [command..]', 'Run a command')
        .option('memory', { alias: 'm', type: 'string', describe: 'Memory limit, e.g. 64m: a long one that wraps' })
        .wrap(60).epilogue('Docs: README.md').exitProcess(false).strict();
      const [a, b] = [await cli(await loadYargs()).getHelp(), await cli(own).getHelp()];
      process.stdout.write(JSON.stringify([a, b]));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const [ours, own] = JSON.parse(r.stdout) as [string, string];
    expect(ours).toContain('Memory limit');
    expect(ours).toBe(own);
  });
});

// The bundle (scripts/build-cli.mjs, dist/bundle/) swaps yargs-parts.ts for static imports of the
// same modules (scripts/bundle/yargs-parts.mjs): what it prints must be what tsc's dist/ prints, in
// yargs' own locales too (found in yargs' directory at run time). bin/nsx.cjs runs it.
describe('the bundled command line', () => {
  const bundle = join(root, 'bin', 'nsx.cjs');
  const built = join(root, 'dist', 'bundle', 'nsx.cjs');
  const fromDist = (args: string[]) =>
    `const { runCli } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'src', 'cli', 'main.js')).href)});
     process.exitCode = await runCli(${JSON.stringify(args)});`;
  const run = (argv: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, argv, { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', ...env } });

  it.each([
    [['--version'], {}, /^\d+\.\d+\.\d+\n$/],
    [['--help'], {}, /Commands:/],
    [['run', '--help'], { LANG: 'de_DE.UTF-8', LC_ALL: '' }, /Optionen:/], // yargs' locales/de.json
    [['no-such-verb'], {}, /See 'nsx --help'/],
  ])('nsx %j says what dist/ says', (args: string[], env: Record<string, string>, says: RegExp) => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first (npm test does)`);
    const ours = run([bundle, ...args], env);
    const dist = run(['--input-type=module', '-e', fromDist(args)], env);
    expect(ours.stdout + ours.stderr).toMatch(says);
    expect(ours.stdout + ours.stderr).toBe(dist.stdout + dist.stderr);
    expect(ours.status).toBe(dist.status);
  });

  // scripts/bundle/load.cjs: every file of the bundle runs from V8's code cache that npm run build
  // wrote (dist/bundle/*.cjs.cache); NSX_BUILD_CODE_CACHE=check makes the status 3 if V8 rejects one.
  it('runs every file it loads from the code cache the build wrote, which V8 takes', () => {
    if (!existsSync(built)) throw new Error(`${built} is missing: run npm run build first (npm test does)`);
    for (const args of [['run', '--help'], ['--version'], ['ps', '--help'], ['--help']]) {
      const r = run([bundle, ...args], { NSX_BUILD_CODE_CACHE: 'check' });
      expect([args, r.stderr, r.status]).toEqual([args, '', 0]);
    }
    const chunks = readdirSync(join(root, 'dist', 'bundle')).filter((f) => /\.cjs$/.test(f) && f !== 'load.cjs');
    expect(chunks).toContain('yargs-core.cjs');
    for (const f of chunks) expect([f, existsSync(join(root, 'dist', 'bundle', `${f}.cache`))]).toEqual([f, true]);
    const other = run(['--no-opt', bundle, '--version'], { NSX_BUILD_CODE_CACHE: 'check' }); // other V8 flags: no cache
    expect([other.status, other.stdout, other.stderr]).toEqual([
      3,
      expect.stringMatching(/^\d+\.\d+\.\d+\n$/),
      expect.stringMatching(/V8 did not take .*nsx\.cjs\.cache.*yargs-core\.cjs\.cache/),
    ]);
  });

  // Node maps stack traces of what its own loaders compile, not of a vm.Script's: with source maps
  // on, load.cjs lets Node's require() load the bundle (without the cache), so a bug names src/
  // (here yargs' own file, the source of yargs-core.cjs); without, the bundle's file and line.
  it('names the sources in a stack trace under --enable-source-maps, its own files without', () => {
    const script = `const { YargsFactory } = require(${JSON.stringify(join(root, 'dist', 'bundle', 'load.cjs'))}).load('yargs-core.cjs');
      try { YargsFactory(null)(); } catch (e) { process.stdout.write(String(e.stack)); }`;
    const mapped = run(['--enable-source-maps', '-e', script], {});
    expect(mapped.stdout).toMatch(/node_modules\/yargs\/build\/lib\/yargs-factory\.js:\d+:\d+/);
    expect(mapped.stdout).not.toMatch(/yargs-core\.cjs/);
    expect(run(['-e', script], {}).stdout).toMatch(/dist\/bundle\/yargs-core\.cjs:\d+:\d+/);
  });

  it("answers --version with package.json's version", () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    expect(run([bundle, '--version'], {}).stdout).toBe(`${version}\n`);
  });
});
