// nsx image: docker image — inspect, and the other verbs under their `docker image` names.
import type { CommandModule } from 'yargs';
import { lazyCommand, type ExitHolder } from '../types.js';
import { imagesCommand } from '../images/index.js';
import { pullCommand } from '../pull/index.js';
import { pushCommand } from '../push/index.js';
import { rmiCommand } from '../rmi/index.js';
import { tagCommand } from '../tag/index.js';
import { historyCommand, imagePruneCommand } from '../build/index.js';

export interface InspectArgs {
  images: string[];
}

export function imageInspectCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'inspect <images..>',
      describe: 'Show an image as JSON (docker image inspect)',
      builder: (y) =>
        y.positional('images', {
          type: 'string',
          array: true,
          demandOption: true,
          describe: 'NAME[:TAG], NAME@DIGEST or IMAGE ID',
        }),
    },
    () => import('./handlers.js'),
    (h) => h.inspectHandler,
  );
}

export function imageCommand(exit: ExitHolder): CommandModule<object, object> {
  return {
    command: 'image <command>',
    describe: 'Manage images: inspect, ls, pull, push, rm, tag, history, prune',
    builder: (y) =>
      y
        .command(imageInspectCommand(exit))
        .command(imagesCommand(exit, ['ls [repository]', 'list [repository]']))
        .command(pullCommand(exit))
        .command(pushCommand(exit))
        .command(rmiCommand(exit, 'rm <images..>'))
        .command(tagCommand(exit))
        .command(historyCommand(exit, 'history <image>'))
        .command(imagePruneCommand(exit))
        .demandCommand(1, 'Name an image command: nsx image inspect|ls|pull|push|rm|tag|history|prune'),
    handler: () => undefined,
  };
}
