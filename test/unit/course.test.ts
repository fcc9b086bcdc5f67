// The course is consistent: every lesson listed once, with its words for every step it stops at,
// man pages, a summary with a rule, a task with a check and hints, and a quiz.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { COURSE } from '../../lessons/index.js';
import { parseLessonMarkdown, LessonFormatError } from '../../src/learn/text.js';
import { loadLessonText } from '../../src/learn/text.js';
import { STEP_IDS } from '../../src/runtime/steps.js';
import { ROOT } from '../helpers.js';

describe('the course', () => {
  it('lists every lesson folder exactly once, with unique ids', () => {
    const dirs = readdirSync(join(ROOT, 'lessons'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
    expect(COURSE.map((e) => e.dir).sort()).toEqual(dirs);
    const ids = COURSE.map((e) => e.lesson.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  describe.each(COURSE.map((e) => [e.lesson.id, e] as const))('%s', (_id, entry) => {
    const { lesson } = entry;
    const text = loadLessonText(entry.dir);
    it('has an intro, a summary with a one-line rule, and a task', () => {
      expect(text.intro.length).toBeGreaterThan(50);
      expect(text.summary.length).toBeGreaterThan(30);
      expect(text.rule.length).toBeGreaterThan(10);
      expect(text.task.length).toBeGreaterThan(30);
    });
    it('explains every step it stops at, more deeply on request', () => {
      for (const id of lesson.focus) {
        expect(STEP_IDS).toContain(id);
        expect(text.steps[id]?.text.length ?? 0).toBeGreaterThan(30);
        expect(text.steps[id]?.more.length ?? 0).toBeGreaterThan(30);
        expect(text.steps[id]!.more).toMatch(/[a-z_]+\(\d\)/); // the deeper paragraph cites a man page
      }
    });
    it('cites its man pages', () => {
      expect(lesson.manPages.length).toBeGreaterThan(0);
      for (const m of lesson.manPages) expect(m).toMatch(/^[a-z_.-]+\(\d\)$/);
    });
    it('has a check, hints and a quiz with reasons', () => {
      expect(typeof lesson.check).toBe('function');
      expect(lesson.hints.length).toBeGreaterThan(0);
      expect(lesson.quiz.length).toBeGreaterThan(0);
      for (const q of lesson.quiz) {
        expect(q.answer).toBeGreaterThanOrEqual(0);
        expect(q.answer).toBeLessThan(q.choices.length);
        expect(q.why.length).toBeGreaterThan(30);
      }
    });
    it('has demos only after steps that exist, or after the command exited (on the host)', () => {
      for (const d of lesson.demos) {
        if (d.after === 'exit') expect([d.command, d.onHost]).toEqual([d.command, true]);
        else expect(STEP_IDS).toContain(d.after);
      }
    });
    // Only a lesson with a tour has one to check (the others run a container, checked above).
    if (lesson.tour)
      it('has words for each stop of its tour, more deeply on request, and no container steps besides', () => {
        const tour = lesson.tour!;
        expect(lesson.run).toBeUndefined();
        expect(lesson.focus).toEqual([]);
        expect(tour.stops.length).toBeGreaterThan(0);
        expect(new Set(tour.stops.map((s) => s.id)).size).toBe(tour.stops.length);
        for (const stop of tour.stops) {
          expect([stop.id, text.stops?.[stop.id]?.text.length ?? 0]).toEqual([stop.id, expect.any(Number)]);
          expect(text.stops?.[stop.id]?.text.length ?? 0).toBeGreaterThan(30);
          expect(text.stops?.[stop.id]?.more ?? '').toMatch(/[a-z_]+\(\d\)/);
          expect(stop.commands.length).toBeGreaterThan(0);
        }
        // Words only for stops that exist.
        expect(Object.keys(text.stops ?? {}).sort()).toEqual(tour.stops.map((s) => s.id).sort());
      });
    it('has words for each of its variants, before and after the run', () => {
      for (const [name, v] of Object.entries(lesson.variants ?? {})) {
        expect(v.swap).toHaveLength(2); // two steps of STEP_ORDER, checked again by the engine (Nsx.Swap)
        for (const id of v.swap) expect(STEP_IDS).toContain(id);
        expect(text.variants?.[name]?.text.length ?? 0).toBeGreaterThan(30);
        expect(text.variants?.[name]?.more ?? '').toMatch(/[a-z_]+\(\d\)/);
        if (v.failsAt) expect(STEP_IDS).toContain(v.failsAt);
      }
    });
    it('takes a positive, plausible time', () => {
      expect(lesson.minutes).toBeGreaterThan(0);
      expect(lesson.minutes).toBeLessThanOrEqual(30);
    });
    it('has its own folder with lesson.md', () => {
      expect(existsSync(join(ROOT, 'lessons', entry.dir, 'lesson.md'))).toBe(true);
      expect(entry.dir).toMatch(/^\d\d-[a-z0-9-]+$/);
    });
  });
});

describe('lesson.md format', () => {
  it('splits sections and the rule', () => {
    const t = parseLessonMarkdown(
      '# T\n## intro\nHello.\n## step fork\nFork it.\n### more\nDeeper, see fork(2).\n## summary\nSaw it.\nRule: one line.\n## task\nDo it.\n',
    );
    expect(t).toEqual({
      intro: 'Hello.',
      steps: { fork: { text: 'Fork it.', more: 'Deeper, see fork(2).' } },
      summary: 'Saw it.',
      rule: 'one line.',
      task: 'Do it.',
    });
  });
  it("splits a tour's stops", () => {
    const t = parseLessonMarkdown(
      '## intro\nHi.\n## stop store\nLook.\n### more\nSee unix(7).\n## summary\nS.\nRule: r.\n## task\nT.\n',
    );
    expect(t.stops).toEqual({ store: { text: 'Look.', more: 'See unix(7).' } });
  });
  it('names a bad section and the fix', () => {
    expect(() => parseLessonMarkdown('## step forks\n')).toThrow(LessonFormatError);
    expect(() => parseLessonMarkdown('## outro\n')).toThrow(
      /unknown section "## outro" \(intro, step <id>, stop <id>, summary, task, variant <name>\)/,
    );
  });
});

describe('a mistyped lesson id', () => {
  it('suggests the lesson it is one or two edits from', async () => {
    const { findLesson, suggestLessons } = await import('../../src/learn/course.js');
    expect(suggestLessons('pdi')).toEqual(['pid']);
    expect(suggestLessons('cgroup')).toEqual(['cgroups']);
    expect(suggestLessons('zzzzzz')).toEqual([]);
    let hint = '';
    try {
      findLesson('pdi');
    } catch (e) {
      hint = (e as { describe(): string }).describe();
    }
    expect(hint).toContain('did you mean "pid"?');
  });
});
