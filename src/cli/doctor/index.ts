// nsx doctor: preflight checks of this machine (the checks live in src/doctor/).
import { lazyCommand, type ExitHolder } from '../types.js';

export function doctorCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'doctor',
      describe: 'Check that this machine can run containers, and say how to fix what is missing',
      builder: (y) => y.option('json', { type: 'boolean', describe: 'Print the checks as JSON' }),
    },
    () => import('../../doctor/index.js'),
    (m) => (args) => m.runDoctor({ json: !!args.json }),
  );
}
