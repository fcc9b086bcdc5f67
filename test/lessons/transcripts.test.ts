// Every lesson as a printed transcript (the handout mode): it completes, and every line fits 80
// columns (but a command's lone argument wider than that) with no colour codes — what a projector or
// a printout needs.
import { describe, expect } from '@jest/globals';
import { COURSE } from '../../lessons/index.js';
import { itRoot } from '../helpers.js';
import { playForTest } from './play.js';
import { useTestEngine } from '../engine.js';

describe('lesson transcripts', () => {
  for (const { lesson } of COURSE) {
    itRoot(
      `${lesson.id}: completes, within 80 columns, without escape codes`,
      async () => {
        const p = await playForTest(lesson.id, { raw: true });
        expect(p.completed).toBe(true);
        // A command's argument wider than the screen (a path in a lab's store) is kept whole on a
        // line of its own so it can be copied (test/unit/demo.test.ts): the one line allowed wider.
        const loneWord = (l: string) => /^ {10,}\S+$/.test(l);
        const wide = p.transcript.split('\n').filter((l) => [...l].length > 80 && !loneWord(l));
        expect(wide).toEqual([]);
        expect(p.transcript).not.toMatch(/\x1b\[/);
      },
      120000,
    );
  }
});

useTestEngine(); // nsx run --step goes through the engine

describe('lesson: welcome', () => {
  itRoot('nsx check welcome fails with no half-built container and passes with one paused', async () => {
    const { spawn } = await import('node:child_process');
    const { findLesson } = await import('../../src/learn/course.js');
    const { NSX, TEST_ROOTFS } = await import('../helpers.js');
    const { check } = findLesson('welcome').lesson;
    const before = await check();
    // Another engineer's (or test's) paused container would make this pass already: only assert the
    // failure when none is around.
    if (!before.ok) expect(before.message).toMatch(/No half-built container/);
    const paused = spawn(process.execPath, [NSX, 'run', '--step', '--rootfs', TEST_ROOTFS, '/bin/true'], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    try {
      let r = await check();
      for (let i = 0; i < 50 && !r.ok; i++) {
        await new Promise((res) => setTimeout(res, 100));
        r = await check();
      }
      expect(r.ok).toBe(true);
      expect(r.message).toMatch(/half-built container, process \d+/);
    } finally {
      paused.stdin.end('q\n');
      await new Promise((res) => paused.on('close', res));
    }
  });
});
