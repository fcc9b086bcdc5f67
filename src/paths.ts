// Where the package's own files are, whether running from src/ (tests) or dist/ (built).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding namespace-explorer's package.json. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'namespace-explorer') return (root = dir);
    const up = dirname(dir);
    if (up === dir)
      throw new Error('namespace-explorer: cannot find the package root above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

/** The compiled shim binary. */
export function shimPath(): string {
  return process.env.NSX_SHIM ?? join(packageRoot(), 'shim', 'nsx-shim');
}
