#!/usr/bin/env node
// Bundles the command line and the engine for start-up (npm run build runs it after tsc):
//   dist/bundle/nsx.mjs     from src/cli/nsx.ts      (what bin/nsx.js runs)
//   dist/bundle/nsxd.mjs    from src/engine/nsxd.ts  (what `nsx engine start` and a run that finds no engine start)
//   dist/bundle/chunk-*.mjs what they share, and each module a command imports lazily (import()), split
//                          off by esbuild (https://esbuild.github.io/api/#splitting) so that a command
//                          loads only its own.
// Why: Node's ES module loader resolves, reads, compiles and links file by file; `nsx --version` from
// dist/ loads about 40 files (yargs' 25, the CLI's 14), the bundle four. tsc's dist/ stays: the
// tests import dist/ modules and spawn dist/src/engine/nsxd.js and dist/lessons/engine-api.js.
//
// Files found from import.meta.url keep working: every bundle file lies in dist/bundle/, and
// packageRoot() (src/paths.ts) walks up from there to package.json as it does from dist/src/…
import * as esbuild from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'bundle');
const yargsDir = dirname(createRequire(import.meta.url).resolve('yargs'));

/** src/cli/yargs-parts.ts loads yargs' modules at run time by path; the bundle imports them
 *  statically instead (scripts/bundle/yargs-parts.mjs), and their `yargs/build/…` paths, which
 *  yargs' package.json does not export, are its files. */
const yargsParts = {
  name: 'yargs-parts',
  setup(build) {
    build.onResolve({ filter: /^\.\/yargs-parts\.js$/ }, (a) =>
      a.importer === join(root, 'src', 'cli', 'yargs.ts')
        ? { path: join(root, 'scripts', 'bundle', 'yargs-parts.mjs') }
        : undefined,
    );
    build.onResolve({ filter: /^yargs\/(build|lib)\// }, (a) => ({
      path: join(yargsDir, a.path.slice('yargs/'.length)),
    }));
  },
};

/** CommonJS packages in an ES module bundle call require() for Node's modules (esbuild's __require
 *  helper calls the `require` in scope): the banner gives a file Node's. Only a file that names
 *  `require` gets it (see below): createRequire costs ~0.15 ms a file, and `nsx run` loads 17. */
const BANNER =
  "import { createRequire as __nsxCreateRequire } from 'node:module'; const require = __nsxCreateRequire(import.meta.url);";
/** `require` as a name of its own (not __require, createRequire or x.require). A string or comment that
 *  says it keeps the banner too: harmless, as every file had it before. */
const NAMES_REQUIRE = /(?<![\w$.])require(?![\w$])/;

rmSync(out, { recursive: true, force: true });
const result = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { nsx: 'src/cli/nsx.ts', nsxd: 'src/engine/nsxd.ts' },
  outdir: out,
  // .mjs: Node knows an ES module by its name, without looking for a package.json's "type" above it
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  banner: { js: BANNER },
  write: false,
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // where yargs is, from dist/bundle/ (scripts/bundle/yargs-parts.mjs)
  define: { NSX_YARGS_DIR: JSON.stringify(relative(out, yargsDir).split(sep).join('/') + '/') },
  plugins: [yargsParts],
});
for (const file of result.outputFiles) {
  let text = file.text;
  // Without the banner the first line stays, empty: the source map's lines do not move.
  if (file.path.endsWith('.mjs') && text.startsWith(BANNER) && !NAMES_REQUIRE.test(text.slice(BANNER.length)))
    text = text.slice(BANNER.length);
  mkdirSync(dirname(file.path), { recursive: true });
  writeFileSync(file.path, text);
}

// yargs' modules, as one CommonJS file that scripts/bundle/yargs-parts.mjs runs with vm.Script and
// V8's code cache of it (see there), and the cache, written by a representative run of the bundle:
// `nsx run --version` registers a command, runs its builder (run's ~40 options), parses and prints
// the version, without asking the engine anything.
const core = await esbuild.build({
  absWorkingDir: root,
  entryPoints: { 'yargs-core': 'scripts/bundle/yargs-core.mjs' },
  outdir: out,
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // yargs-parser reads import.meta.url; the loader passes the file's URL (yargs-parts.mjs)
  define: { 'import.meta.url': '__importMetaUrl' },
  plugins: [yargsParts],
});
for (const step of ['write', 'check']) {
  const r = spawnSync(process.execPath, [join(out, 'nsx.mjs'), 'run', '--version'], {
    env: { ...process.env, NSX_BUILD_YARGS_CACHE: step },
    encoding: 'utf8',
  });
  if (r.status !== 0 || !existsSync(join(out, 'yargs-core.cjs.cache')))
    throw new Error(`build-cli: yargs' code cache (${step}) failed (${r.status ?? r.signal}): ${r.stderr}`);
}
if (process.argv.includes('--analyze')) {
  console.log(await esbuild.analyzeMetafile(result.metafile));
  console.log(await esbuild.analyzeMetafile(core.metafile));
}
