import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { thrownNsxError } from '../helpers.js';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ContainerCgroup,
  detectLayout,
  parseProcCgroup,
  processCgroups,
  removeStaleCgroups,
  type CgroupLayout,
  type CgroupLimits,
} from '../../src/runtime/cgroups/index.js';
import { NsxError } from '../../src/runtime/errors.js';
import {
  MOUNTINFO_HYBRID,
  MOUNTINFO_V1,
  MOUNTINFO_V2,
  fakeCgroupDirs,
  fakeV1Roots as v1RootsAt,
  fakeV2Root as v2RootAt,
} from '../fake-cgroups.js';

const CG = '/sys/fs/cgroup';
const MiB = 1024 * 1024;

let fsRoot: string;
beforeEach(() => {
  fsRoot = mkdtempSync(join(tmpdir(), 'nsx-cgroups-'));
});
afterEach(() => {
  rmSync(fsRoot, { recursive: true, force: true });
});

const read = (path: string) => readFileSync(path, 'utf8').trim();
const at = (...parts: string[]) => join(fsRoot, ...parts);
const randomId = () => `test-${Math.random().toString(36).slice(2, 10)}`;

const fakeV2Root = (mount: string, controllers: string) => v2RootAt(fsRoot, mount, controllers);
const fakeV1Roots = (...mounts: string[]) => v1RootsAt(fsRoot, ...mounts);
/** The cgroup code's options for the fake tree under fsRoot that `layout` describes. */
const fake = (layout: CgroupLayout) => ({ fsRoot, dirs: fakeCgroupDirs(fsRoot, layout) });

describe('detectLayout', () => {
  it('recognises pure cgroup v2 and reads cgroup.controllers at the unified root', () => {
    fakeV2Root(CG, 'cpuset cpu io memory hugetlb pids rdma misc');
    const layout = detectLayout({ mountinfo: MOUNTINFO_V2, fsRoot });
    expect(layout).toEqual({
      version: 'v2',
      unified: CG,
      unifiedControllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'],
      v1: {},
    });
  });

  it('recognises pure v1, maps co-mounted controllers to one path and keeps named hierarchies apart', () => {
    const layout = detectLayout({ mountinfo: MOUNTINFO_V1, fsRoot });
    expect(layout.version).toBe('v1');
    expect(layout.unified).toBeUndefined();
    expect(layout.unifiedControllers).toEqual([]);
    expect(layout.v1).toEqual({
      cpu: `${CG}/cpu,cpuacct`,
      cpuacct: `${CG}/cpu,cpuacct`,
      memory: `${CG}/memory`,
      pids: `${CG}/pids`,
      net_cls: `${CG}/net_cls,net_prio`,
      net_prio: `${CG}/net_cls,net_prio`,
      cpuset: `${CG}/cpuset`,
    });
    expect(layout.v1Named).toEqual({ systemd: `${CG}/systemd` });
  });

  it('recognises hybrid: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified', () => {
    fakeV2Root(`${CG}/unified`, 'hugetlb');
    const layout = detectLayout({ mountinfo: MOUNTINFO_HYBRID, fsRoot });
    expect(layout.version).toBe('hybrid');
    expect(layout.unified).toBe(`${CG}/unified`);
    expect(layout.unifiedControllers).toEqual(['hugetlb']);
    expect(Object.keys(layout.v1).sort()).toEqual([
      'blkio',
      'cpu',
      'cpuacct',
      'cpuset',
      'devices',
      'freezer',
      'memory',
      'pids',
    ]);
    expect(layout.v1.memory).toBe(`${CG}/memory`);
    expect(layout.v1Named).toEqual({ systemd: `${CG}/systemd` });
  });

  it('unescapes mount points and tolerates a missing cgroup.controllers', () => {
    const layout = detectLayout({ mountinfo: '30 23 0:26 / /mnt/my\\040cgroup rw - cgroup2 cgroup2 rw\n', fsRoot });
    expect(layout.unified).toBe('/mnt/my cgroup');
    expect(layout.unifiedControllers).toEqual([]);
  });

  it('throws an NsxError when no cgroup filesystem is mounted', () => {
    const err = thrownNsxError(() => detectLayout({ mountinfo: '29 1 254:1 / / rw - ext4 /dev/vda1 rw\n', fsRoot }));
    expect(err.message).toMatch(/^cgroups: no cgroup filesystem/);
    expect(err.info.hint).toMatch(/mount -t cgroup2/);
  });

  it('reads the real /proc/self/mountinfo by default', () => {
    const layout = detectLayout();
    expect(['v1', 'v2', 'hybrid']).toContain(layout.version);
  });
});

