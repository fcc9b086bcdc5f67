// nsx images: docker images — the images in the store, as docker's table.
import type { CommandModule } from 'yargs';
import type { ExitHolder } from '../main.js';

export interface ImagesArgs {
  repository?: string;
  all?: boolean;
  quiet?: boolean;
  digests?: boolean;
  'no-trunc'?: boolean;
}

export function imagesCommand(exit: ExitHolder, command = 'images [repository]'): CommandModule<object, ImagesArgs> {
  return {
    command,
    describe: 'List the images in the store',
    builder: (y) =>
      y
        .positional('repository', { type: 'string', describe: 'Only this REPOSITORY[:TAG]' })
        .options({
          all: { alias: 'a', type: 'boolean', describe: 'Show all images (there are no hidden intermediate images in nsx)' },
          quiet: { alias: 'q', type: 'boolean', describe: 'Only image IDs' },
          digests: { type: 'boolean', describe: 'Show digests' },
          'no-trunc': { type: 'boolean', describe: "Don't truncate output" },
        }) as any,
    handler: async (args) => {
      const { imagesHandler } = await import('../image/handlers.js');
      exit.exitCode = imagesHandler(args);
    },
  };
}
