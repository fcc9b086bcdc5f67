// nsx lesson <id> in a real pseudo-terminal (util-linux script(1) gives the player a terminal), for
// the tests of the interactive path: what it puts on the screen, and keys typed at it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PlayerEvent } from '../../src/learn/events.js';
import { NSX, stripAnsi } from '../helpers.js';

/** What a tour shows when it waits at a stop. */
export const TOUR_PROMPT = '⏎ run  e explain more  q quit';

export interface LessonTerminal {
  /** Everything on the screen so far, escape codes removed. */
  readonly screen: string;
  /** The lesson's events so far (nsx lesson --events, written to a file of the terminal's). */
  events(): PlayerEvent[];
  /** Its exit status (script's, which is nsx's). */
  exited: Promise<number | null>;
  /** Waits for text to appear after what was already consumed, then moves past it. */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  /** Types k at the terminal. */
  key(k: string): void;
  /** Waits for the tour's prompt (TOUR_PROMPT), then types k. */
  atTourPrompt(k: string): Promise<void>;
  /** Waits for the player's "Stopped." and then for its exit status. */
  stopped(): Promise<number | null>;
  /** Kills its process group (script, nsx and all below, if still there) and removes its progress file. */
  close(): void;
}

/** Starts nsx lesson <id> in a terminal (its own progress file; NO_COLOR, TERM=xterm). waitMs: how long
 *  waitFor waits by default. */
export function lessonInTerminal(id: string, waitMs: number): LessonTerminal {
  return nsxInTerminal(['lesson', id], waitMs);
}

/** Starts `nsx ARGS --events FILE` in a terminal, as lessonInTerminal does (nsx run --step too:
 *  its events are the runtime's, read with events() and cast). ARGS are words without spaces. */
export function nsxInTerminal(args: string[], waitMs: number): LessonTerminal {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-pty-'));
  const events = join(dir, 'events.jsonl');
  const [verb, ...rest] = args;
  const command = `${process.execPath} ${NSX} ${verb} --events ${events} ${rest.join(' ')}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // its own process group: a failed test kills script, nsx and all below
    env: { ...process.env, NO_COLOR: '1', TERM: 'xterm', NSX_PROGRESS: join(dir, 'progress.json') },
  });
  let screen = '';
  child.stdout.on('data', (d) => (screen += stripAnsi(d.toString())));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  let seen = 0;
  const term: LessonTerminal = {
    get screen() {
      return screen;
    },
    exited,
    events() {
      try {
        return readFileSync(events, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as PlayerEvent);
      } catch {
        return [];
      }
    },
    async waitFor(text, ms = waitMs) {
      for (const end = Date.now() + ms; Date.now() < end;) {
        const rest = screen.slice(seen);
        const m = typeof text === 'string' ? rest.indexOf(text) : rest.search(text);
        if (m >= 0) {
          seen += m + 1;
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`timed out waiting for ${text}; screen so far:\n${screen.slice(-2000)}`);
    },
    key: (k) => void child.stdin.write(k),
    async atTourPrompt(k) {
      await term.waitFor(TOUR_PROMPT);
      term.key(k);
    },
    async stopped() {
      await term.waitFor('Stopped.');
      return exited;
    },
    close() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return term;
}