describe('ContainerCgroup on a fake cgroup v2 tree', () => {
  let layout: CgroupLayout;
  beforeEach(() => {
    fakeV2Root(CG, 'cpuset cpu io memory hugetlb pids rdma misc');
    layout = detectLayout({ mountinfo: MOUNTINFO_V2, fsRoot });
  });

  it('creates one dir under the unified root, enables controllers top-down and writes the limits', async () => {
    const id = randomId();
    const cg = ContainerCgroup.create(
      layout,
      id,
      { memoryBytes: 32 * MiB, pidsMax: 20, cpuQuotaUs: 150000, cpuPeriodUs: 100000 },
      fake(layout),
    );
    const dir = at(CG, 'nsx', id);
    expect(cg.paths).toEqual([dir]);
    expect(read(at(CG, 'cgroup.subtree_control'))).toBe('+memory +pids +cpu');
    expect(read(at(CG, 'nsx', 'cgroup.subtree_control'))).toBe('+memory +pids +cpu');
    expect(read(join(dir, 'memory.max'))).toBe(String(32 * MiB));
    expect(read(join(dir, 'memory.swap.max'))).toBe('0');
    expect(read(join(dir, 'pids.max'))).toBe('20');
    expect(read(join(dir, 'cpu.max'))).toBe('150000 100000');
    expect(cg.facts()).toEqual({
      paths: [dir],
      memoryLimit: 32 * MiB,
      memoryCurrent: 0,
      oomKills: 0,
      pidsMax: 20,
      pidsCurrent: 0,
      cpuQuotaUs: 150000,
      cpuPeriodUs: 100000,
    });
    expect(cg.oomKilled()).toBe(false);
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 7\noom 2\noom_kill 2\noom_group_kill 0\n');
    expect(cg.facts().oomKills).toBe(2);
    expect(cg.oomKilled()).toBe(true);

    cg.addProcess(4242);
    expect(read(join(dir, 'cgroup.procs'))).toBe('4242');

    await cg.remove();
    expect(existsSync(dir)).toBe(false);
    expect(existsSync(at(CG, 'nsx'))).toBe(false);
    expect(existsSync(at(CG))).toBe(true);
    await cg.remove(); // ENOENT is not an error
  });

  it('keeps the nsx parent while another container still has a cgroup in it', async () => {
    const a = ContainerCgroup.create(layout, randomId(), {}, fake(layout));
    const b = ContainerCgroup.create(layout, randomId(), { pidsMax: 5 }, fake(layout));
    await a.remove();
    expect(existsSync(a.paths[0])).toBe(false);
    expect(existsSync(b.paths[0])).toBe(true);
    expect(read(join(b.paths[0], 'pids.max'))).toBe('5');
    await b.remove();
    expect(existsSync(at(CG, 'nsx'))).toBe(false);
  });

  it('with no limits still creates the dir with every controller nsx reads stats from', () => {
    const cg = ContainerCgroup.create(layout, randomId(), {}, fake(layout));
    expect(cg.facts()).toMatchObject({ memoryLimit: 'max', pidsMax: 'max', cpuQuotaUs: 'max', cpuPeriodUs: 100000 });
  });

  it('treats 0 (and pids -1) as "no limit", as Docker does', () => {
    const cg = ContainerCgroup.create(layout, randomId(), { memoryBytes: 0, pidsMax: -1, cpuQuotaUs: 0 }, fake(layout));
    expect(cg.facts()).toMatchObject({ memoryLimit: 'max', pidsMax: 'max', cpuQuotaUs: 'max' });
  });

  it('refuses a limit whose controller the machine lacks, and leaves nothing behind', () => {
    rmSync(fsRoot, { recursive: true, force: true });
    fakeV2Root(CG, 'cpu pids');
    const noMemory = detectLayout({ mountinfo: MOUNTINFO_V2, fsRoot });
    const err = thrownNsxError(() =>
      ContainerCgroup.create(noMemory, randomId(), { memoryBytes: 64 * MiB }, fake(noMemory)),
    );
    expect(err.message).toBe('memory limit: the memory controller is not enabled on this machine');
    expect(err.info.hint).toContain('/sys/fs/cgroup/cgroup.controllers');
    expect(existsSync(at(CG, 'nsx'))).toBe(false);
    // Without a memory limit the same machine is fine: pids and cpu only.
    const cg = ContainerCgroup.create(noMemory, randomId(), { pidsMax: 3 }, fake(noMemory));
    expect(read(at(CG, 'nsx', 'cgroup.subtree_control'))).toBe('+pids +cpu');
    expect(cg.facts().memoryLimit).toBeUndefined();
    expect(cg.facts().pidsMax).toBe(3);
  });

  it('refuses an id that is already in use without touching the existing cgroup', () => {
    const id = randomId();
    const first = ContainerCgroup.create(layout, id, { pidsMax: 9 }, fake(layout));
    expect(() => ContainerCgroup.create(layout, id, { pidsMax: 1 }, fake(layout))).toThrow(/mkdir .*File exists/);
    expect(read(join(first.paths[0], 'pids.max'))).toBe('9');
  });

  it('names the file and the cause when a kernel file refuses a write', () => {
    const cg = ContainerCgroup.create(layout, randomId(), {}, fake(layout));
    rmSync(join(cg.paths[0], 'cgroup.procs'));
    const err = thrownNsxError(() => cg.addProcess(1));
    expect(err.message).toBe(`write ${join(cg.paths[0], 'cgroup.procs')}: No such file or directory`);
    expect(err.info).toMatchObject({ syscall: 'write', errno: 2 });
  });

  it('ContainerCgroup.open attaches to an existing cgroup', async () => {
    const id = randomId();
    ContainerCgroup.create(layout, id, { memoryBytes: 6 * MiB }, fake(layout));
    const again = ContainerCgroup.open(layout, id, fake(layout));
    expect(again.facts().memoryLimit).toBe(6 * MiB);
    await again.remove();
    expect(existsSync(at(CG, 'nsx'))).toBe(false);
  });
});

