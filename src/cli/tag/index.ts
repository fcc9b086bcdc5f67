// nsx tag: docker tag — give an image in the store another name.
import { lazyCommand, type ExitHolder } from '../types.js';

export interface TagArgs {
  source: string;
  target: string;
}

export function tagCommand(exit: ExitHolder, command: string | readonly string[] = 'tag <source> <target>') {
  return lazyCommand(
    exit,
    {
      command,
      describe: 'Create a tag TARGET that refers to the image SOURCE',
      builder: (y) =>
        y
          .positional('source', { type: 'string', demandOption: true, describe: 'SOURCE_IMAGE[:TAG]' })
          .positional('target', { type: 'string', demandOption: true, describe: 'TARGET_IMAGE[:TAG]' })
          .example('nsx tag busybox localhost:5000/busybox:1.36', 'Name an image for a local registry'),
    },
    () => import('../image/handlers.js'),
    (h) => h.tagHandler,
  );
}
