// A container lesson's transcript is its events rendered, on the real kernel: the recorded events
// (runtime and lesson events alike), rendered again, give the transcript line for line.
import { describe, expect } from '@jest/globals';
import { Chalk } from 'chalk';
import { renderMarkdown } from '../../src/learn/ui.js';
import { renderLesson } from '../../src/render/lesson.js';
import { useTestEngine } from '../engine.js';
import { itRoot } from '../helpers.js';
import { playForTest } from './play.js';

useTestEngine(); // the lesson's container is the engine's

const plain = {
  c: new Chalk({ level: 0 }),
  markdown: (md: string) => renderMarkdown(md, false),
  mode: 'print' as const,
};

describe("a container lesson's transcript", () => {
  for (const [id, variant] of [['uts'], ['kernel-order', 'break']] as const) {
    itRoot(
      `${id}${variant ? ` --variant ${variant}` : ''}: is its events rendered`,
      async () => {
        const p = await playForTest(id, variant ? { variant } : {});
        expect(p.completed).toBe(true);
        expect(p.events.some((e) => e.type === 'step-applied')).toBe(true);
        expect(
          renderLesson(p.events, plain)
            .map((l) => l + '\n')
            .join(''),
        ).toBe(p.transcript);
      },
      120000,
    );
  }
});
