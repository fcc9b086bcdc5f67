// Plain `nsx run`'s fast path. A shim started before the plan is built: used by run() as if run()
// had started it, gone when cancelled, and a failure to start it reported by run() like any other.
// Instructions sent ahead of their steps: a failure is still its own step's, with the same events
// as when every step is awaited and observed.
import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import { hostFacts } from '../../src/runtime/host.js';
import { specFromRunOptions } from '../../src/runtime/options.js';
import { buildPlan } from '../../src/runtime/plan.js';
import { Container } from '../../src/runtime/runtime.js';
import { compileForHost, loadSeccomp } from '../../src/runtime/seccomp-host.js';
import { startShimEarly } from '../../src/runtime/shim.js';
import { itRoot, TEST_ROOTFS } from '../helpers.js';

function container(
  shim?: ReturnType<typeof startShimEarly>['shim'],
  opts: { observing?: boolean; breakStep?: string } = {},
): { c: Container; events: RuntimeEvent[] } {
  const spec = specFromRunOptions({ rootfs: TEST_ROOTFS, command: ['/bin/true'], loadSeccomp, root: true });
  const plan = buildPlan(spec, hostFacts(spec.root.path, compileForHost));
  const broken = plan.find((s) => s.id === opts.breakStep)?.actions.find((a) => a.kind === 'shim' && a.op === 'mount');
  if (broken?.kind === 'shim' && broken.op === 'mount') broken.fstype = 'nsxnosuchfs'; // mount(2): ENODEV
  const c = new Container(spec, plan, 'ignore', opts.observing ?? false, undefined, shim);
  const events: RuntimeEvent[] = [];
  c.on((e) => events.push(e));
  return { c, events };
}

describe('a shim started early', () => {
  itRoot('is the one run() uses', async () => {
    const early = startShimEarly('ignore');
    const { c, events } = container(early.shim);
    const shim = await early.shim;
    const result = await c.run();
    expect(result).toEqual({ exitCode: 0, oomKilled: false });
    expect(shim.process.exitCode).toBe(0); // the supervisor ended after the container's exit
    expect(events[0].type).toBe('created');
    expect(events.at(-1)?.type).toBe('cleaned-up');
  });

  it('is gone once cancelled', async () => {
    const early = startShimEarly('ignore');
    const shim = await early.shim;
    early.cancel();
    await shim.gone();
    expect(shim.process.exitCode).toBe(0);
    expect(existsSync(`/proc/${shim.pid}`)).toBe(false); // the worker, killed and reaped by the supervisor
  });

  it('that failed to start is reported by run(), not before', async () => {
    const saved = process.env.NSX_SHIM;
    process.env.NSX_SHIM = '/nonexistent/nsx-shim';
    let early;
    try {
      early = startShimEarly('ignore');
    } finally {
      if (saved === undefined) delete process.env.NSX_SHIM;
      else process.env.NSX_SHIM = saved;
    }
    await new Promise((r) => setTimeout(r, 10)); // an unhandled rejection would fail the test here
    const { c, events } = container(early.shim);
    const result = await c.run();
    expect(result.exitCode).toBe(125);
    expect(result.error?.message).toMatch(/shim is not built/);
    expect(events.map((e) => e.type)).toEqual(['created', 'cleaned-up']);
  });
});

describe('instructions sent ahead', () => {
  itRoot("a failure in a later step is that step's, with the events of an observed run", async () => {
    const summary = (events: RuntimeEvent[]) =>
      events.map((e) =>
        e.type === 'step-failed'
          ? `${e.type} ${e.step.id} ${e.error.errnoName}`
          : 'step' in e
            ? `${e.type} ${e.step.id}`
            : e.type,
      );
    const fast = container(undefined, { breakStep: 'sys' });
    const observed = container(undefined, { breakStep: 'sys', observing: true });
    const [r1, r2] = [await fast.c.run(), await observed.c.run()];
    expect(r1.exitCode).toBe(125);
    expect(r1.error?.message).toMatch(/^sys: mount .*\(ENODEV\)$/);
    expect(r2.exitCode).toBe(125);
    expect(summary(fast.events)).toEqual(summary(observed.events));
    expect(summary(fast.events).slice(-4)).toEqual([
      'step-applied dev',
      'step-started sys',
      'step-failed sys ENODEV',
      'cleaned-up',
    ]);
  });
});
