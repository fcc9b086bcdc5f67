// What the learner reads: every lesson's words (lesson.md, demo and tour notices, hints, the quiz,
// the steps' own explanations) reach the screen with their markdown rendered — no backtick left —
// and wrapped to the terminal's width at 64, 110 and 160 columns, never inside a word.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Chalk } from 'chalk';
import { COURSE } from '../../lessons/index.js';
import type { PlayerEvent } from '../../src/learn/events.js';
import { textOf } from '../../src/learn/course.js';
import { renderMarkdown } from '../../src/learn/ui.js';
import { renderLesson } from '../../src/render/lesson.js';
import { prose, proseWidth, screenWidth, stepHeader } from '../../src/render/terminal.js';
import { STEP_IDS, STEP_INFO } from '../../src/runtime/steps.js';

/** Every word a lesson shows, as the events that carry it (no container needed). */
function lessonEvents(i: number): { events: PlayerEvent[]; hints: string[]; sources: string[] } {
  const { lesson } = COURSE[i];
  const text = textOf(COURSE[i]);
  const events: PlayerEvent[] = [
    { type: 'lesson-started', id: lesson.id, title: lesson.title },
    { type: 'intro', text: text.intro },
  ];
  for (const [step, words] of Object.entries(text.steps)) {
    events.push({ type: 'explained', step, more: false, text: words!.text });
    if (words!.more) events.push({ type: 'explained', step, more: true, text: words!.more });
  }
  for (const [name, words] of Object.entries({ ...text.stops, ...text.variants })) {
    events.push({ type: 'explained', step: name, more: false, text: words!.text });
    if (words!.more) events.push({ type: 'explained', step: name, more: true, text: words!.more });
  }
  const demo = (notice: string): PlayerEvent => ({
    type: 'demo',
    after: 'hostname',
    command: ['true'],
    onHost: true,
    output: '',
    status: 0,
    notice,
  });
  for (const d of lesson.demos) events.push(demo(d.notice));
  for (const stop of lesson.tour?.stops ?? []) for (const c of stop.commands) events.push(demo(c.notice));
  events.push({ type: 'summary', text: text.summary, rule: text.rule });
  events.push({ type: 'task', lesson: lesson.id, text: text.task });
  for (const q of lesson.quiz) events.push({ type: 'quiz', ...q, correct: undefined });
  const sources = [
    lesson.title,
    text.intro,
    text.summary,
    text.rule,
    text.task,
    ...lesson.hints,
    ...lesson.demos.map((d) => d.notice),
    ...lesson.quiz.flatMap((q) => [q.question, q.why, ...q.choices]),
    ...Object.values({ ...text.steps, ...text.stops, ...text.variants }).flatMap((w) => [w!.text, w!.more]),
    ...(lesson.tour?.stops ?? []).flatMap((s) => s.commands.map((c) => c.notice)),
  ];
  return { events, hints: lesson.hints, sources };
}

const plain = new Chalk({ level: 0 });
const render = (events: PlayerEvent[]) =>
  renderLesson(events, { c: plain, markdown: (md) => renderMarkdown(md, false), mode: 'print' });

/** A word as the source and the screen both write it: markup and punctuation around it dropped. */
const norm = (w: string) => w.replace(/[`*_"'“”‘’()[\]{}<>.,;:!?→…•]/g, '').toLowerCase();

describe.each([64, 110, 160])('the words of every lesson at %i columns', (columns) => {
  const saved = { columns: process.env.COLUMNS, out: process.stdout.isTTY, err: process.stderr.isTTY };
  beforeAll(() => {
    process.env.COLUMNS = String(columns);
    // The width comes from $COLUMNS here, as it does whenever the output is not a terminal.
    process.stdout.isTTY = false;
    process.stderr.isTTY = false;
  });
  afterAll(() => {
    if (saved.columns === undefined) delete process.env.COLUMNS;
    else process.env.COLUMNS = saved.columns;
    process.stdout.isTTY = saved.out;
    process.stderr.isTTY = saved.err;
  });

  it('takes its width from the terminal', () => {
    expect(screenWidth()).toBe(columns);
    expect(proseWidth()).toBe(Math.min(columns, 100));
  });

  it.each(COURSE.map((e, i) => [e.lesson.id, i]))('%s: no backtick, no line wider, no word broken', (_id, i) => {
    const { events, hints, sources } = lessonEvents(i as number);
    const lines = [...render(events), ...hints.flatMap((h) => prose(`hint: ${h}`, 0))];
    const text = lines.join('\n');
    expect(text).not.toContain('`');
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(columns);
    // No lone bracket at either end of a line: none opens a line's end, none closes at its start.
    for (const l of lines) expect(l).not.toMatch(/(^|\s)[([{]\s*$|^\s*[)\]}]/);
    // Every word on the screen is a word of the lesson's source (or of the player's own lines): a
    // word broken in two would leave pieces that are not.
    const known = new Set(
      [
        ...sources,
        ...render([]),
        'Quiz Answer Rule What you saw Try it yourself Then run nsx check --hint for a nudge hint host$ true',
      ]
        .join(' ')
        .split(/[\s/]+/)
        .map(norm),
    );
    const unknown = text
      .split(/[\s/]+/)
      .map(norm)
      .filter((w) => w && !known.has(w) && !/^\d+$/.test(w) && !/^-+$/.test(w));
    expect(unknown.filter((w) => !COURSE[i as number].lesson.id.includes(w) && !/^\d+\/\d+$/.test(w))).toEqual([]);
  });
});

describe('the steps the runtime explains', () => {
  it('show no backtick and fit 64 columns', () => {
    const lines = STEP_IDS.flatMap((id, i) =>
      stepHeader(i, STEP_IDS.length, { id, ...STEP_INFO[id], notes: [] }, plain),
    );
    for (const l of lines) expect([...l].length).toBeLessThanOrEqual(Math.max(64, screenWidth()));
    expect(lines.join('\n')).not.toContain('`');
  });
});
