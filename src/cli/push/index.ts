// nsx push: docker push — upload an image from the store to the registry its name says.
import type { CommandModule } from 'yargs';
import type { ExitHolder } from '../main.js';

export interface PushArgs {
  name: string;
  quiet?: boolean;
}

export function pushCommand(exit: ExitHolder, command = 'push <name>'): CommandModule<object, PushArgs> {
  return {
    command,
    describe: 'Upload an image to a registry (name it for the registry first: nsx tag)',
    builder: (y) =>
      y
        .positional('name', { type: 'string', demandOption: true, describe: 'REGISTRY/NAME[:TAG], e.g. localhost:5000/hello:1.0' })
        .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print nothing but errors' })
        .example('nsx tag busybox localhost:5000/busybox && nsx push localhost:5000/busybox', 'Serve an image from a local registry') as any,
    handler: async (args) => {
      const { pushHandler } = await import('../image/handlers.js');
      exit.exitCode = await pushHandler(args);
    },
  };
}
