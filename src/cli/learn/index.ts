// nsx learn / nsx lesson / nsx check / nsx progress: the lessons.
import type { Argv, CommandModule } from 'yargs';
import type { ExitHolder } from '../main.js';

const playOptions = <T>(y: Argv<T>) =>
  y.options({
    auto: { type: 'boolean', describe: 'Classroom mode: no prompts, a readable pause between steps' },
    delay: { type: 'number', describe: 'Seconds between steps with --auto', default: 3 },
    print: { type: 'boolean', describe: 'A plain transcript, no prompts (also when output is not a terminal)' },
    events: { type: 'string', describe: 'Write the lesson\'s events as JSON lines to FILE' },
  });

type PlayArgv = { auto?: boolean; delay?: number; print?: boolean; events?: string };

export function learnCommand(exit: ExitHolder): CommandModule<object, PlayArgv> {
  return {
    command: 'learn',
    describe: 'Pick a lesson from the course (resumes where you stopped)',
    builder: (y) => playOptions(y) as never,
    handler: async (a) => {
      const { learn } = await import('../../learn/commands.js');
      exit.exitCode = await learn(a);
    },
  };
}

export function lessonCommand(exit: ExitHolder): CommandModule<object, PlayArgv & { id?: string; list?: boolean; variant?: string }> {
  return {
    command: 'lesson [id]',
    describe: 'Start one lesson directly, or list them (--list)',
    builder: (y) =>
      playOptions(y)
        .positional('id', { type: 'string', describe: 'Lesson id (nsx lesson --list)' })
        .option('list', { type: 'boolean', describe: 'List the lessons with your progress' })
        .option('variant', { type: 'string', describe: 'Play another way of the lesson, e.g. --variant break (nsx lesson --list names them)' }) as never,
    handler: async (a) => {
      const m = await import('../../learn/commands.js');
      if (a.list || !a.id) exit.exitCode = m.printList();
      else exit.exitCode = await m.play(a.id, a);
    },
  };
}

export function checkCommand(exit: ExitHolder): CommandModule<object, { lesson: string; hint?: boolean }> {
  return {
    command: 'check <lesson>',
    describe: 'Check the lesson\'s try-it-yourself task against the live kernel',
    builder: (y) => y.positional('lesson', { type: 'string', demandOption: true }).option('hint', { type: 'boolean', describe: 'Show the next hint instead' }) as never,
    handler: async (a) => {
      const { check } = await import('../../learn/commands.js');
      exit.exitCode = await check(a.lesson, !!a.hint);
    },
  };
}

export function progressCommand(exit: ExitHolder): CommandModule<object, { reset?: boolean }> {
  return {
    command: 'progress',
    describe: 'Show where you are in the course (--reset starts over)',
    builder: (y) => y.option('reset', { type: 'boolean', describe: 'Forget all progress' }),
    handler: async (a) => {
      const m = await import('../../learn/commands.js');
      exit.exitCode = m.progressCommand(!!a.reset);
    },
  };
}
