// The player's demos after the command: 'exit' demos marked beforeCleanup run the moment PID 1 has
// exited, while the container's cgroup still exists (to read its final counters); the others run
// once nsx has removed it. Both are shown after the command's output, and {cgroup:…} is filled from
// what the player saw while the container lived.
import { describe, expect } from '@jest/globals';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Lesson, LessonText } from '../../src/learn/lesson.js';
import { playLesson, type PlayerEvent } from '../../src/learn/player.js';
import { makeUI } from '../../src/learn/ui.js';
import { TEST_ROOTFS, itRoot, stripAnsi } from '../helpers.js';

const lesson: Lesson = {
  id: 'demo-exit-test',
  title: 'demos after exit (test)',
  minutes: 1,
  needsRoot: true,
  manPages: ['cgroups(7)'],
  run: { options: { pidsLimit: 7 }, command: ['/bin/sh', '-c', 'echo the command ran'] },
  focus: [],
  // A getter, as a lesson computing its demos for this machine would have: the player reads it once.
  get demos() {
    return [
      {
        after: 'exit' as const,
        beforeCleanup: true,
        onHost: true,
        command: ['cat', '{cgroup:pids}/pids.max'],
        notice: 'still there',
      },
      { after: 'exit' as const, onHost: true, command: ['ls', '-d', '{cgroup:pids}'], notice: 'gone by now' },
    ];
  },
  check: async () => ({ ok: false, message: 'n/a' }),
  hints: ['n/a'],
  quiz: [],
};

const TEXT: LessonText = { intro: 'test', steps: {}, summary: 's', rule: 'r', task: 't' };

describe('lesson player: demos after the command exited', () => {
  itRoot('runs beforeCleanup demos while the cgroup exists, the others after it is removed', async () => {
    const events: PlayerEvent[] = [];
    let transcript = '';
    const out = new Writable({
      write(chunk, _e, cb) {
        transcript += chunk.toString();
        cb();
      },
    });
    const r = await playLesson(lesson, TEXT, {
      ui: makeUI({ mode: 'print', out }),
      onEvent: (e) => events.push(e),
      rootfs: TEST_ROOTFS,
    });
    expect(r.completed).toBe(true);
    const types = events.map((e) => (e.type === 'demo' ? `demo:${e.output.trim().split('\n')[0]}` : e.type));
    const demos = events.filter((e): e is Extract<PlayerEvent, { type: 'demo' }> => e.type === 'demo');
    expect(demos[0].output.trim()).toBe('7');
    expect(demos[1].status).not.toBe(0); // ls: no such directory
    expect(existsSync(demos[1].command[2])).toBe(false);
    // In order: exited → the early demo → cleaned up → the late demo.
    expect(types.indexOf('exited')).toBeLessThan(types.indexOf('demo:7'));
    expect(types.indexOf('demo:7')).toBeLessThan(types.indexOf('cleaned-up'));
    expect(types.indexOf('cleaned-up')).toBeLessThan(types.findIndex((t) => t.startsWith('demo:ls')));
    // Both shown after the command's output, in the lesson's order, the id written <id>.
    const text = stripAnsi(transcript);
    expect(text.indexOf('the command ran')).toBeLessThan(text.indexOf('pids.max'));
    expect(text).toMatch(/host\$ cat \/\S+\/nsx\/<id>\/pids\.max\n\s+7\n/);
    expect(text.indexOf('pids.max')).toBeLessThan(text.indexOf('host$ ls'));
  });
});