describe('ContainerCgroup on a fake cgroup v1 tree (cpu,cpuacct co-mounted)', () => {
  let layout: CgroupLayout;
  beforeEach(() => {
    fakeV1Roots(
      `${CG}/cpu,cpuacct`,
      `${CG}/memory`,
      `${CG}/pids`,
      `${CG}/systemd`,
      `${CG}/cpuset`,
      `${CG}/net_cls,net_prio`,
    );
    layout = detectLayout({ mountinfo: MOUNTINFO_V1, fsRoot });
  });

  it('creates the dir in the memory, pids and cpu,cpuacct hierarchies and writes v1 files', async () => {
    const id = randomId();
    const cg = ContainerCgroup.create(
      layout,
      id,
      { memoryBytes: 32 * MiB, pidsMax: 20, cpuQuotaUs: 50000 }, // the period: the kernel's default
      fake(layout),
    );
    const mem = at(CG, 'memory', 'nsx', id);
    const pids = at(CG, 'pids', 'nsx', id);
    const cpu = at(CG, 'cpu,cpuacct', 'nsx', id);
    expect(cg.paths).toEqual([mem, pids, cpu]);
    expect(read(join(mem, 'memory.limit_in_bytes'))).toBe(String(32 * MiB));
    expect(read(join(mem, 'memory.memsw.limit_in_bytes'))).toBe(String(32 * MiB));
    expect(read(join(pids, 'pids.max'))).toBe('20');
    expect(read(join(cpu, 'cpu.cfs_period_us'))).toBe('100000');
    expect(read(join(cpu, 'cpu.cfs_quota_us'))).toBe('50000');
    expect(existsSync(join(cpu, 'cpuacct.usage'))).toBe(true); // the co-mounted controller came along
    expect(existsSync(at(CG, 'systemd', 'nsx'))).toBe(false);
    expect(existsSync(at(CG, 'cpuset', 'nsx'))).toBe(false);
    expect(cg.facts()).toMatchObject({
      memoryLimit: 32 * MiB,
      pidsMax: 20,
      cpuQuotaUs: 50000,
      cpuPeriodUs: 100000,
      oomKills: 0,
    });

    writeFileSync(join(mem, 'memory.oom_control'), 'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n');
    writeFileSync(join(mem, 'memory.usage_in_bytes'), '1234567\n');
    expect(cg.facts()).toMatchObject({ oomKills: 1, memoryCurrent: 1234567 });
    expect(cg.oomKilled()).toBe(true);

    cg.addProcess(77);
    for (const p of cg.paths) expect(read(join(p, 'cgroup.procs'))).toBe('77');

    // A busy cgroup (a fake one with a child dir stands in for one with processes) is retried,
    // then reported; the others are still removed.
    mkdirSync(join(pids, 'child'));
    await expect(cg.remove()).rejects.toThrow(/rmdir .*pids\/nsx\/.*: /);
    expect(existsSync(mem)).toBe(false);
    expect(existsSync(cpu)).toBe(false);
    rmSync(join(pids, 'child'), { recursive: true });
    await cg.remove();
    for (const p of cg.paths) expect(existsSync(p)).toBe(false);
    expect(existsSync(at(CG, 'memory', 'nsx'))).toBe(false);
  });

  it('reads the v1 spelling of "no limit" (a huge number, quota -1) as max', () => {
    const cg = ContainerCgroup.create(layout, randomId(), {}, fake(layout));
    expect(cg.facts()).toMatchObject({ memoryLimit: 'max', pidsMax: 'max', cpuQuotaUs: 'max' });
  });

  it('refuses --pids-limit when no pids hierarchy is mounted', () => {
    const noPids = { ...layout, v1: { ...layout.v1 } };
    delete noPids.v1.pids;
    expect(() => ContainerCgroup.create(noPids, randomId(), { pidsMax: 10 }, fake(noPids))).toThrow(
      'pids limit: the pids controller is not enabled on this machine',
    );
  });
});

