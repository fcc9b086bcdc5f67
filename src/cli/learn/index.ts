// nsx learn / nsx lesson / nsx check / nsx progress: the lessons.
import type { Argv } from 'yargs';
import { lazyCommand, type ExitHolder } from '../types.js';

const load = () => import('../../learn/commands.js');

const playOptions = <T>(y: Argv<T>) =>
  y.options({
    auto: { type: 'boolean', describe: 'Classroom mode: no prompts, a readable pause between steps' },
    delay: { type: 'number', describe: 'Seconds between steps with --auto', default: 3 },
    print: { type: 'boolean', describe: 'A plain transcript, no prompts (also when output is not a terminal)' },
    events: { type: 'string', describe: "Write the lesson's events as JSON lines to FILE" },
  });

export function learnCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'learn',
      describe: 'Pick a lesson from the course (resumes where you stopped)',
      builder: (y) => playOptions(y),
    },
    load,
    (m) => m.learn,
  );
}

export function lessonCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'lesson [id]',
      describe: 'Start one lesson directly, or list them (--list)',
      builder: (y) =>
        playOptions(y)
          .positional('id', { type: 'string', describe: 'Lesson id (nsx lesson --list)' })
          .option('list', { type: 'boolean', describe: 'List the lessons with your progress' })
          .option('variant', {
            type: 'string',
            describe: 'Play another way of the lesson, e.g. --variant break (nsx lesson --list names them)',
          }),
    },
    load,
    (m) => (a) => (a.list || !a.id ? m.printList() : m.play(a.id, a)),
  );
}

export function checkCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'check [lesson]',
      describe: "Check the lesson's try-it-yourself task against the live kernel (no lesson: list them)",
      builder: (y) =>
        y
          .positional('lesson', { type: 'string', describe: 'Lesson id (nsx lesson --list)' })
          .option('hint', { type: 'boolean', describe: 'Show the next hint instead' }),
    },
    load,
    (m) => (a) => (a.lesson ? m.check(a.lesson, !!a.hint) : m.checkList()),
  );
}

export function progressCommand(exit: ExitHolder) {
  return lazyCommand(
    exit,
    {
      command: 'progress',
      describe: 'Show where you are in the course (--reset starts over)',
      builder: (y) => y.option('reset', { type: 'boolean', describe: 'Forget all progress' }),
    },
    load,
    (m) => (a) => m.progressCommand(!!a.reset),
  );
}
