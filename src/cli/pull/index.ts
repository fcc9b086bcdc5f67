// nsx pull: docker pull — download an image (or a newer one) from a registry into the store.
import { lazyCommand, type ExitHolder } from '../types.js';

export interface PullArgs {
  name: string;
  quiet?: boolean;
  platform?: string;
}

export function pullCommand(exit: ExitHolder, command: string | readonly string[] = 'pull <name>') {
  return lazyCommand(
    exit,
    {
      command,
      describe: 'Download an image from a registry (NAME[:TAG|@DIGEST])',
      builder: (y) =>
        y
          .positional('name', {
            type: 'string',
            demandOption: true,
            describe: 'busybox, dockerinaction/hello_world, localhost:5000/x:1.0',
          })
          .options({
            quiet: { alias: 'q', type: 'boolean', describe: 'Print only the image reference' },
            platform: { type: 'string', describe: 'Pick this platform from a multi-platform image, e.g. linux/arm64' },
          })
          .example('nsx pull busybox', 'docker.io/library/busybox:latest (or the first search registry that has it)')
          .example('nsx pull localhost:5000/hello:1.0', 'From a local registry, plain HTTP on loopback'),
    },
    () => import('../image/handlers.js'),
    (h) => h.pullHandler,
  );
}
