// The lesson renderer (src/render/lesson.ts): a function for every event kind, and a session's
// transcript made of its events alone — the recorded events, rendered again, give the same text.
import { describe, expect, it } from '@jest/globals';
import { Chalk } from 'chalk';
import { Writable } from 'node:stream';
import { findLesson, textOf } from '../../src/learn/course.js';
import type { DemoEvent, PlayerEvent } from '../../src/learn/events.js';
import type { Lesson, LessonText } from '../../src/learn/lesson.js';
import { playLesson } from '../../src/learn/player.js';
import { makeUI, renderMarkdown } from '../../src/learn/ui.js';
import { LESSON_RENDERERS, lessonRenderer, renderLesson, type LessonRenderContext } from '../../src/render/lesson.js';
import { STEP_INFO } from '../../src/runtime/steps.js';

const plain: Omit<LessonRenderContext, 'container'> = {
  c: new Chalk({ level: 0 }),
  markdown: (md) => renderMarkdown(md, false),
  mode: 'print',
};
const step = { id: 'hostname' as const, ...STEP_INFO.hostname, notes: [] };
const demo: DemoEvent = {
  type: 'demo',
  after: 'hostname',
  command: ['hostname'],
  onHost: false,
  output: 'box\n',
  status: 0,
  notice: 'its own name',
};

/** One event of every kind: the type makes the compiler ask for each kind there is. */
const SAMPLES: { [K in PlayerEvent['type']]: Extract<PlayerEvent, { type: K }> } = {
  'lesson-started': { type: 'lesson-started', id: 't', title: 'A test' },
  intro: { type: 'intro', text: 'The **intro**.' },
  'variant-intro': { type: 'variant-intro', name: 'break', title: 'swapped', text: 'Two steps swapped.' },
  'run-as': { type: 'run-as', how: 'self', note: 'rootless, as you' },
  'container-planned': { type: 'container-planned', id: 'f'.repeat(64), total: 18, focus: ['hostname'] },
  explained: { type: 'explained', step: 'hostname', more: false, text: 'Names the box.' },
  'stop-reached': { type: 'stop-reached', index: 0, total: 2, id: 'one', title: 'First' },
  'table-asked': { type: 'table-asked' },
  'stop-running': { type: 'stop-running', id: 'one' },
  'demo-started': { type: 'demo-started', after: 'one', command: ['echo', 'hi'] },
  'demo-output': { type: 'demo-output', after: 'one', text: 'hi\n' },
  demo,
  'demo-shown': { type: 'demo-shown', demo: { ...demo, held: true } },
  'demo-cleanup': { type: 'demo-cleanup', command: ['rm', '/tmp/x'], output: 'rm: no such file\n', status: 1 },
  'lab-removed': { type: 'lab-removed', removed: ['the lab'] },
  output: { type: 'output', text: 'hello\n' },
  stopped: { type: 'stopped', what: 'container' },
  'variant-ended': {
    type: 'variant-ended',
    name: 'break',
    asMeant: false,
    failsAt: 'rootfs',
    more: 'Why, see capabilities(7).',
  },
  summary: { type: 'summary', text: 'What happened.', rule: 'one line' },
  task: { type: 'task', lesson: 't', text: 'Do it.' },
  quiz: { type: 'quiz', question: 'Which?', choices: ['a', 'b'], answer: 1, why: 'b, see b(1)', correct: undefined },
  'quiz-left': { type: 'quiz-left', unanswered: 2 },
  'lesson-complete': { type: 'lesson-complete', id: 't', title: 'A test', score: { right: 1, of: 2 } },
  'engine-started': {
    type: 'engine-started',
    pid: 4243,
    socket: '/run/nsx/nsxd.sock',
    stop: 'sudo nsx engine stop',
  },
  'variant-offered': { type: 'variant-offered', lesson: 't', name: 'break', title: 'swapped' },
  'lesson-finished': { type: 'lesson-finished', id: 't', completed: true, exitCode: 0 },
  created: { type: 'created', id: 'f'.repeat(64), rootfs: '/r', command: ['/bin/sh'], steps: [step] },
  'step-started': { type: 'step-started', index: 9, step },
  'step-skipped': { type: 'step-skipped', index: 9, step, reason: 'no UTS namespace' },
  'step-applied': { type: 'step-applied', index: 9, step, changed: [] },
  'step-failed': {
    type: 'step-failed',
    index: 9,
    step,
    error: { message: 'sethostname: Operation not permitted', hint: 'needs CAP_SYS_ADMIN' },
  },
  started: { type: 'started', pid: 4242 },
  exited: { type: 'exited', exitCode: 0, code: 0, oomKilled: false },
  'cleaned-up': { type: 'cleaned-up', removed: [] },
};

