// nsx's own verbs: a container built one step at a time over the API (nsx run --step, the lessons).
// GET …/steps follows the runtime's events; POST …/step answers the step it is paused before.
import type { EventEmitter } from 'node:events';
import type { RuntimeEvent } from '../../runtime/events.js';
import type { EngineContainer } from '../container.js';
import { ApiError } from '../errors.js';
import type { StepView } from '../shapes.js';

/** A stepped container's step, for ps and inspect: 1-based, of the plan's steps. */
export function stepOf(c: EngineContainer): StepView | undefined {
  const s = c.run?.stepping;
  if (!s || !s.pauses || s.ended || !c.run) return undefined;
  const last = [...s.events].reverse().find((e) => e.type === 'step-started');
  const current = s.paused ?? (last?.type === 'step-started' ? { index: last.index, step: last.step } : undefined);
  if (!current) return undefined;
  const x = c.run.container;
  const net = x.network; // the veth pair (--network veth): its names and addresses
  return {
    Index: current.index + 1,
    Total: s.total,
    Id: current.step.id,
    Title: current.step.title,
    Paused: !!s.paused,
    Pid: x.pid ?? 0,
    Applied: [...x.applied],
    ...(net ? { Network: net } : {}),
  };
}

export interface StepFollower {
  events: RuntimeEvent[];
  feed: EventEmitter;
  ended: boolean;
  leave: () => void;
}

/** GET /containers/{id}/steps: the runtime's events so far, then as they come, until the run ends.
 *  Followed before the start (docker run's order: attach, then start), the events of the next run. */
export function followSteps(c: EngineContainer): StepFollower {
  const n = c.record.Nsx;
  if (!n?.Step && !n?.Observe)
    throw new ApiError(
      409,
      `container ${c.id} is not being stepped or observed`,
      'create it with {"Nsx": {"Step": true}} (nsx run --step) or {"Nsx": {"Observe": true}} (nsx run --trace)',
    );
  const s = c.stepLog();
  // The stepping client owns the half-built container: when it goes (q, Ctrl-C, even kill -9), so
  // does the container. An observed one outlives its follower, as a docker container its client.
  const leave = () => {
    const run = c.run;
    if (s.pauses && !s.ended && run?.stepping === s) run.container.abort();
  };
  return { events: [...s.events], feed: s.feed, ended: s.ended, leave };
}

/** POST /containers/{id}/step?action=apply|quit: answers the step it is paused before; abort (with
 *  exit=N) ends it wherever it is, stepped or not, as Ctrl-C does in nsx run: SIGKILL, and N (the
 *  128 + signal a shell reports) as its exit code. */
export function step(c: EngineContainer, action: string, exit?: number): void {
  // abort: any running container (nsx run's second Ctrl-C, or a command that ignored the first).
  if (action === 'abort' && c.run) return void c.run.container.abort(exit);
  const s = c.run?.stepping;
  if (!s || !s.pauses || s.ended) throw new ApiError(409, `container ${c.id} is not being stepped`);
  if (action !== 'apply' && action !== 'quit')
    throw new ApiError(400, `invalid action: ${action}`, 'use apply, quit or abort');
  if (!s.paused)
    throw new ApiError(
      409,
      `container ${c.id} is not paused before a step`,
      'wait for its step-started event (GET /containers/{id}/steps)',
    );
  const { answer } = s.paused;
  s.paused = undefined;
  answer(action);
}
