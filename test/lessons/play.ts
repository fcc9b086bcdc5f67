// Runs a lesson as the tests do: non-interactively (the transcript mode), on the real kernel, with
// every event kept for assertions and the transcript kept as text.
import type { ChildProcess } from 'node:child_process';
import { Writable } from 'node:stream';
import type { CheckResult } from '../../src/learn/lesson.js';
import { descendantsOf } from '../live.js';
import { findLesson, textOf } from '../../src/learn/course.js';
import { playLesson, type PlayerEvent } from '../../src/learn/player.js';
import type { TourRun } from '../../src/learn/tour.js';
import { makeUI } from '../../src/learn/ui.js';
import type { Evidence } from '../../src/runtime/observe.js';
import { TEST_ROOTFS, stripAnsi } from '../helpers.js';

export interface Played {
  completed: boolean;
  exitCode: number;
  events: PlayerEvent[];
  transcript: string;
}

/** opts.env: the environment the player reads (SUDO_UID, SUDO_GID), instead of the test's own;
 *  opts.variant: a variant of the lesson (nsx lesson <id> --variant <name>). */
export async function playForTest(
  id: string,
  opts: {
    rootfs?: string;
    env?: NodeJS.ProcessEnv;
    variant?: string;
    /** keep escape codes (to check there are none) */ raw?: boolean;
  } = {},
): Promise<Played> {
  let transcript = '';
  const out = new Writable({
    write(chunk, _enc, cb) {
      transcript += chunk.toString();
      cb();
    },
  });
  const entry = findLesson(id);
  const events: PlayerEvent[] = [];
  const r = await playLesson(entry.lesson, textOf(entry), {
    ui: makeUI({ mode: 'print', out }),
    onEvent: (e) => events.push(e),
    rootfs: opts.rootfs ?? TEST_ROOTFS,
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.variant ? { variant: opts.variant } : {}),
  });
  return { ...r, events, transcript: opts.raw ? transcript : stripAnsi(transcript) };
}

/** The output of the demos run after a step (in order). */
export function demoOutputs(p: Played, after: string, where: 'inside' | 'host' = 'inside'): string[] {
  return p.events
    .filter(
      (e): e is Extract<PlayerEvent, { type: 'demo' }> =>
        e.type === 'demo' && e.after === after && e.onHost === (where === 'host'),
    )
    .map((e) => e.output.trim());
}

/** The evidence shown after a step. */
export function evidence(p: Played, step: string): Evidence | undefined {
  const e = p.events.find((x) => x.type === 'step-applied' && x.step.id === step);
  return e && e.type === 'step-applied' ? e.evidence : undefined;
}

/** What the lesson's command printed. */
export function commandOutput(p: Played): string {
  return p.events
    .filter((e): e is Extract<PlayerEvent, { type: 'output' }> => e.type === 'output')
    .map((e) => e.text)
    .join('');
}

/** Runs a lesson's check until ok(result) holds or about 5 s pass: a learner's solution takes a
 *  moment to show up in /proc. Returns the last result. */
export async function checkUntil(id: string, ok: (r: CheckResult) => boolean = (r) => r.ok): Promise<CheckResult> {
  const { check } = findLesson(id).lesson;
  let r = await check();
  for (let i = 0; i < 50 && !ok(r); i++) {
    await new Promise((res) => setTimeout(res, 100));
    r = await check();
  }
  return r;
}

/** Kills a test's solution process and everything it started. */
export function killTree(child: ChildProcess | undefined): void {
  if (!child?.pid) return;
  for (const q of descendantsOf(child.pid)) {
    try {
      process.kill(q, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  child.kill('SIGKILL');
}

/** A tour lesson played as playForTest plays it, interrupted as `nsx lesson` is on SIGINT (the tour
 *  aborted with 130) at the first event `when` says yes to; `when` may note what it sees then. */
export async function playTourUntil(id: string, when: (e: PlayerEvent) => boolean): Promise<Played> {
  let transcript = '';
  const events: PlayerEvent[] = [];
  let tour: TourRun | undefined;
  const entry = findLesson(id);
  const r = await playLesson(entry.lesson, textOf(entry), {
    ui: makeUI({ mode: 'print', out: new Writable({ write: (c, _e, cb) => ((transcript += c.toString()), cb()) }) }),
    rootfs: TEST_ROOTFS,
    onTour: (t) => (tour = t),
    onEvent: (e) => {
      events.push(e);
      if (when(e)) tour!.abort(130);
    },
  });
  return { ...r, events, transcript: stripAnsi(transcript) };
}
