// The likely cause of a failed step, and the fix, in a learner's words. Each step's own hints are in
// its file (src/runtime/steps/<id>.ts); here only what holds for every step.
import type { ContainerSpec } from './spec.js';
import { stepById, type StepId } from './steps.js';
import type { FailureFacts } from './steps/step.js';

export type { FailureFacts } from './steps/step.js';

export function hintFor(id: StepId, f: FailureFacts, spec: ContainerSpec): string | undefined {
  const step = stepById(id);
  // Out of order: the capability this step needs was dropped by a capabilities step already applied.
  const needs = step.needsCap;
  if (
    f.errnoName === 'EPERM' &&
    needs &&
    f.before?.includes('capabilities') &&
    !(spec.process.capabilities as readonly string[]).includes(needs)
  ) {
    return `${id} needs ${needs}, and the capabilities step, already applied, has dropped it: that is why runtimes make every privileged change first and drop capabilities last (capabilities(7))`;
  }
  return step.hint?.(f, spec);
}
