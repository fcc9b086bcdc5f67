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
  if (!s || s.ended || !c.run) return undefined;
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

/** GET /containers/{id}/steps: the runtime's events so far, then as they come, until the run ends. */
export function followSteps(c: EngineContainer): StepFollower {
  const run = c.run;
  const s = run?.stepping;
  if (!run || !s)
    throw new ApiError(
      409,
      `container ${c.id} is not being stepped`,
      'create it with {"Nsx": {"Step": true}} (nsx run --step) and start it',
    );
  s.followed = true;
  // The stepping client owns the half-built container: when it goes (q, Ctrl-C, even kill -9), so does the container.
  return { events: [...s.events], feed: s.feed, ended: s.ended, leave: () => !s.ended && run.container.abort() };
}

/** POST /containers/{id}/step?action=apply|quit: answers the step it is paused before; abort (with
 *  exit=N) ends it wherever it is, as Ctrl-C does in nsx run. */
export function step(c: EngineContainer, action: string, exit?: number): void {
  const s = c.run?.stepping;
  if (!s || s.ended) throw new ApiError(409, `container ${c.id} is not being stepped`);
  if (action === 'abort') return void c.run?.container.abort(exit);
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
