// The order of the steps (src/runtime/steps.ts STEP_ORDER, runc's and crun's order) as a real run
// reports it: the plan in the `created` event, then one started-or-skipped event per step, in order.
import { describe, expect } from '@jest/globals';
import { realpathSync } from 'node:fs';
import { hostFacts } from '../../src/runtime/host.js';
import { apparmorEnabled } from '../../src/runtime/lsm/apparmor.js';
import { specFromRunOptions } from '../../src/runtime/options.js';
import { buildPlan } from '../../src/runtime/plan.js';
import { Container } from '../../src/runtime/runtime.js';
import { compileForHost, loadSeccomp } from '../../src/runtime/seccomp-host.js';
import { STEP_IDS } from '../../src/runtime/steps.js';
import { eventsOf, evidenceAfter, itRoot, run, TEST_ROOTFS } from '../helpers.js';

describe('step order', () => {
  itRoot(
    'a default root run: the plan is STEP_ORDER, each step started or skipped once, in order; only userns and no-new-privs are skipped (and lsm without AppArmor)',
    async () => {
      const r = await run([], ['/bin/true']);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });

      const created = eventsOf(r, 'created');
      expect(created).toHaveLength(1);
      expect(created[0].steps.map((s) => s.id)).toEqual([...STEP_IDS]);
      expect(r.events[0].type).toBe('created');
      // The steps' properties travel with them: what each changes, for code that must not test names.
      const props = (k: 'changesRoot' | 'forks' | 'startsCommand') =>
        created[0].steps.filter((s) => s[k]).map((s) => s.id);
      expect([props('changesRoot'), props('forks'), props('startsCommand')]).toEqual([
        ['pivot-root'],
        ['fork'],
        ['exec'],
      ]);

      // Each step index appears once, as started or skipped, and the indexes only go up.
      const begun = r.events.filter((e) => e.type === 'step-started' || e.type === 'step-skipped') as {
        index: number;
        step: { id: string };
      }[];
      expect(begun.map((e) => e.index)).toEqual(STEP_IDS.map((_, i) => i));
      expect(begun.map((e) => e.step.id)).toEqual([...STEP_IDS]);
      for (const e of begun) expect(e.step.id).toBe(STEP_IDS[e.index]);

      // Every started step is applied right after it (nothing failed), with the same index.
      const applied = eventsOf(r, 'step-applied');
      expect(applied.map((e) => e.index)).toEqual(eventsOf(r, 'step-started').map((e) => e.index));
      for (let i = 1; i < applied.length; i++) expect(applied[i].index).toBeGreaterThan(applied[i - 1].index);

      // As root with no options: no user namespace (--userns host is root's default, like docker's)
      // and no no_new_privs; everything else happens.
      const skipped = eventsOf(r, 'step-skipped');
      // The lsm step too where AppArmor is not enabled (this machine, CI): it says so.
      const aa = apparmorEnabled();
      expect(skipped.map((e) => e.step.id)).toEqual(
        aa ? ['userns', 'no-new-privs'] : ['userns', 'lsm', 'no-new-privs'],
      );
      expect(skipped[0].reason).toMatch(/no user namespace \(--userns host\)/);
      if (!aa) expect(skipped[1].reason).toMatch(/^AppArmor is not enabled on this machine/);
      expect(skipped[skipped.length - 1].reason).toMatch(/not asked for \(--security-opt no-new-privileges\)/);
      for (const e of skipped) expect(e.step.skip).toBe(e.reason);

      // The run ends with the command started, its exit, and the clean-up, in that order.
      const tail = r.events.slice(-3).map((e) => e.type);
      expect(tail).toEqual(['step-applied', 'exited', 'cleaned-up']);
      const started = r.events.findIndex((e) => e.type === 'started');
      expect(started).toBeGreaterThan(r.events.findIndex((e) => e.type === 'step-started' && e.step.id === 'exec'));
    },
  );

  itRoot(
    'the container tells what its applied steps changed: forked after fork, rootChanged after pivot-root, commandStarted after exec',
    async () => {
      const spec = specFromRunOptions({ rootfs: TEST_ROOTFS, command: ['/bin/true'], loadSeccomp, root: true });
      const c = new Container(spec, buildPlan(spec, hostFacts(spec.root.path, compileForHost)), 'ignore');
      const seen: Record<string, { forked: boolean; rootChanged: boolean; commandStarted: boolean }> = {};
      const result = await c.run({
        beforeStep: async (step) => {
          seen[step.id] = { forked: c.forked, rootChanged: c.rootChanged, commandStarted: c.commandStarted };
          return 'apply';
        },
      });
      expect(result).toEqual({ exitCode: 0, oomKilled: false });
      expect(seen.fork).toEqual({ forked: false, rootChanged: false, commandStarted: false });
      expect(seen['pivot-root']).toEqual({ forked: true, rootChanged: false, commandStarted: false });
      expect(seen['mask-paths']).toEqual({ forked: true, rootChanged: true, commandStarted: false });
      expect(seen.exec).toEqual({ forked: true, rootChanged: true, commandStarted: false });
      expect({ forked: c.forked, rootChanged: c.rootChanged, commandStarted: c.commandStarted }).toEqual({
        forked: true,
        rootChanged: true,
        commandStarted: true,
      });
    },
  );

  itRoot(
    'evidence: after fork the process is PID 1 of its namespace; after pivot-root its root is the rootfs',
    async () => {
      const r = await run([], ['/bin/true']);
      expect(r.code).toBe(0);
      const rootfs = realpathSync(TEST_ROOTFS);
      expect(eventsOf(r, 'created')[0].rootfs).toBe(rootfs);

      const beforeFork = evidenceAfter(r, 'network')!;
      expect(beforeFork.inside!.pid).not.toBe(1);
      const fork = evidenceAfter(r, 'fork')!;
      expect(fork.inside!.pid).toBe(1);
      expect(fork.inside!.ppid).toBe(0); // its parent is outside the namespace
      expect(fork.process.nsPids).toHaveLength(2);
      expect(fork.process.nsPids[1]).toBe(1);
      expect(fork.process.ns.pid).not.toBe(fork.host.ns.pid);

      // Before pivot_root the process still has the host's root; afterwards, the rootfs.
      expect(evidenceAfter(r, 'tmp')!.process.root).toBe('/');
      const pivot = evidenceAfter(r, 'pivot-root')!;
      expect(pivot.inside!.cwd).toBe('/');
      expect(pivot.process.root).toBe(rootfs);
      expect(eventsOf(r, 'step-applied').find((e) => e.step.id === 'pivot-root')!.changed).toContain('root');
    },
  );

  itRoot(
    'evidence after exec: only from a command still running, never the half-gone facts of one that is exiting',
    async () => {
      // `exit` ends at once: the exec step is observed either while sh still runs, or not at all.
      for (let i = 0; i < 5; i++) {
        const r = await run([], ['/bin/sh', '-c', 'exit 0']);
        expect(r.code).toBe(0);
        const ev = evidenceAfter(r, 'exec');
        if (!ev) continue;
        expect(ev.process.ns.mnt).toBeDefined();
        expect(ev.process.mounts.length).toBeGreaterThan(0);
        expect(ev.process.root).not.toBe('');
      }
      // A command that stays has its evidence.
      const r = await run([], ['/bin/sh', '-c', 'sleep 1']);
      expect(evidenceAfter(r, 'exec')!.process.ns.mnt).toBeDefined();
    },
  );
});
