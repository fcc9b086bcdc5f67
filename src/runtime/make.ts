// Options to a container: the one function every path uses to turn what was asked for (nsx run's
// options, the engine's create request, a lesson's run) into a spec and the plan that builds it.
// The engine calls it for its clients: they send intent (options), never a spec or a plan.
import { hostFacts, type LayeredRoot } from './host.js';
import { specFromRunOptions, type RunOptions } from './options.js';
import { buildPlan, swapSteps, type PlannedStep } from './plan.js';
import { compileForHost } from './seccomp-host.js';
import type { ContainerSpec } from './spec.js';
import type { StepId } from './steps.js';

export interface MakeOptions extends RunOptions {
  /** Two steps to run in each other's place: a lesson's "break it" variant (kernel-order's swaps
   *  'capabilities' and 'mount-private'). See swapSteps in plan.ts. */
  swap?: [StepId, StepId];
}

/** The spec of a container and its plan. `layers`: an image's layers, to look into while its overlay
 *  root is still empty on the host (the rootfs step mounts it). The plan follows `o.root` (false for
 *  a container run on an unprivileged user's behalf: no cgroup, the unprivileged id-map rules). */
export function planContainer(o: MakeOptions, layers?: LayeredRoot): { spec: ContainerSpec; plan: PlannedStep[] } {
  const spec = specFromRunOptions(o);
  const host = hostFacts(spec.root.path, compileForHost, spec.root.overlay ? layers : undefined);
  const plan = buildPlan(spec, { ...host, root: o.root });
  return { spec, plan: o.swap ? swapSteps(plan, o.swap[0], o.swap[1]) : plan };
}
