// nsx push: docker push — upload an image from the store to the registry its name says.
import { lazyCommand, type ExitHolder } from '../types.js';

export interface PushArgs {
  name: string;
  quiet?: boolean;
}

export function pushCommand(exit: ExitHolder, command: string | readonly string[] = 'push <name>') {
  return lazyCommand(
    exit,
    {
      command,
      describe: 'Upload an image to a registry (name it for the registry first: nsx tag)',
      builder: (y) =>
        y
          .positional('name', {
            type: 'string',
            demandOption: true,
            describe: 'REGISTRY/NAME[:TAG], e.g. localhost:5000/hello:1.0',
          })
          .option('quiet', { alias: 'q', type: 'boolean', describe: 'Print nothing but errors' })
          .example(
            'nsx tag busybox localhost:5000/busybox && nsx push localhost:5000/busybox',
            'Serve an image from a local registry',
          ),
    },
    () => import('../image/handlers.js'),
    (h) => h.pushHandler,
  );
}
