// The nsx program: bin/nsx.cjs runs the bundle built from this file (scripts/build-cli.mjs,
// dist/bundle/nsx.cjs). No top-level await: the bundle is CommonJS.
import { runCli } from './main.js';

void runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
