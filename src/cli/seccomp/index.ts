// nsx seccomp: a profile (Docker's default, or a file) compiled to the classic BPF program nsx loads,
// its top, and the path named system calls take through it (the seccomp lesson's walk).
import type { ExitHolder } from '../types.js';
import { lazyCommand } from '../types.js';

const load = () => import('./show.js');

export function seccompCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'seccomp [profile]',
      describe: 'Compile a seccomp profile to classic BPF as nsx loads it, and trace system calls through it',
      builder: (y) =>
        y
          .positional('profile', { type: 'string', describe: "A Docker seccomp profile (JSON); default: Docker's own" })
          .options({
            trace: {
              type: 'string',
              array: true,
              default: [],
              describe: 'A system call to run through the filter: name, or name:arg0[,arg1...] (e.g. personality:8)',
            },
            full: { type: 'boolean', default: false, describe: 'Print every instruction of the program' },
          })
          .example('nsx seccomp --trace keyctl --trace read', "the path of two calls through Docker's default")
          .example('nsx seccomp my.json --trace mkdir', 'what your own profile does with mkdir'),
    },
    load,
    (m) => m.showSeccomp,
  );
}
