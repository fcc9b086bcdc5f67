// What a learner is shown of the cgroup step names this machine's files: v2's where the unified
// hierarchy holds a controller, v1's where a v1 hierarchy does. Checked against what the cgroup
// code really writes and where it makes directories, on fake v2, v1 and hybrid trees.
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainerCgroup, detectLayout, type CgroupLayout } from '../../src/runtime/cgroups/index.js';
import {
  cgroupByHand,
  cgroupSyscalls,
  containerDirs,
  controllerDir,
  joinByHand,
  limitWrites,
} from '../../src/runtime/cgroups/words.js';
import {
  MOUNTINFO_HYBRID,
  MOUNTINFO_V1,
  MOUNTINFO_V2,
  fakeCgroupDirs,
  fakeV1Roots,
  fakeV2Root,
} from '../fake-cgroups.js';

const CG = '/sys/fs/cgroup';
const LIMITS = { memoryBytes: 16 << 20, pidsMax: 10, cpuQuotaUs: 20000, cpuPeriodUs: 100000 };

let fsRoot: string;
beforeEach(() => {
  fsRoot = mkdtempSync(join(tmpdir(), 'nsx-cgroup-words-'));
});
afterEach(() => rmSync(fsRoot, { recursive: true, force: true }));

function layoutOf(kind: 'v2' | 'v1' | 'hybrid'): CgroupLayout {
  if (kind === 'v2') {
    fakeV2Root(fsRoot, CG, 'cpuset cpu io memory pids');
    return detectLayout({ mountinfo: MOUNTINFO_V2, fsRoot });
  }
  if (kind === 'v1') {
    fakeV1Roots(
      fsRoot,
      ...['systemd', 'cpu,cpuacct', 'memory', 'pids', 'net_cls,net_prio', 'cpuset'].map((m) => `${CG}/${m}`),
    );
    return detectLayout({ mountinfo: MOUNTINFO_V1, fsRoot });
  }
  fakeV1Roots(
    fsRoot,
    ...['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd'].map(
      (m) => `${CG}/${m}`,
    ),
  );
  fakeV2Root(fsRoot, `${CG}/unified`, '');
  return detectLayout({ mountinfo: MOUNTINFO_HYBRID, fsRoot });
}

describe("the cgroup step's words follow the layout", () => {
  for (const kind of ['v2', 'v1', 'hybrid'] as const) {
    it(`${kind}: the directories and files shown are those the cgroup code makes and writes`, () => {
      const layout = layoutOf(kind);
      const id = 'abc123';
      const cg = ContainerCgroup.create(layout, id, LIMITS, { fsRoot, dirs: fakeCgroupDirs(fsRoot, layout) });
      expect(cg.paths).toEqual(containerDirs(layout, id).map((d) => join(fsRoot, d)));
      const writes = limitWrites(layout, LIMITS);
      expect(writes.length).toBeGreaterThanOrEqual(3);
      for (const w of writes) {
        const file = join(fsRoot, controllerDir(layout, w.controller, id), w.file);
        if (w.ifExists && !existsSync(file)) continue;
        expect(readFileSync(file, 'utf8').trim()).toBe(w.value);
      }
    });
  }

  it('v2: memory.max, memory.swap.max and cpu.max, one directory, controllers enabled top-down', () => {
    const layout = layoutOf('v2');
    expect(cgroupSyscalls(layout, LIMITS)).toEqual([
      `mkdir("${CG}/nsx/<id>")`,
      `write("${CG}/nsx/<id>/memory.max", "16777216")`,
      `write("${CG}/nsx/<id>/memory.swap.max", "0") (if the file exists)`,
      `write("${CG}/nsx/<id>/pids.max", "10")`,
      `write("${CG}/nsx/<id>/cpu.max", "20000 100000")`,
      `write("${CG}/nsx/<id>/cgroup.procs", pid)`,
    ]);
    expect(cgroupByHand(layout, LIMITS)).toBe(
      [
        `echo '+memory +pids +cpu' > ${CG}/cgroup.subtree_control`,
        `mkdir -p ${CG}/nsx`,
        `echo '+memory +pids +cpu' > ${CG}/nsx/cgroup.subtree_control`,
        `mkdir -p ${CG}/nsx/<id>`,
        `echo 16777216 > ${CG}/nsx/<id>/memory.max`,
        `{ [ ! -e ${CG}/nsx/<id>/memory.swap.max ] || echo 0 > ${CG}/nsx/<id>/memory.swap.max; }`,
        `echo 10 > ${CG}/nsx/<id>/pids.max`,
        `echo '20000 100000' > ${CG}/nsx/<id>/cpu.max`,
        `echo $$ > ${CG}/nsx/<id>/cgroup.procs`,
      ].join(' && '),
    );
    expect(joinByHand(layout)).toBe(`echo $$ > ${CG}/nsx/<id>/cgroup.procs`);
  });

  it("hybrid (this kind of machine): v1's memory.limit_in_bytes and cpu.cfs_quota_us, no v2 names", () => {
    const layout = layoutOf('hybrid');
    const calls = cgroupSyscalls(layout, LIMITS);
    expect(calls).toContain(`write("${CG}/memory/nsx/<id>/memory.limit_in_bytes", "16777216")`);
    expect(calls).toContain(
      `write("${CG}/memory/nsx/<id>/memory.memsw.limit_in_bytes", "16777216") (if the file exists)`,
    );
    expect(calls).toContain(`write("${CG}/pids/nsx/<id>/pids.max", "10")`);
    expect(calls).toContain(`write("${CG}/cpu/nsx/<id>/cpu.cfs_period_us", "100000")`);
    expect(calls).toContain(`write("${CG}/cpu/nsx/<id>/cpu.cfs_quota_us", "20000")`);
    expect(calls.filter((c) => c.startsWith('mkdir'))).toEqual([
      `mkdir("${CG}/{memory,pids,cpu,devices,freezer,unified}/nsx/<id>")`,
    ]);
    expect(calls[calls.length - 1]).toBe('write("cgroup.procs", pid) in each of them');
    const text = [...calls, cgroupByHand(layout, LIMITS), joinByHand(layout)].join('\n');
    expect(text).not.toMatch(/memory\.max|cpu\.max|memory\.swap\.max|subtree_control/);
    expect(cgroupByHand(layout, LIMITS)).toMatch(/; do echo \$\$ > \$d\/cgroup\.procs; done$/);
  });

  it("v1: co-mounted cpu,cpuacct's directory holds the cpu files", () => {
    const layout = layoutOf('v1');
    expect(cgroupSyscalls(layout, LIMITS)).toContain(`write("${CG}/cpu,cpuacct/nsx/<id>/cpu.cfs_quota_us", "20000")`);
  });

  it('with no layout known: v2 names under /sys/fs/cgroup', () => {
    expect(cgroupSyscalls(undefined, { pidsMax: 3 })).toEqual([
      `mkdir("${CG}/nsx/<id>")`,
      `write("${CG}/nsx/<id>/pids.max", "3")`,
      `write("${CG}/nsx/<id>/cgroup.procs", pid)`,
    ]);
  });
});
