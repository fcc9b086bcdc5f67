// The modules yargs is made of, loaded at run time from yargs' own directory (dist/ and the tests).
// The bundle (scripts/build-cli.mjs) replaces this file with scripts/bundle/yargs-parts.mjs, which
// imports the same modules statically so that esbuild puts them in the bundle: one file for Node to
// load instead of about 25. yargs' package.json exports only its entry (index.mjs), whose platform
// shim loads the help layout at module scope (see yargs.ts), so the parts are found by path here.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { YargsParts } from './yargs.js';

export async function loadYargsParts(): Promise<YargsParts> {
  const entry = createRequire(import.meta.url).resolve('yargs'); // …/node_modules/yargs/index.mjs
  const require = createRequire(entry);
  const load = (name: string): Promise<unknown> => import(pathToFileURL(require.resolve(name)).href);
  const [factory, parser, argvBin] = await Promise.all([
    load('./build/lib/yargs-factory.js'),
    load('yargs-parser'),
    load('./build/lib/utils/process-argv.js'),
  ]);
  return {
    YargsFactory: (factory as Pick<YargsParts, 'YargsFactory'>).YargsFactory,
    Parser: parser, // its module: platformShim takes the default export
    getProcessArgvBin: (argvBin as Pick<YargsParts, 'getProcessArgvBin'>).getProcessArgvBin,
    // escalade/sync and y18n have both builds: their CommonJS one spares Node the CommonJS export
    // scan of an import().
    findUp: require('escalade/sync'),
    y18n: require('y18n'),
    dir: dirname(entry),
    require,
  };
}
