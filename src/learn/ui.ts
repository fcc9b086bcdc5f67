// The three ways a lesson is shown: interactive (keys at each focus step), auto (a projector: a
// readable pause after each thing worth reading, a key holds it) and print (a transcript: no
// prompts, no colour; any non-terminal output).
import { Chalk, type ChalkInstance } from 'chalk';
import { marked } from 'marked';
import { markedTerminal } from 'marked-terminal';
import { KeyReader } from '../ui/keys.js';
import { Projector } from '../ui/projector.js';
import { proseWidth, visibleLength, wrap } from '../render/terminal.js';
import type { QuizQuestion } from './lesson.js';

let configuredFor: string | undefined;

/** Markdown for a terminal, wrapped to the prose width (proseWidth(): the terminal's, at most 100),
 *  in colour only when asked. */
export function renderMarkdown(md: string, color: boolean, width = proseWidth()): string[] {
  if (!md.trim()) return [];
  if (configuredFor !== `${color}/${width}`) {
    marked.use(
      markedTerminal({ width: width - 2, reflowText: true, tab: 2, ...(color ? {} : plainStyles()) }) as never,
    );
    configuredFor = `${color}/${width}`;
  }
  const out = (marked.parse(plainListItems(md), { async: false }) as string).replace(/\n+$/, '');
  return out.split('\n').flatMap((l) => (l ? rewrap(`  ${l}`, width) : [l]));
}

