// nsx diff, cp, export, save and load: docker's verbs of the same names, through nsxd (the work in
// handlers.ts, loaded only when one of them runs).
import { lazyCommand, type AnyCommand, type ExitHolder } from '../types.js';

const load = () => import('./handlers.js');

export function fsCommands(exit: ExitHolder): AnyCommand[] {
  return [
    lazyCommand(
      exit,
      {
        command: 'diff <container>',
        describe:
          "What changed in a container's writable layer (its overlay upper directory): A added, C changed, D deleted",
        builder: (y) => y.positional('container', { type: 'string', demandOption: true }),
      },
      load,
      (h) => h.diff,
    ),
    lazyCommand(
      exit,
      {
        command: 'cp <src> <dest>',
        describe:
          "Copy files between a container and the host (CONTAINER:PATH), paths resolved inside the container's root",
        builder: (y) =>
          y
            .positional('src', {
              type: 'string',
              demandOption: true,
              describe: 'CONTAINER:SRC_PATH, a host path, or - (a tar on stdin)',
            })
            .positional('dest', {
              type: 'string',
              demandOption: true,
              describe: 'CONTAINER:DEST_PATH, a host path, or - (a tar to stdout)',
            })
            .options({
              'follow-link': { alias: 'L', type: 'boolean', describe: 'Always follow a symlink in SRC_PATH' },
              archive: { alias: 'a', type: 'boolean', describe: 'Archive mode (copy all uid/gid information)' },
            })
            .example('sudo nsx cp web:/etc/passwd .', "The container's /etc/passwd, here")
            .example('sudo nsx cp ./conf web:/etc/app/', 'A host directory into the container'),
      },
      load,
      (h) => h.cp,
    ),
    lazyCommand(
      exit,
      {
        command: 'export <container>',
        describe: "A container's whole root filesystem as a tar archive (to stdout, or -o FILE)",
        builder: (y) =>
          y
            .positional('container', { type: 'string', demandOption: true })
            .options({ output: { alias: 'o', type: 'string', describe: 'Write to a file, instead of STDOUT' } }),
      },
      load,
      (h) => h.exportContainer,
    ),
    lazyCommand(
      exit,
      {
        command: 'save <images..>',
        describe: "Images as one tar archive: docker's manifest.json and an OCI image layout (to stdout, or -o FILE)",
        builder: (y) =>
          y
            .positional('images', { type: 'string', array: true, demandOption: true })
            .options({ output: { alias: 'o', type: 'string', describe: 'Write to a file, instead of STDOUT' } }),
      },
      load,
      (h) => h.save,
    ),
    lazyCommand(
      exit,
      {
        command: 'load',
        describe: "Images from a tar archive (docker save's, or an OCI image layout): every digest and layer checked",
        builder: (y) =>
          y.options({
            input: { alias: 'i', type: 'string', describe: 'Read from tar archive file, instead of STDIN' },
            quiet: { alias: 'q', type: 'boolean', describe: 'Suppress the load output' },
          }),
      },
      load,
      (h) => h.load,
    ),
  ];
}
