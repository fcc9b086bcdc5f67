// The player's tours (lessons of host commands, no container): stops in order, values one command
// gives the next, a program that is not installed skipped with its reason, and the lab's teardown
// run however the tour ends — finished, q at a stop, or aborted (Ctrl-C) in the middle of a command.
import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Lesson, LessonText, Tour } from '../../src/learn/lesson.js';
import { playLesson, type PlayerEvent } from '../../src/learn/player.js';
import { fold, type TourRun } from '../../src/learn/tour.js';
import { makeUI } from '../../src/learn/ui.js';

function lessonWith(tour: Tour): Lesson {
  return {
    id: 'tour-test',
    title: 'tour (test)',
    minutes: 1,
    needsRoot: false,
    manPages: ['intro(1)'],
    focus: [],
    demos: [],
    tour,
    check: async () => ({ ok: false, message: 'n/a' }),
    hints: ['n/a'],
    quiz: [],
  };
}

const TEXT: LessonText = {
  intro: 'test',
  steps: {},
  stops: { one: { text: 'the first stop', more: 'deeper, see echo(1)' }, two: { text: 'the second stop', more: '' } },
  summary: 's',
  rule: 'r',
  task: 't',
};

async function play(tour: Tour, o: { quitAt?: string; onTour?: (t: TourRun) => void } = {}) {
  const events: PlayerEvent[] = [];
  let transcript = '';
  const ui = makeUI({
    mode: 'print',
    out: new Writable({ write: (c, _e, cb) => ((transcript += c.toString()), cb()) }),
  });
  const choose = ui.choose.bind(ui);
  ui.choose = async (stop) => (stop.id === o.quitAt ? 'quit' : choose(stop));
  const r = await playLesson(lessonWith(tour), TEXT, {
    ui,
    onEvent: (e) => events.push(e),
    ...(o.onTour ? { onTour: o.onTour } : {}),
  });
  const demos = events.filter((e): e is Extract<PlayerEvent, { type: 'demo' }> => e.type === 'demo');
  return { ...r, events, demos, transcript };
}

/** A lab that records its teardown. */
function lab(log: string[]) {
  return async () => ({
    vars: { word: 'lab-value' },
    env: { TOUR_TEST: 'from-the-lab' },
    teardown: async () => (log.push('teardown'), ['removed the test lab']),
  });
}