describe('lesson renderer', () => {
  it('has a renderer for every event kind, each giving plain lines within 80 columns', () => {
    expect(Object.keys(LESSON_RENDERERS).sort()).toEqual(Object.keys(SAMPLES).sort());
    const lines = renderLesson(Object.values(SAMPLES), plain);
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(80);
    expect(lines.join('\n')).not.toMatch(/\x1b/);
    const text = lines.join('\n');
    // What the container-planned event told the renderer: the total, the focus, the id written <id>.
    expect(text).toContain('[10/18] Set the hostname');
    expect(text).toContain('[10/18] Set the hostname: skipped (no UTS namespace)');
    expect(text).toMatch(/inside\$ hostname\n {4}box\n {2}→ its own name/);
    expect(text).toContain('This variant was meant to fail at the rootfs step, but it did not fail.');
    expect(text).toMatch(/Quiz: Which\?\n {2}1\. a\n {2}2\. b\nAnswer: b\n {2}b, see b\(1\)/);
    expect(text).toContain('You left the quiz (2 questions not answered).');
    expect(text).toContain('Lesson complete: A test. Quiz: 1 of 2 right.');
    expect(text.replace(/\n/g, ' ')).toMatch(/It stays running after the lesson, .*stop it with: sudo nsx engine stop/);
  });

  it('sums up a lesson that showed nothing without "What you saw"', () => {
    const summary = { type: 'summary', text: 'In a line.', rule: 'one' } as const;
    expect(LESSON_RENDERERS.summary(summary, plain)).toContain('What you saw');
    const none = LESSON_RENDERERS.summary({ ...summary, seen: false }, plain);
    expect(none).not.toContain('What you saw');
    expect(none).toContain('In short');
  });

  it("shows a tour command's output as it streams in: chunk by chunk, the lines the whole output gives", () => {
    const output = '\n\nfirst line\n\n  second ' + 'x'.repeat(100) + '\n\n   \nthird ünï\n\n  \n';
    const whole: DemoEvent = { ...demo, after: 'one', command: ['sh', '-c', 'boot'], onHost: true, output, stop: true };
    const once = renderLesson([whole], plain);
    for (const size of [1, 3, 7, output.length]) {
      const chunks: PlayerEvent[] = [];
      for (let i = 0; i < output.length; i += size)
        chunks.push({ type: 'demo-output', after: 'one', text: output.slice(i, i + size) });
      const started: PlayerEvent = { type: 'demo-started', after: 'one', command: whole.command };
      const events = [started, ...chunks, { ...whole, streamed: true as const }];
      expect(renderLesson(events, plain)).toEqual(once);
    }
    // A line is shown once it is ended, the blank lines before it with it, none after the last.
    const render = lessonRenderer(plain);
    expect(render({ type: 'demo-started', after: 'one', command: ['sh'] })).toEqual(['  host$ sh']);
    expect(render({ type: 'demo-output', after: 'one', text: 'booting' })).toEqual([]);
    expect(render({ type: 'demo-output', after: 'one', text: '...\n\n' })).toEqual(['    booting...']);
    expect(render({ type: 'demo-output', after: 'one', text: 'login: ' })).toEqual([]);
    expect(render({ ...whole, output: '', streamed: true })).toEqual(['', '    login:', '  → its own name', '']);
    expect(render({ type: 'demo-started', after: 'one', command: ['true'] })).toEqual(['  host$ true']);
    expect(render({ type: 'demo-output', after: 'one', text: '\n \n' })).toEqual([]);
    expect(render({ ...whole, output: '', streamed: true })).toEqual(['  → its own name', '']);
  });

  it('shows a held demo only when it is shown', () => {
    expect(LESSON_RENDERERS.demo({ ...demo, held: true }, plain)).toEqual([]);
    const shown = LESSON_RENDERERS['demo-shown']({ type: 'demo-shown', demo: { ...demo, held: true } }, plain);
    expect(shown).toEqual(LESSON_RENDERERS.demo(demo, plain));
  });
});

