// What scripts/bundle/yargs-parts.mjs loads with a V8 code cache: the modules of yargs the bundle
// runs, built by scripts/build-cli.mjs into one CommonJS file, dist/bundle/yargs-core.cjs.
// `yargs/build/…` is not in yargs' package.json exports; build-cli.mjs resolves it to the file in
// yargs' directory.
export { default as findUp } from 'escalade/sync';
export { default as Parser } from 'yargs-parser';
export { default as y18n } from 'y18n';
export { YargsFactory } from 'yargs/build/lib/yargs-factory.js';
export { getProcessArgvBin } from 'yargs/build/lib/utils/process-argv.js';
