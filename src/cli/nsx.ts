// The nsx program: bin/nsx.js runs the bundle built from this file (scripts/build-cli.mjs, dist/bundle/nsx.mjs).
import { runCli } from './main.js';

process.exitCode = await runCli(process.argv.slice(2));
