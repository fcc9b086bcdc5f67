// The three ways a lesson is shown: interactive (keys at each focus step), auto (a projector: a
// readable pause, no keys) and print (a transcript: no prompts, no colour; any non-terminal output).
import { Chalk, type ChalkInstance } from 'chalk';
import { marked } from 'marked';
import { markedTerminal } from 'marked-terminal';
import { KeyReader } from '../ui/keys.js';
import { openShell } from '../ui/shell.js';
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
  /** A shell inside the container as it stands (interactive only). */
  shell(pid: number, pivoted: boolean): Promise<void>;
  /** A quiz question: the index chosen, or undefined when nobody answers (auto, print). */
  ask(q: QuizQuestion): Promise<number | undefined>;
  /** The pace in auto mode. */
  pause(): Promise<void>;
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
    async shell(pid, pivoted) {
      if (!keys) return;
      write([
        c.dim(
          `  a shell inside the container as it stands (nsenter -t ${pid} --all${pivoted ? ' -r -w' : ''}); exit to come back`,
        ),
      ]);
      keys.release();
      try {
        await openShell(pid, pivoted, (m) => write([c.red(`  ${m}`)]));
      } finally {
        keys.resume();
      }
    },
    async ask(q) {
      if (!keys) return undefined;
      keys.release();
      const { default: Enquirer } = await import('enquirer');
      try {
        const { answer } = (await Enquirer.prompt({
          type: 'select',
          name: 'answer',
          message: q.question,
          choices: q.choices.map((name, i) => ({ name: String(i), message: name })),
        })) as { answer: string };
        return Number(answer);
      } catch {
        return undefined; // Ctrl-C at the quiz: no answer
      }
    },
    pause: () => new Promise((r) => setTimeout(r, (o.delaySeconds ?? 3) * 1000)),
    close: () => keys?.release(),
  };
}