describe('lesson player: tours', () => {
  it("runs the stops in order with the lab's values and environment, passes values on, skips what is not installed, and tears the lab down", async () => {
    const log: string[] = [];
    const p = await play({
      setup: lab(log),
      stops: [
        {
          id: 'one',
          title: 'First',
          commands: [
            { command: ['echo', '{word}'], notice: 'a value of the lab' },
            {
              command: ['sh', '-c', 'echo $TOUR_TEST; echo 4242'],
              notice: 'gives its last line',
              gives: (out) => ({ number: out.trim().split('\n').pop()! }),
            },
          ],
        },
        {
          id: 'two',
          title: 'Second',
          commands: [
            { command: ['echo', 'got', '{number}'], notice: 'a value an earlier command gave' },
            {
              command: ['no-such-program-nsx', '--x'],
              needs: { program: 'no-such-program-nsx', why: 'a package nobody has' },
              notice: 'skipped',
            },
            { command: ['echo', '{unknown}'], notice: 'never known' },
          ],
        },
      ],
    });
    expect(p.completed).toBe(true);
    expect(p.demos.map((d) => [d.after, d.command.join(' '), d.output.trim(), d.status])).toEqual([
      ['one', 'echo lab-value', 'lab-value', 0],
      ['one', 'sh -c echo $TOUR_TEST; echo 4242', 'from-the-lab\n4242', 0],
      ['two', 'echo got 4242', 'got 4242', 0],
      [
        'two',
        'no-such-program-nsx --x',
        '(not run: no-such-program-nsx is not installed here; it is a package nobody has)',
        null,
      ],
      ['two', 'echo {unknown}', '(not run: {unknown} is not known at this point)', null],
    ]);
    expect(log).toEqual(['teardown']);
    expect(p.transcript).toMatch(
      /\[1\/2\] First[\s\S]*the first stop[\s\S]*deeper, see echo\(1\)[\s\S]*\[2\/2\] Second/,
    );
    expect(p.transcript).toContain('cleaning up: removed the test lab');
    expect(p.events.at(-1)).toEqual({ type: 'lesson-finished', id: 'tour-test', completed: true, exitCode: 0 });
  });

  it('tears the lab down when the learner quits at a stop, and runs nothing after', async () => {
    const log: string[] = [];
    const p = await play(
      {
        setup: lab(log),
        stops: [
          { id: 'one', title: 'First', commands: [{ command: ['true'], notice: 'n' }] },
          { id: 'two', title: 'Second', commands: [{ command: ['true'], notice: 'n' }] },
        ],
      },
      { quitAt: 'two' },
    );
    expect([p.completed, p.exitCode]).toEqual([false, 130]);
    expect(p.demos.map((d) => d.after)).toEqual(['one']);
    expect(log).toEqual(['teardown']);
  });

  it('on abort (Ctrl-C) kills the running command and tears the lab down', async () => {
    const log: string[] = [];
    let run: TourRun | undefined;
    const t0 = Date.now();
    const playing = play(
      {
        setup: lab(log),
        stops: [
          {
            id: 'one',
            title: 'First',
            commands: [
              { command: ['sleep', '30'], notice: 'n' },
              { command: ['true'], notice: 'never' },
            ],
          },
        ],
      },
      { onTour: (t) => (run = t) },
    );
    await new Promise((r) => setTimeout(r, 500));
    run!.abort(130);
    const p = await playing;
    expect(Date.now() - t0).toBeLessThan(10000);
    expect([p.completed, p.exitCode]).toEqual([false, 130]);
    expect(p.demos.map((d) => d.command[0])).toEqual(['sleep']);
    expect(log).toEqual(['teardown']);
  });

  it('on q or Ctrl-C typed while a command runs (the UI says so through busy) kills it at once', async () => {
    const log: string[] = [];
    const events: PlayerEvent[] = [];
    const ui = makeUI({ mode: 'print', out: new Writable({ write: (_c, _e, cb) => cb() }) });
    let stop: (() => void) | undefined;
    const watching: boolean[] = [];
    ui.busy = (s) => {
      stop = s;
      watching.push(true);
      return () => watching.push(false);
    };
    const t0 = Date.now();
    const playing = playLesson(
      lessonWith({
        setup: lab(log),
        stops: [{ id: 'one', title: 'First', commands: [{ command: ['sleep', '30'], notice: 'n' }] }],
      }),
      TEXT,
      { ui, onEvent: (e) => events.push(e) },
    );
    for (let i = 0; i < 50 && !stop; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 200));
    stop!();
    const r = await playing;
    expect(Date.now() - t0).toBeLessThan(10000);
    expect([r.completed, r.exitCode]).toEqual([false, 130]);
    expect(watching).toEqual([true, false]); // watched only while the command ran
    expect(log).toEqual(['teardown']);
  });

  for (const mode of ['print', 'auto'] as const) {
    it(`shows a command's output as it comes, not when it ends (--${mode})`, async () => {
      // The command prints a line, then waits until that line is on the screen before its second:
      // were the output shown only at the end, it would wait until killed, and "second" never come.
      const seen = join(mkdtempSync(join(tmpdir(), 'nsx-tour-')), 'seen');
      let screen = '';
      const ui = makeUI({
        mode,
        delaySeconds: 0,
        out: new Writable({
          write: (c, _e, cb) => {
            screen += c.toString();
            if (screen.includes('    first\n') && !existsSync(seen)) writeFileSync(seen, screen);
            cb();
          },
        }),
      });
      const events: PlayerEvent[] = [];
      const wait = 'echo first; while [ ! -e "$1" ]; do sleep 0.05; done; echo second';
      const r = await playLesson(
        lessonWith({
          stops: [
            {
              id: 'one',
              title: 'First',
              commands: [{ command: ['sh', '-c', wait, 'sh', seen], notice: 'n', seconds: 10 }],
            },
          ],
        }),
        TEXT,
        { ui, onEvent: (e) => events.push(e) },
      );
      expect(r.completed).toBe(true);
      const shownFirst = readFileSync(seen, 'utf8'); // the screen when "first" was on it
      expect(shownFirst).toMatch(/ {2}host\$ sh -c [^]*\n {4}first\n$/);
      expect(shownFirst).not.toMatch(/\n {4}second/); // the line, not the command's words
      const demo = events.find((e): e is Extract<PlayerEvent, { type: 'demo' }> => e.type === 'demo')!;
      expect([demo.output, demo.status, demo.streamed]).toEqual(['first\nsecond\n', 0, true]);
      expect(screen).toMatch(/ {4}first\n {4}second\n {2}→ n\n/);
      const kinds = events.map((e) => e.type).filter((k) => k.startsWith('demo'));
      expect(kinds).toEqual(['demo-started', 'demo-output', 'demo-output', 'demo']);
    });
  }

  it('lets a failed setup through as the error it is (the setup undoes its own half)', async () => {
    await expect(
      play({
        setup: async () => {
          throw new Error('no lab today');
        },
        stops: [{ id: 'one', title: 'First', commands: [] }],
      }),
    ).rejects.toThrow('no lab today');
  });

  it('folds wide output at 80 columns instead of cutting it', () => {
    const line = 'x'.repeat(150);
    const shown = fold(line);
    expect(shown.every((l) => l.length <= 80)).toBe(true);
    expect(shown.map((l) => l.trim()).join('')).toBe(line);
    expect(fold('short')).toEqual(['    short']);
  });
});
