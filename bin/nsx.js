#!/usr/bin/env node
// namespace-explorer's command line. The TypeScript is compiled to dist/ by `npm ci` / `npm run build`.
import { existsSync } from 'node:fs';

const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error(
    'nsx: not built yet (dist/ is missing).\n  Fix: run `npm ci` (or `npm run build`) in the namespace-explorer folder.',
  );
  process.exit(125);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