describe('ContainerCgroup on a fake hybrid tree', () => {
  it('uses the v1 controllers and also creates a plain dir in the unified hierarchy', () => {
    fakeV1Roots(
      ...['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'systemd'].map(
        (c) => `${CG}/${c}`,
      ),
    );
    fakeV2Root(`${CG}/unified`, '');
    const layout = detectLayout({ mountinfo: MOUNTINFO_HYBRID, fsRoot });
    const id = randomId();
    const cg = ContainerCgroup.create(
      layout,
      id,
      { memoryBytes: 16 * MiB, pidsMax: 7, cpuQuotaUs: 200000, cpuPeriodUs: 100000 },
      fake(layout),
    );
    // devices too (the devices step writes its rules there): every process of the container joins it.
    // and the freezer (docker pause writes freezer.state there), the same way.
    expect(cg.paths).toEqual(
      ['memory', 'pids', 'cpu', 'devices', 'freezer', 'unified'].map((h) => at(CG, h, 'nsx', id)),
    );
    expect([cg.devicesDir, cg.unifiedDir]).toEqual([at(CG, 'devices', 'nsx', id), at(CG, 'unified', 'nsx', id)]);
    expect(cg.freezerDir).toBe(at(CG, 'freezer', 'nsx', id));
    expect(read(at(CG, 'unified', 'cgroup.subtree_control'))).toBe(''); // nothing to enable there
    expect(existsSync(at(CG, 'cpuacct', 'nsx'))).toBe(false);
    expect(cg.facts()).toMatchObject({ memoryLimit: 16 * MiB, pidsMax: 7, cpuQuotaUs: 200000 });
    cg.addProcess(99);
    expect(read(at(CG, 'unified', 'nsx', id, 'cgroup.procs'))).toBe('99');
  });

  it('uses a controller from the unified hierarchy when v1 does not mount it', () => {
    fakeV1Roots(`${CG}/memory`, `${CG}/cpu`, `${CG}/devices`, `${CG}/freezer`);
    fakeV2Root(`${CG}/unified`, 'pids');
    const mountinfo = MOUNTINFO_HYBRID.split('\n')
      .filter((l) => !l.includes('/pids '))
      .join('\n');
    const layout = detectLayout({ mountinfo, fsRoot });
    const id = randomId();
    const cg = ContainerCgroup.create(layout, id, { pidsMax: 4 }, fake(layout));
    expect(read(at(CG, 'unified', 'cgroup.subtree_control'))).toBe('+pids');
    expect(read(at(CG, 'unified', 'nsx', id, 'pids.max'))).toBe('4');
    expect(cg.facts().pidsMax).toBe(4);
  });
});

