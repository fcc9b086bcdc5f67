// docker pause and unpause: the cgroup freezer stops every process of the container where it is
// (v1 freezer.state FROZEN, cgroup-v1/freezer-subsystem.rst; v2 cgroup.freeze, cgroup-v2.rst), and
// thaws them. The process stays the engine's child, running as far as the kernel's scheduler is not
// concerned: docker shows it as "Up … (Paused)", State.Running and State.Paused both true.
import { ContainerCgroup, detectLayout } from '../../runtime/cgroups/index.js';
import { NsxError } from '../../runtime/errors.js';
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import { can, refusal } from '../lifecycle.js';

/** The container's cgroup, as its start made it (<hierarchy>/nsx/<id>). A container run on a user's
 *  behalf, or by an engine that is not root, has none: nothing to freeze or update. */
export function cgroupOf(engine: Engine, c: EngineContainer, verb: string): ContainerCgroup {
  if (!engine.root || c.record.Nsx?.RunAs)
    throw new ApiError(
      409,
      `cannot ${verb} container ${c.id}: it runs without a cgroup of its own (a rootless run), and ${verb} works through one`,
      'containers the engine runs as root have a cgroup under /sys/fs/cgroup/…/nsx/<id>',
    );
  return ContainerCgroup.open(detectLayout(), c.id);
}

/** A runtime's error about the cgroup, as the API says one: the engine could not do it (500). */
export function cgroupFailure(e: unknown): unknown {
  return e instanceof NsxError ? new ApiError(500, e.message, e.info.hint) : e;
}

export async function pause(engine: Engine, c: EngineContainer): Promise<void> {
  if (c.status === 'paused') throw refusal.alreadyPaused(c.id);
  if (c.status === 'restarting') throw refusal.restarting(c.id);
  if (!can.pause(c.status) || !c.run) throw refusal.notRunning(c.id);
  const cg = cgroupOf(engine, c, 'pause');
  try {
    await cg.freeze();
  } catch (e) {
    throw cgroupFailure(e);
  }
  if (c.status !== 'running') {
    cg.thaw(); // it exited while freezing: nothing to leave frozen
    throw refusal.notRunning(c.id);
  }
  c.transition({ to: 'paused' });
  engine.event(c, 'pause');
}

export function unpause(engine: Engine, c: EngineContainer): void {
  if (!can.unpause(c.status)) throw refusal.notPaused(c.id);
  try {
    cgroupOf(engine, c, 'unpause').thaw();
  } catch (e) {
    throw cgroupFailure(e);
  }
  c.transition({ to: 'running', resumed: true });
  engine.event(c, 'unpause');
}

/** After kill or stop's signal to a paused container: thawed, so that it can act on it (moby's
 *  killWithSignal resumes the task after SIGKILL or the stop signal; a v1-frozen task cannot even
 *  die of SIGKILL until it is thawed). Other signals stay pending while it stays paused. */
export function thawAfterSignal(engine: Engine, c: EngineContainer): void {
  if (c.status !== 'paused') return;
  try {
    cgroupOf(engine, c, 'unpause').thaw();
  } catch {
    return; // its cgroup is gone: so are its processes
  }
  c.transition({ to: 'running', resumed: true });
  engine.event(c, 'unpause');
}
