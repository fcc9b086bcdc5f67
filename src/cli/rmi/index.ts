// nsx rmi: docker rmi — untag images and delete the ones left without a name.
import type { CommandModule } from 'yargs';
import type { ExitHolder } from '../main.js';

export interface RmiArgs {
  images: string[];
  force?: boolean;
}

export function rmiCommand(exit: ExitHolder, command = 'rmi <images..>'): CommandModule<object, RmiArgs> {
  return {
    command,
    describe: 'Remove one or more images (blobs no image uses are deleted)',
    builder: (y) =>
      y
        .positional('images', { type: 'string', array: true, demandOption: true, describe: 'NAME[:TAG], NAME@DIGEST or IMAGE ID' })
        .option('force', { alias: 'f', type: 'boolean', describe: 'Remove by id even if tagged in several repositories' }) as any,
    handler: async (args) => {
      const { rmiHandler } = await import('../image/handlers.js');
      exit.exitCode = rmiHandler(args);
    },
  };
}
