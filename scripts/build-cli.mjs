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
import { rmSync } from 'node:fs';
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
  // CommonJS packages in an ES module bundle call require() for Node's modules: give them Node's.
  banner: {
    js: "import { createRequire as __nsxCreateRequire } from 'node:module'; const require = __nsxCreateRequire(import.meta.url);",
  },
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  // where yargs is, from dist/bundle/ (scripts/bundle/yargs-parts.mjs)
  define: { NSX_YARGS_DIR: JSON.stringify(relative(out, yargsDir).split(sep).join('/') + '/') },
  plugins: [yargsParts],
});
if (process.argv.includes('--analyze')) console.log(await esbuild.analyzeMetafile(result.metafile));