/** A lesson played in print mode: its events and the transcript the UI wrote. */
async function played(lesson: Lesson, text: LessonText) {
  const events: PlayerEvent[] = [];
  let transcript = '';
  const out = new Writable({ write: (c, _e, cb) => ((transcript += c.toString()), cb()) });
  const ui = makeUI({ mode: 'print', out });
  const r = await playLesson(lesson, text, { ui, onEvent: (e) => events.push(e) });
  return { ...r, events, transcript };
}

const tourLesson: Lesson = {
  id: 'render-test',
  title: 'render (test)',
  minutes: 1,
  needsRoot: false,
  manPages: ['echo(1)'],
  focus: [],
  demos: [],
  tour: {
    setup: async () => ({ vars: {}, env: {}, teardown: async () => ['the test lab'] }),
    stops: [{ id: 'one', title: 'First', commands: [{ command: ['echo', 'hi'], notice: 'it says hi' }] }],
  },
  variants: { other: { title: 'another way', swap: ['capabilities', 'mount-private'] } },
  check: async () => ({ ok: false, message: 'n/a' }),
  hints: ['n/a'],
  quiz: [{ question: 'What did it say?', choices: ['hi', 'bye'], answer: 0, why: 'echo(1) prints its arguments.' }],
};
const TEXT: LessonText = {
  intro: 'An **intro**.',
  steps: {},
  stops: { one: { text: 'The stop.', more: 'More, see echo(1).' } },
  summary: 'It said hi.',
  rule: 'echo echoes',
  task: 'Say hi.',
};

describe("a session's transcript", () => {
  it('is its events rendered: the recorded events give the same text, every time', async () => {
    const welcome = findLesson('welcome');
    for (const [lesson, text] of [
      [tourLesson, TEXT],
      [welcome.lesson, textOf(welcome)],
    ] as const) {
      const p = await played(lesson, text);
      expect(p.completed).toBe(true);
      const again = renderLesson(p.events, plain)
        .map((l) => l + '\n')
        .join('');
      expect(again).toBe(p.transcript);
      expect(
        renderLesson(p.events, plain)
          .map((l) => l + '\n')
          .join(''),
      ).toBe(again);
      expect(p.transcript).toContain(lesson.title);
    }
  });

  it('tells everything through events: the prose is in them, not added on the side', async () => {
    const p = await played(tourLesson, TEXT);
    const kinds = p.events.map((e) => e.type);
    expect(kinds).toEqual([
      'lesson-started',
      'intro',
      'stop-reached',
      'explained',
      'explained',
      'stop-running',
      'demo-started',
      'demo-output',
      'demo',
      'lab-removed',
      'summary',
      'task',
      'quiz',
      'variant-offered',
      'lesson-complete',
      'lesson-finished',
    ]);
    expect(p.events).toContainEqual({ type: 'explained', step: 'one', more: true, text: 'More, see echo(1).' });
    const quiz = { type: 'quiz', question: 'What did it say?', choices: ['hi', 'bye'], answer: 0, correct: undefined };
    expect(p.events).toContainEqual(expect.objectContaining(quiz));
    const stop =
      /\[1\/1\] First\n\n {2}The stop\.\n\n {2}More, see echo\(1\)\.\n\n {2}host\$ echo hi\n {4}hi\n {2}→ it/;
    expect(p.transcript).toMatch(stop);
  });
});
