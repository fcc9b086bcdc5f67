// src/cli/main.ts gives yargs only the commands the arguments need (commandsFor): what nsx prints
// and its exit status must be what the whole table gives, for help, errors, --version and completion.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { commands, commandsFor } from '../../src/cli/main.js';

const root = join(dirname(new URL(import.meta.url).pathname), '..', '..');
const exit = { exitCode: 0 };
const table = () => commands(exit);
const names = (argv: string[]) => commandsFor(argv, table).map((c) => String(c.command).split(' ')[0]);

describe('the commands yargs is given', () => {
  it('is the named one for a first word that names a command', () => {
    expect(names(['run', '--rm', '--rootfs', 'r', '/bin/true'])).toEqual(['run']);
    expect(names(['ps', '-a'])).toEqual(['ps']);
    expect(names(['runtime', 'run', '--help'])).toEqual(['runtime']);
  });

  it('is none for options that ask for neither help nor completion', () => {
    expect(names(['--version'])).toEqual([]);
    expect(names([])).toEqual([]);
    expect(names(['--foo', '--version'])).toEqual([]);
  });

  it('is every one for help, completion, an unknown word, an option before the command, "-" or "--"', () => {
    const all = table().length;
    for (const argv of [
      ['--help'],
      ['--help=false'],
      ['--no-help'],
      ['--get-yargs-completions', 'ru'],
      ['rnu'],
      ['help'],
      ['--rm', 'run'],
      ['-', 'run'],
      ['--', 'run'],
    ])
      expect([argv, names(argv).length]).toEqual([argv, all]);
  });
});

// Each case as a node of its own on tsc's dist/ (help is laid out with require() of ES modules, which
// jest's module registry does not do): runCli(args) against runCli(args, every = true). None of them
// reaches a command's handler (no engine is asked anything).
describe('nsx with the commands it needs', () => {
  const main = pathToFileURL(join(root, 'dist', 'src', 'cli', 'main.js')).href;
  const run = (args: string[], every: boolean) =>
    spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { runCli } = await import(${JSON.stringify(main)});
         process.exitCode = await runCli(${JSON.stringify(args)}, ${every});`,
      ],
      { cwd: root, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );

  it.each([
    [[]],
    [['--version']],
    [['--foo']],
    [['--version', '--foo']],
    [['--help']],
    [['--help', 'run']],
    [['--no-help']],
    [['--get-yargs-completions', 'ru']],
    [['help']],
    [['rnu']],
    [['--rm', 'run']],
    [['run', '--help']],
    [['run', '--bogus', '--rootfs', '/nonexistent', '/bin/true']],
    [['run', '--version']],
    [['ps', '--bogus']],
    [['runtime', 'run', '--help']],
    [['runtime', 'rnu']],
    [['engine']],
    [['engine', 'bogus']],
    [['image', 'lss']],
    [['container', '--help']],
    [['logs']],
    [['tag', '--help']],
  ])('nsx %j prints what it prints with every command', (args: string[]) => {
    const picked = run(args, false);
    const every = run(args, true);
    expect(picked.stdout + picked.stderr).not.toBe('');
    expect(picked.stdout + picked.stderr).toBe(every.stdout + every.stderr);
    expect(picked.status).toBe(every.status);
  });
});
