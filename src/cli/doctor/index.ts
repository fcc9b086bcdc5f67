// nsx doctor: preflight checks of this machine (the checks live in src/doctor/).
import type { CommandModule } from 'yargs';
import type { ExitHolder } from '../main.js';

export function doctorCommand(exit: ExitHolder): CommandModule<object, { json?: boolean }> {
  return {
    command: 'doctor',
    describe: 'Check that this machine can run containers, and say how to fix what is missing',
    builder: (y) => y.option('json', { type: 'boolean', describe: 'Print the checks as JSON' }),
    handler: async (args) => {
      const { runDoctor } = await import('../../doctor/index.js');
      exit.exitCode = await runDoctor({ json: !!args.json });
    },
  };
}
