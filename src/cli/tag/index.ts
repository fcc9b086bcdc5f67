// nsx tag: docker tag — give an image in the store another name.
import type { CommandModule } from 'yargs';
import type { ExitHolder } from '../main.js';

export interface TagArgs {
  source: string;
  target: string;
}

export function tagCommand(exit: ExitHolder, command = 'tag <source> <target>'): CommandModule<object, TagArgs> {
  return {
    command,
    describe: 'Create a tag TARGET that refers to the image SOURCE',
    builder: (y) =>
      y
        .positional('source', { type: 'string', demandOption: true, describe: 'SOURCE_IMAGE[:TAG]' })
        .positional('target', { type: 'string', demandOption: true, describe: 'TARGET_IMAGE[:TAG]' })
        .example('nsx tag busybox localhost:5000/busybox:1.36', 'Name an image for a local registry') as any,
    handler: async (args) => {
      const { tagHandler } = await import('../image/handlers.js');
      exit.exitCode = tagHandler(args);
    },
  };
}
