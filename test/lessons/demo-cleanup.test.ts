// The player's generic demo features on the real kernel: placeholders filled from the live container,
// and a demo's cleanup run on the host when the lesson ends — finished, or quit half-way.
import { afterEach, describe, expect } from '@jest/globals';
import { existsSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Lesson, LessonText } from '../../src/learn/lesson.js';
import { playLesson, type PlayerEvent } from '../../src/learn/player.js';
import { makeUI } from '../../src/learn/ui.js';
import { TEST_ROOTFS, itRoot } from '../helpers.js';

const marker = () => `/tmp/nsx-demo-cleanup-${randomBytes(4).toString('hex')}`;

function lessonMaking(file: string): Lesson {
  return {
    id: 'demo-cleanup-test',
    title: 'demo cleanup (test)',
    minutes: 1,
    needsRoot: true,
    manPages: ['namespaces(7)'],
    run: { options: {}, command: ['/bin/true'] },
    focus: ['fork'],
    demos: [
      {
        after: 'namespaces',
        onHost: true,
        command: ['touch', file],
        notice: 'made on the host',
        cleanup: ['rm', file],
      },
      {
        after: 'namespaces',
        onHost: true,
        command: ['readlink', '/proc/{pid}/ns/net'],
        notice: "the container's network namespace, by its host PID",
      },
    ],
    check: async () => ({ ok: false, message: 'n/a' }),
    hints: ['n/a'],
    quiz: [],
  };
}

const TEXT: LessonText = {
  intro: 'test',
  steps: { fork: { text: 'fork', more: 'see fork(2)' } },
  summary: 's',
  rule: 'r',
  task: 't',
};

async function play(lesson: Lesson, quitAt?: string) {
  const events: PlayerEvent[] = [];
  const ui = makeUI({ mode: 'print', out: new Writable({ write: (_c, _e, cb) => cb() }) });
  const choose = ui.choose.bind(ui);
  ui.choose = async (step) => (step.id === quitAt ? 'quit' : choose(step));
  const r = await playLesson(lesson, TEXT, { ui, onEvent: (e) => events.push(e), rootfs: TEST_ROOTFS });
  return { ...r, events };
}

describe('lesson player: demos', () => {
  const files: string[] = [];
  afterEach(() => {
    for (const f of files.splice(0)) rmSync(f, { force: true });
  });

  itRoot("fills {pid} and runs a demo's cleanup when the lesson ends", async () => {
    const file = marker();
    files.push(file);
    const p = await play(lessonMaking(file));
    expect(p.completed).toBe(true);
    const demos = p.events.filter((e): e is Extract<PlayerEvent, { type: 'demo' }> => e.type === 'demo');
    expect(demos[0].status).toBe(0); // the file existed during the lesson
    expect(demos[1].command[1]).toMatch(/^\/proc\/\d+\/ns\/net$/);
    expect(demos[1].output.trim()).toMatch(/^net:\[\d+\]$/);
    expect(p.events).toContainEqual(
      expect.objectContaining({ type: 'demo-cleanup', command: ['rm', file], status: 0 }),
    );
    expect(existsSync(file)).toBe(false);
  });

  itRoot('runs the cleanup also when the learner quits half-way', async () => {
    const file = marker();
    files.push(file);
    const p = await play(lessonMaking(file), 'fork');
    expect(p.completed).toBe(false);
    expect(p.events.some((e) => e.type === 'demo' && e.command[1] === file)).toBe(true);
    expect(existsSync(file)).toBe(false);
  });
});
