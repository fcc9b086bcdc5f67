// The time namespace with clock offsets (time_namespaces(7)), on the real kernel: the offsets are
// written after the unshare and before the fork, so PID 1 — the namespace's first process — sees
// CLOCK_BOOTTIME (/proc/uptime) and CLOCK_MONOTONIC ahead of the host's; the runtime process stays in
// the host's time namespace, only its children are in the new one.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { hostFacts } from '../../src/runtime/host.js';
import { specFromRunOptions, type RunOptions } from '../../src/runtime/options.js';
import { buildPlan } from '../../src/runtime/plan.js';
import { Container } from '../../src/runtime/runtime.js';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import { compileForHost, loadSeccomp } from '../../src/runtime/seccomp-host.js';
import { TEST_ROOTFS, itRoot } from '../helpers.js';

const hasTimeNs = (() => {
  try {
    readFileSync('/proc/self/timens_offsets');
    return true;
  } catch {
    return false;
  }
})();
const itTime: typeof itRoot = hasTimeNs
  ? itRoot
  : (((name: string, fn: never) =>
      it.skip(`${name} [skipped: this kernel has no time namespaces (CONFIG_TIME_NS)]`, fn)) as never);

async function runWith(o: Partial<RunOptions>, command: string[]) {
  const spec = specFromRunOptions({ rootfs: TEST_ROOTFS, command, loadSeccomp, root: true, ...o });
  const c = new Container(
    spec,
    buildPlan(spec, hostFacts(spec.root.path, compileForHost)),
    ['ignore', 'pipe', 'pipe'],
    true,
  );
  const events: RuntimeEvent[] = [];
  c.on((e) => events.push(e));
  let out = '';
  const r = c.run({
    beforeStep: async () => {
      for (const s of [c.stdout, c.stderr]) if (s && !s.listenerCount('data')) s.on('data', (d: Buffer) => (out += d));
      return 'apply';
    },
  });
  const result = await r;
  return { result, out, events };
}

const uptime = (text: string) => Number(text.trim().split(/\s+/)[0]);
const evidence = (events: RuntimeEvent[], step: string) => {
  const e = events.find((x) => x.type === 'step-applied' && x.step.id === step);
  return e?.type === 'step-applied' ? e.evidence : undefined;
};

describe('time namespace offsets', () => {
  itTime("put PID 1's boot-time and monotonic clocks ahead of the host's", async () => {
    const week = 7 * 86400;
    const { result, out, events } = await runWith(
      { timeNamespace: true, timeOffsets: { boottime: week, monotonic: 2 * 86400 } },
      ['/bin/sh', '-c', 'cat /proc/uptime; cat /proc/self/timens_offsets'],
    );
    const host = uptime(readFileSync('/proc/uptime', 'utf8'));
    expect(result.exitCode).toBe(0);
    const [inside, ...offsets] = out.trim().split('\n');
    expect(uptime(inside) - host).toBeGreaterThan(week - 30);
    expect(uptime(inside) - host).toBeLessThan(week + 1);
    expect(offsets.map((l) => l.trim().split(/\s+/))).toEqual([
      ['monotonic', '172800', '0'],
      ['boottime', String(week), '0'],
    ]);
    // unshare(CLONE_NEWTIME) leaves the caller where it was; its child, PID 1, is in the new namespace.
    const afterUnshare = evidence(events, 'namespaces')!;
    expect(afterUnshare.process.ns.time).toBe(afterUnshare.host.ns.time);
    const afterFork = evidence(events, 'fork')!;
    expect(afterFork.process.ns.time).not.toBe(afterFork.host.ns.time);
  });

  itTime("leave the clocks as the host's without offsets", async () => {
    const { result, out } = await runWith({ timeNamespace: true }, ['/bin/cat', '/proc/uptime']);
    expect(result.exitCode).toBe(0);
    expect(Math.abs(uptime(out) - uptime(readFileSync('/proc/uptime', 'utf8')))).toBeLessThan(30);
  });
});
