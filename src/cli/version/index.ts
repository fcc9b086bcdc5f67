// nsx version: the version, as `docker version` answers it (nsx --version says the same).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../paths.js';
import type { ExitHolder } from '../types.js';
import type { CommandModule } from 'yargs';

export function versionCommand(exit: ExitHolder): CommandModule<object, object> {
  return {
    command: 'version',
    describe: "Show nsx's version, Node's and the kernel's",
    handler: async () => {
      const { release } = await import('node:os');
      const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string };
      process.stdout.write(`nsx ${pkg.version}\nnode ${process.version}\nkernel ${release()}\n`);
      exit.exitCode = 0;
    },
  };
}