describe('limit validation', () => {
  let layout: CgroupLayout;
  beforeEach(() => {
    fakeV2Root(CG, 'cpu memory pids');
    layout = detectLayout({ mountinfo: MOUNTINFO_V2, fsRoot });
  });
  const create =
    (limits: CgroupLimits, id = randomId()) =>
    () =>
      ContainerCgroup.create(layout, id, limits, fake(layout));

  it('refuses memory below 6MB, as Docker does', () => {
    expect(create({ memoryBytes: 6 * MiB - 1 })).toThrow(/minimum memory limit allowed is 6MB/);
    expect(create({ memoryBytes: 6 * MiB })).not.toThrow();
  });
  it('refuses malformed limits', () => {
    expect(create({ memoryBytes: 1.5 * MiB * 10 + 0.5 })).toThrow(NsxError);
    expect(create({ pidsMax: -5 })).toThrow(/pids limit -5/);
    expect(create({ pidsMax: 2.5 })).toThrow(NsxError);
    expect(create({ cpuQuotaUs: 100 })).toThrow(/cpu quota 100µs: out of range/);
    expect(create({ cpuQuotaUs: -100000 })).toThrow(NsxError);
    expect(create({ cpuQuotaUs: Number.NaN })).toThrow(NsxError);
    expect(create({ cpuQuotaUs: 1500.5 })).toThrow(NsxError);
    expect(create({ cpuQuotaUs: 50000, cpuPeriodUs: 999 })).toThrow(/cpu period 999µs: out of range/);
    expect(create({ cpuQuotaUs: 50000, cpuPeriodUs: 1_000_001 })).toThrow(/cpu period 1000001µs: out of range/);
    expect(existsSync(at(CG, 'nsx'))).toBe(false);
  });
  it('names the limit and the kernel file, never a command-line flag', () => {
    for (const limits of [{ memoryBytes: MiB }, { pidsMax: -5 }, { cpuQuotaUs: 100 }]) {
      const err = thrownNsxError(create(limits));
      expect(err.message).not.toMatch(/--/);
      expect(err.info.hint).not.toMatch(/--/);
    }
  });
  it('writes the period it is given with the quota', () => {
    const id = randomId();
    create({ cpuQuotaUs: 50000, cpuPeriodUs: 200000 }, id)();
    expect(read(at(CG, 'nsx', id, 'cpu.max'))).toBe('50000 200000');
  });
  it('refuses ids that are not one safe path component', () => {
    for (const id of ['', '.', '..', '../etc', 'a/b', '-x']) expect(create({}, id)).toThrow(/not a valid container id/);
    expect(existsSync(at(CG, 'nsx'))).toBe(false);
  });
});

describe('removeStaleCgroups', () => {
  it('removes empty nsx cgroups left behind, keeps busy ones and the ones asked for', () => {
    fakeV1Roots(`${CG}/cpu,cpuacct`, `${CG}/memory`, `${CG}/pids`);
    const layout = detectLayout({ mountinfo: MOUNTINFO_V1, fsRoot });
    const stale = ContainerCgroup.create(layout, randomId(), {}, fake(layout));
    const busy = ContainerCgroup.create(layout, randomId(), {}, fake(layout));
    const kept = ContainerCgroup.create(layout, randomId(), {}, fake(layout));
    busy.addProcess(1234);
    // Just created, so too young to be taken for leftovers by default...
    expect(removeStaleCgroups(layout, fake(layout))).toEqual([]);
    // ...but with no minimum age the empty, unkept one goes.
    const removed = removeStaleCgroups(layout, { ...fake(layout), minAgeMs: 0, keep: (id) => id === kept.id });
    expect(removed.sort()).toEqual([...stale.paths].sort());
    for (const p of stale.paths) expect(existsSync(p)).toBe(false);
    for (const p of [...busy.paths, ...kept.paths]) expect(existsSync(p)).toBe(true);
  });

  it('is a no-op when there is no nsx dir', () => {
    fakeV2Root(CG, 'memory');
    const v2 = detectLayout({ mountinfo: MOUNTINFO_V2, fsRoot });
    expect(removeStaleCgroups(v2, fake(v2))).toEqual([]);
  });
});

describe('processCgroups', () => {
  it('parses v1, named and v2 lines, including paths with colons', () => {
    expect(parseProcCgroup('12:cpu,cpuacct:/nsx/a\n1:name=systemd:/user.slice\n0::/odd:name\n')).toEqual([
      { id: 12, controllers: ['cpu', 'cpuacct'], path: '/nsx/a' },
      { id: 1, controllers: ['name=systemd'], path: '/user.slice' },
      { id: 0, controllers: [], path: '/odd:name' },
    ]);
  });

  it('reads /proc/self/cgroup', () => {
    const entries = processCgroups('self');
    expect(entries).toEqual(parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8')));
    expect(entries.length).toBeGreaterThan(0);
    for (const e of entries) {
      expect(Number.isInteger(e.id)).toBe(true);
      expect(e.path.startsWith('/')).toBe(true);
    }
    expect(processCgroups(process.pid)).toEqual(entries);
  });

  it('names the process that does not exist', () => {
    expect(() => processCgroups(2 ** 22 + 1)).toThrow(/read \/proc\/4194305\/cgroup: No such file or directory/);
  });
});
