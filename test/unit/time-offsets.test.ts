// Clock offsets for the time namespace (time_namespaces(7)): from the run options to the spec, and
// into the plan as a write to /proc/self/timens_offsets right after the unshare, before the fork.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAPABILITY_NAMES } from '../../src/runtime/capabilities.js';
import { hintFor } from '../../src/runtime/hints.js';
import { buildPlan, type HostFacts } from '../../src/runtime/plan.js';
import { CLONE } from '../../src/runtime/steps/common.js';
import { specFromRunOptions, type RunOptions } from '../../src/runtime/options.js';

let rootfs: string;
beforeAll(() => {
  rootfs = mkdtempSync(join(tmpdir(), 'nsx-timens-'));
  mkdirSync(join(rootfs, 'bin'));
  writeFileSync(join(rootfs, 'bin', 'sh'), '');
});
afterAll(() => rmSync(rootfs, { recursive: true, force: true }));

const opts = (o: Partial<RunOptions> = {}): RunOptions => ({
  rootfs,
  command: ['sh'],
  loadSeccomp: () => ({ profile: {}, source: 'test' }),
  root: true,
  ...o,
});
const host: HostFacts = {
  arch: 'x86_64',
  kernel: '6.1.0',
  root: true,
  lastCap: 40,
  bounding: [...CAPABILITY_NAMES],
  pathKind: () => 'absent',
  compileSeccomp: () => Buffer.alloc(16, 1),
  rootfsHas: () => true,
  resolve: (p) => `${rootfs}${p}`,
};
const namespacesStep = (o: Partial<RunOptions>) =>
  buildPlan(specFromRunOptions(opts(o)), host).find((s) => s.id === 'namespaces')!;

describe('time namespace offsets', () => {
  it('become OCI linux.timeOffsets in the spec', () => {
    const s = specFromRunOptions(opts({ timeNamespace: true, timeOffsets: { boottime: 86400, monotonic: -5 } }));
    expect(s.linux.timeOffsets).toEqual({
      monotonic: { secs: -5, nanosecs: 0 },
      boottime: { secs: 86400, nanosecs: 0 },
    });
    expect(specFromRunOptions(opts({ timeNamespace: true })).linux.timeOffsets).toBeUndefined();
  });

  it('are written to /proc/self/timens_offsets right after the unshare that makes the namespace', () => {
    const s = namespacesStep({ timeNamespace: true, timeOffsets: { boottime: 604800 } });
    expect(s.actions).toEqual([
      {
        kind: 'shim',
        op: 'unshare',
        flags: CLONE.NEWUTS | CLONE.NEWIPC | CLONE.NEWNET | CLONE.NEWNS | CLONE.NEWCGROUP | CLONE.NEWTIME,
      },
      { kind: 'shim', op: 'write', path: '/proc/self/timens_offsets', text: 'boottime 604800 0\n' },
    ]);
    expect(s.syscalls[1]).toBe('write("/proc/self/timens_offsets", "boottime 604800 0\\n")');
    expect(s.shell).toBe('unshare --uts --ipc --net --mount --cgroup --time --boottime 604800');
  });

  it('write nothing when none are asked for', () => {
    expect(namespacesStep({ timeNamespace: true }).actions.map((a) => a.op)).toEqual(['unshare']);
  });

  it('need a time namespace and whole seconds', () => {
    expect(() => specFromRunOptions(opts({ timeOffsets: { boottime: 60 } }))).toThrow(
      /clock offsets need a time namespace/,
    );
    expect(() => specFromRunOptions(opts({ timeNamespace: true, timeOffsets: { monotonic: 1.5 } }))).toThrow(
      /monotonic offset 1.5: not a whole number of seconds/,
    );
  });

  it("teach the man page's errors when the write fails", () => {
    const spec = specFromRunOptions(opts({ timeNamespace: true, timeOffsets: { boottime: -1e9 } }));
    const fail = (errnoName: string) =>
      hintFor('namespaces', { syscall: 'write', errnoName, detail: '/proc/self/timens_offsets' }, spec);
    expect(fail('ERANGE')).toMatch(/negative/);
    expect(fail('EACCES')).toMatch(/before the first process enters/);
    expect(fail('EPERM')).toMatch(/CAP_SYS_TIME/);
  });
});
