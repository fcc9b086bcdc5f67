// Lesson variants (nsx lesson <id> --variant <name>): their words in lesson.md, the player refusing
// an unknown one before anything is made, and the list naming them.
import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { listing } from '../../src/learn/course.js';
import type { Lesson, LessonText } from '../../src/learn/lesson.js';
import { playLesson, type PlayerEvent } from '../../src/learn/player.js';
import { parseLessonMarkdown } from '../../src/learn/text.js';
import { makeUI } from '../../src/learn/ui.js';
import { NsxError } from '../../src/runtime/errors.js';
import { COURSE } from '../../lessons/index.js';

const lesson: Lesson = {
  id: 'variant-test',
  title: 'variants (test)',
  minutes: 1,
  needsRoot: true,
  manPages: ['capabilities(7)'],
  run: { options: {}, command: ['/bin/true'] },
  variants: {
    break: { title: 'capabilities before the mounts', swap: ['capabilities', 'mount-private'], failsAt: 'rootfs' },
  },
  focus: [],
  demos: [],
  check: async () => ({ ok: false, message: 'n/a' }),
  hints: ['n/a'],
  quiz: [],
};
const TEXT: LessonText = { intro: 'test', steps: {}, summary: 's', rule: 'r', task: 't' };

describe('lesson variants', () => {
  it('have their words in lesson.md: "## variant <name>", and its "### more" for after the run', () => {
    const t = parseLessonMarkdown(
      '## intro\nHi.\n## variant break\nWe swap two steps.\n### more\nWhy not, see capabilities(7).\n## summary\nS.\nRule: r.\n## task\nT.\n',
    );
    expect(t.variants).toEqual({ break: { text: 'We swap two steps.', more: 'Why not, see capabilities(7).' } });
    expect(parseLessonMarkdown('## intro\nHi.\n').variants).toBeUndefined();
  });

  it('an unknown variant is refused before anything is made, naming the ones there are', async () => {
    const events: PlayerEvent[] = [];
    const ui = makeUI({ mode: 'print', out: new Writable({ write: (_c, _e, cb) => cb() }) });
    const play = (variant: string, l: Lesson = lesson) =>
      playLesson(l, TEXT, { ui, variant, onEvent: (e) => events.push(e) });
    await expect(play('brake')).rejects.toThrow(new NsxError('the "variant-test" lesson has no variant "brake"'));
    await expect(play('brake')).rejects.toMatchObject({
      info: { hint: 'its variants: break (nsx lesson variant-test --variant break)' },
    });
    await expect(play('break', { ...lesson, variants: undefined })).rejects.toMatchObject({
      info: { hint: expect.stringMatching(/it has none/) },
    });
    expect(events).toEqual([]);
  });

  it('are listed under their lesson', () => {
    const withVariants = COURSE.filter((e) => e.lesson.variants);
    const lines = listing({ lessons: {} } as never);
    for (const { lesson: l } of withVariants) {
      for (const [name, v] of Object.entries(l.variants!))
        expect(lines).toContain(`       --variant ${name}: ${v.title}`);
    }
  });
});
