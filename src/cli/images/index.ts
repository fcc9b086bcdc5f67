// nsx images: docker images — the images in the store, as docker's table.
import { lazyCommand, type ExitHolder } from '../types.js';

export interface ImagesArgs {
  repository?: string;
  all?: boolean;
  quiet?: boolean;
  digests?: boolean;
  'no-trunc'?: boolean;
}

export function imagesCommand(exit: ExitHolder, command: string | readonly string[] = 'images [repository]') {
  return lazyCommand(
    exit,
    {
      command,
      describe: 'List the images in the store',
      builder: (y) =>
        y.positional('repository', { type: 'string', describe: 'Only this REPOSITORY[:TAG]' }).options({
          all: {
            alias: 'a',
            type: 'boolean',
            describe: 'Show all images (default hides intermediate images: the steps of a build)',
          },
          quiet: { alias: 'q', type: 'boolean', describe: 'Only image IDs' },
          digests: { type: 'boolean', describe: 'Show digests' },
          'no-trunc': { type: 'boolean', describe: "Don't truncate output" },
        }),
    },
    () => import('../image/handlers.js'),
    (h) => h.imagesHandler,
  );
}
