// nsx rmi: docker rmi — untag images and delete the ones left without a name.
import { lazyCommand, type ExitHolder } from '../types.js';

export interface RmiArgs {
  images: string[];
  force?: boolean;
}

export function rmiCommand(exit: ExitHolder, command: string | readonly string[] = 'rmi <images..>') {
  return lazyCommand(
    exit,
    {
      command,
      describe: 'Remove one or more images (blobs no image uses are deleted)',
      builder: (y) =>
        y
          .positional('images', {
            type: 'string',
            array: true,
            demandOption: true,
            describe: 'NAME[:TAG], NAME@DIGEST or IMAGE ID',
          })
          .option('force', {
            alias: 'f',
            type: 'boolean',
            describe: 'Remove by id even if tagged in several repositories',
          }),
    },
    () => import('../image/handlers.js'),
    (h) => h.rmiHandler,
  );
}
