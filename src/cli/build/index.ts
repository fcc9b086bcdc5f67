// nsx build, commit, history, image prune and login: the verbs that make images (through the engine:
// a RUN needs a container, a commit a container's layer) and look after the store and credentials.
import { lazyCommand, type AnyCommand, type ExitHolder } from '../types.js';

const load = () => import('./handlers.js');

export function historyCommand(exit: ExitHolder, command = 'history <image>') {
  return lazyCommand(
    exit,
    {
      command,
      describe: 'Show the history of an image: one row per step of its config history, newest first',
      builder: (y) =>
        y.positional('image', { type: 'string', demandOption: true, describe: 'NAME[:TAG] or IMAGE ID' }).options({
          'no-trunc': { type: 'boolean', describe: "Don't truncate output" },
          quiet: { alias: 'q', type: 'boolean', describe: 'Only show image IDs' },
          human: {
            alias: 'H',
            type: 'boolean',
            default: true,
            describe: 'Print sizes and dates in human readable format',
          },
        }),
    },
    load,
    (h) => h.history,
  );
}

export function imagePruneCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'prune',
      describe: 'Remove dangling images (untagged, and no other image made from them); -a: every unused image',
      builder: (y) =>
        y.options({
          all: { alias: 'a', type: 'boolean', describe: 'Remove all unused images, not just dangling ones' },
          force: { alias: 'f', type: 'boolean', describe: 'Do not prompt for confirmation' },
        }),
    },
    load,
    (h) => h.prune,
  );
}

export function buildCommands(exit: ExitHolder): AnyCommand[] {
  return [
    lazyCommand(
      exit,
      {
        command: 'build <path>',
        describe: "Build an image from a Dockerfile (nsx's subset; each RUN in a container of the engine)",
        builder: (y) =>
          y
            .positional('path', { type: 'string', demandOption: true, describe: 'The build context directory' })
            .options({
              tag: {
                alias: 't',
                type: 'string',
                array: true,
                nargs: 1,
                describe: 'Name and optionally a tag (name:tag)',
              },
              file: { alias: 'f', type: 'string', describe: "Name of the Dockerfile (default: 'PATH/Dockerfile')" },
              'build-arg': { type: 'string', array: true, nargs: 1, describe: 'Set build-time variables (KEY=VALUE)' },
              'no-cache': { type: 'boolean', describe: 'Do not use cache when building the image' },
              quiet: {
                alias: 'q',
                type: 'boolean',
                describe: 'Suppress the build output and print image ID on success',
              },
            }),
      },
      load,
      (h) => h.build,
    ),
    lazyCommand(
      exit,
      {
        command: 'commit <container> [repository]',
        describe: "Create a new image from a container's changes (its overlay upper directory becomes a layer)",
        builder: (y) =>
          y
            .positional('container', { type: 'string', demandOption: true })
            .positional('repository', { type: 'string', describe: 'REPOSITORY[:TAG]' })
            .options({
              message: { alias: 'm', type: 'string', describe: 'Commit message' },
              author: { alias: 'a', type: 'string', describe: 'Author' },
              change: {
                alias: 'c',
                type: 'string',
                array: true,
                describe: 'Apply Dockerfile instruction to the created image',
              },
              pause: { alias: 'p', type: 'boolean', default: true, describe: 'Pause container during commit' },
            }),
      },
      load,
      (h) => h.commit,
    ),
    historyCommand(exit),
    lazyCommand(
      exit,
      {
        command: 'login [server]',
        describe: 'Log in to a registry (checked there, stored as docker does in ~/.docker/config.json)',
        builder: (y) =>
          y.positional('server', { type: 'string', describe: 'Registry (default: Docker Hub)' }).options({
            username: { alias: 'u', type: 'string', describe: 'Username' },
            password: { alias: 'p', type: 'string', describe: 'Password' },
            'password-stdin': { type: 'boolean', describe: 'Take the password from stdin' },
          }),
      },
      load,
      (h) => h.login,
    ),
  ];
}