/** marked-terminal leaves inline markup in list items as typed (**s**): drop the markers there. */
function plainListItems(md: string): string {
  return md
    .split('\n')
    .map((l) =>
      /^\s*([-*+]|\d+\.)\s/.test(l)
        ? l
            .replace(/\*\*(.+?)\*\*/g, '$1')
            .replace(/(^|[\s(])\*([^*\s][^*]*?)\*/g, '$1$2')
            .replace(/`([^`]+)`/g, '$1')
        : l,
    )
    .join('\n');
}

/** Lines marked-terminal did not wrap (list items) broken at the width, under their own indent. */
function rewrap(line: string, width: number): string[] {
  const visible = line.replace(/\x1b\[[0-9;]*m/g, '');
  if (visibleLength(visible) <= width) return [line];
  const indent = /^\s*(?:[-*+•]|\d+\.)?\s*/.exec(visible)![0].length;
  return wrap(visible.slice(indent), indent, width).map((l, i) =>
    i === 0 ? visible.slice(0, indent) + l.slice(indent) : l,
  );
}

/** marked-terminal's styles as identity functions: plain text for NO_COLOR and transcripts. */
function plainStyles(): Record<string, (s: string) => string> {
  const id = (s: string) => s;
  const keys = [
    'code',
    'blockquote',
    'html',
    'heading',
    'firstHeading',
    'hr',
    'listitem',
    'table',
    'paragraph',
    'strong',
    'em',
    'codespan',
    'del',
    'link',
    'href',
    'text',
  ];
  return Object.fromEntries(keys.map((k) => [k, id]));
}

/** How the learner is asked: a terminal (keys), a projector (--auto: a pause, no keys), or a
 *  transcript (--print, or any output that is not a terminal: no prompts at all). */
export interface LessonUI {
  mode: 'interactive' | 'auto' | 'print';
  c: ChalkInstance;
  /** Lines the lesson's renderer (src/render/lesson.ts) made of its events. */
  write(lines: string[]): void;
  markdown(md: string): string[];
  /** Before a focus step: apply it, explain more, open a shell inside, or quit. Before a tour's
   *  stop (o.stop): run its commands, explain more, or quit (there is no container to open). */
  choose(step: { id: string }, o?: { stop?: boolean }): Promise<'apply' | 'more' | 'shell' | 'table' | 'quit'>;
  /** A shell inside the container as it stands (interactive only): `has` says what it has of the
   *  container (shellHas), `open` runs it until the learner leaves it (exit, Ctrl-D). */
  shell(o: { has: string; open: () => Promise<unknown> }): Promise<void>;
  /** A quiz question: the index chosen, undefined when nobody answers (auto, print), 'left' when
   *  the learner left the quiz (Ctrl-C). */
  ask(q: QuizQuestion): Promise<number | 'left' | undefined>;
  /** The pace in auto mode (a key holds it, another goes on). */
  pause(): Promise<void>;
  /** While something runs between prompts (a tour's command): q or Ctrl-C calls stop (in a raw
   *  terminal Ctrl-C is a key, not SIGINT). Returns the function that ends the watch. */
  busy(stop: () => void): () => void;
  /** A lesson with nothing to show (the welcome): a stop before its summary, so that its "try it
   *  now" can be tried (interactive: Enter goes on, q quits; auto: a pause). */
  proceed(): Promise<'go' | 'quit'>;
  /** The end of a lesson played to its end: the next lesson (its title), the menu, or quit. */
  afterLesson(next?: { title: string }): Promise<'next' | 'menu' | 'quit'>;
  /** Gives the terminal back (stops reading keys), so nsx can exit. */
  close(): void;
}

export interface UIOptions {
  mode: LessonUI['mode'];
  out?: NodeJS.WritableStream & { isTTY?: boolean };
  delaySeconds?: number;
}

export function makeUI(o: UIOptions): LessonUI {
  const out = o.out ?? process.stdout;
  const color = o.mode !== 'print' && !process.env.NO_COLOR && !!out.isTTY && process.env.TERM !== 'dumb';
  const c = new Chalk({ level: color ? 1 : 0 });
  const keys = o.mode === 'interactive' ? new KeyReader(process.stdin) : undefined;
  const write = (lines: string[]) => out.write(lines.map((l) => l + '\n').join(''));
  const projector = o.mode === 'auto' ? new Projector(o.delaySeconds ?? 3, (l) => write([c.dim(l)])) : undefined;
  return {
    mode: o.mode,
    c,
    write,
    markdown: (md) => renderMarkdown(md, color),
    async choose(_step, opts) {
      if (!keys) return 'apply';
      for (;;) {
        out.write(
          c.bold(
            opts?.stop
              ? '  ⏎ run  e explain more  q quit > '
              : '  ⏎ apply  e explain more  s shell inside  t whole table  q quit > ',
          ),
        );
        const k = await keys.next();
        out.write('\n');
        if (k === null || k === 'q') return 'quit';
        if (k === 'e') return 'more';
        if (k === 's' && !opts?.stop) return 'shell';
        if (k === 't' && !opts?.stop) return 'table';
        if (k === '\r' || k === '\n' || k === ' ') return 'apply';
      }
    },
    async shell({ has, open }) {
      if (!keys) return;
      write(
        wrap(
          `a shell inside the container as it stands: ${has}. Ctrl-C reaches only the shell; exit or Ctrl-D comes back.`,
          2,
        ).map((l) => c.dim(l)),
      );
      keys.release();
      try {
        await open();
      } catch (e) {
        write(wrap(`no shell: ${(e as Error).message}`, 2).map((l) => c.red(l)));
      } finally {
        keys.resume();
      }
      write([c.dim('  back in the lesson')]);
    },
    async ask(q) {
      if (!keys) return undefined;
      keys.release();
      const { default: Enquirer } = await import('enquirer');
      try {
        // The choices' text as their names: the submitted line echoes the answer, not its number.
        const { answer } = (await Enquirer.prompt({
          type: 'select',
          name: 'answer',
          message: q.question,
          choices: q.choices.map((text) => ({ name: text, message: text })),
        })) as { answer: string };
        return q.choices.indexOf(answer);
      } catch {
        return 'left'; // Ctrl-C (or Esc) at the quiz: the learner leaves the quiz
      }
    },
    pause: () => projector?.pause() ?? Promise.resolve(),
    busy(stop) {
      if (!keys) return () => undefined; // no raw terminal: Ctrl-C is SIGINT, which the CLI handles
      keys.interrupt = stop;
      keys.resume();
      return () => {
        if (keys.interrupt === stop) keys.interrupt = undefined;
      };
    },
    async proceed() {
      if (projector) await projector.pause();
      if (!keys) return 'go';
      for (;;) {
        out.write(c.bold('  ⏎ go on  q quit > '));
        const k = await keys.next();
        out.write('\n');
        if (k === null || k === 'q') return 'quit';
        if (k === '\r' || k === '\n' || k === ' ') return 'go';
      }
    },
    async afterLesson(next) {
      if (!keys) return 'quit';
      const offer = next ? `⏎ next: ${next.title}  m menu  q quit > ` : 'm menu  q quit > ';
      for (;;) {
        out.write(c.bold(`  ${offer}`));
        const k = await keys.next();
        out.write('\n');
        if (k === null || k === 'q') return 'quit';
        if (k === 'm') return 'menu';
        if (next && (k === '\r' || k === '\n' || k === ' ')) return 'next';
      }
    },
    close: () => {
      keys?.release();
      projector?.close();
    },
  };
}
