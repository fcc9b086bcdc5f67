// Demo commands: {placeholders} filled from the running container, the line a learner would type,
// and every lesson's demos naming only facts the player knows.
import { describe, expect, it } from '@jest/globals';
import { accessSync, constants } from 'node:fs';
import { COURSE } from '../../lessons/index.js';
import {
  DEMO_PLACEHOLDERS,
  commandLines,
  demoVars,
  fillPlaceholders,
  placeholdersIn,
  shellLine,
  shownText,
} from '../../src/learn/demo.js';
import { cgroupDirFor } from '../../src/learn/kernel.js';

const container = (network?: { hostIf: string; hostAddress: string; containerAddress: string }) => ({
  id: 'ab'.repeat(32),
  pid: 4242,
  spec: { root: { path: '/srv/rootfs' } },
  network,
});

describe('demo placeholders', () => {
  it("fills the container's facts into every argument, several per argument", () => {
    const vars = demoVars(
      container({ hostIf: 'nsxhabababab', hostAddress: '10.213.7.1', containerAddress: '10.213.7.2' }),
    );
    expect(fillPlaceholders(['ping', '-c', '1', '{containerAddress}'], vars)).toEqual({
      argv: ['ping', '-c', '1', '10.213.7.2'],
    });
    expect(fillPlaceholders(['cat', '/proc/{pid}/cgroup'], vars)).toEqual({ argv: ['cat', '/proc/4242/cgroup'] });
    expect(fillPlaceholders(['echo', '{hostAddress}-{containerAddress} on {hostIf}'], vars)).toEqual({
      argv: ['echo', '10.213.7.1-10.213.7.2 on nsxhabababab'],
    });
    expect(fillPlaceholders(['ls', '{rootfs}/bin', '{id}'], vars)).toEqual({
      argv: ['ls', '/srv/rootfs/bin', 'ab'.repeat(32)],
    });
  });

  it('names this nsx as {nsx}, an executable a host demo can start a second container with', () => {
    const filled = fillPlaceholders(['{nsx}', 'run', '--rootfs', '{rootfs}', '/bin/true'], demoVars(container()));
    expect('argv' in filled && filled.argv[0]).toMatch(/\/bin\/nsx\.cjs$/);
    expect(() => accessSync((filled as { argv: string[] }).argv[0], constants.X_OK)).not.toThrow();
    expect((filled as { argv: string[] }).argv.slice(1)).toEqual(['run', '--rootfs', '/srv/rootfs', '/bin/true']);
  });

  it('leaves a command without placeholders (and shell braces like ${x} or {}) as it is', () => {
    const argv = ['sh', '-c', 'echo ${HOME} {} {1,2}'];
    expect(placeholdersIn(argv)).toEqual([]);
    expect(fillPlaceholders(argv, {})).toEqual({ argv });
  });

  it('names what is not known yet (no veth pair, no process) or not known at all', () => {
    expect(fillPlaceholders(['ping', '{containerAddress}'], demoVars(container()))).toEqual({
      missing: 'containerAddress',
    });
    expect(fillPlaceholders(['cat', '/proc/{pid}/status'], demoVars({ ...container(), pid: undefined }))).toEqual({
      missing: 'pid',
    });
    expect(fillPlaceholders(['echo', '{hostname}'], demoVars(container()))).toEqual({ missing: 'hostname' });
  });

  it("every lesson's demos and cleanups name only known placeholders", () => {
    for (const { lesson } of COURSE) {
      for (const d of lesson.demos) {
        const named = [...placeholdersIn(d.command), ...(Array.isArray(d.cleanup) ? placeholdersIn(d.cleanup) : [])];
        for (const n of named)
          expect([lesson.id, n, (DEMO_PLACEHOLDERS as readonly string[]).includes(n)]).toEqual([lesson.id, n, true]);
      }
    }
  });
});

describe('the demo line shown', () => {
  it('quotes arguments a shell would split or expand, and nothing else', () => {
    expect(shellLine(['cat', '/proc/sysvipc/msg'])).toBe('cat /proc/sysvipc/msg');
    expect(shellLine(['sh', '-c', 'touch /dev/mqueue/q; cat /dev/mqueue/q'])).toBe(
      "sh -c 'touch /dev/mqueue/q; cat /dev/mqueue/q'",
    );
    expect(shellLine(['echo', "it's", ''])).toBe(`echo "it's" ''`);
    expect(shellLine(['ip', '-br', 'addr', 'show', 'nsxh1234abcd'])).toBe('ip -br addr show nsxh1234abcd');
  });
});

describe('the demo line, fitted to the screen', () => {
  it('stays one line when it fits', () => {
    expect(commandLines('inside', 'ps -o pid,comm')).toEqual(['  inside$ ps -o pid,comm']);
  });
  it('breaks a long command between words, never inside one, within the width, indented under the command', () => {
    const line = "nsenter --root=/tmp/x /busybox sh -c 'until [ . -ef .. ]; do cd -P ..; done; chroot . ls /'";
    const lines = commandLines('inside', line, 60);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(60);
    expect(lines[0].startsWith('  inside$ nsenter')).toBe(true);
    for (const l of lines.slice(1)) expect(l.startsWith(' '.repeat(12))).toBe(true);
    expect(lines.map((l) => l.trim()).join(' ')).toBe(`inside$ ${line}`);
  });
  it('keeps a word longer than the width whole, on a line of its own', () => {
    const long = 'x'.repeat(90);
    expect(commandLines('host', `ls ${long} /`)).toEqual(['  host$ ls', `          ${long}`, '          /']);
  });
});

describe("{cgroup:<controller>}: the container's cgroup directory for a controller", () => {
  const id = 'ab'.repeat(32);
  const hybrid = {
    version: 'hybrid' as const,
    unified: '/sys/fs/cgroup/unified',
    unifiedControllers: ['hugetlb'],
    v1: {
      cpu: '/sys/fs/cgroup/cpu,cpuacct',
      cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
      memory: '/sys/fs/cgroup/memory',
      pids: '/sys/fs/cgroup/pids',
    },
  };
  const v2 = {
    version: 'v2' as const,
    unified: '/sys/fs/cgroup',
    unifiedControllers: ['cpu', 'memory', 'pids'],
    v1: {},
  };
  const hybridLines = [
    '9:name=systemd:/user.slice',
    `8:pids:/nsx/${id}`,
    `4:memory:/nsx/${id}`,
    `3:cpu,cpuacct:/nsx/${id}`,
    `0::/nsx/${id}`,
  ];

  it('takes the v1 hierarchy that has the controller, else the unified one, with the path from /proc/PID/cgroup', () => {
    expect(cgroupDirFor(hybridLines, 'memory', hybrid)).toBe(`/sys/fs/cgroup/memory/nsx/${id}`);
    expect(cgroupDirFor(hybridLines, 'cpu', hybrid)).toBe(`/sys/fs/cgroup/cpu,cpuacct/nsx/${id}`);
    expect(cgroupDirFor(hybridLines, 'hugetlb', hybrid)).toBe(`/sys/fs/cgroup/unified/nsx/${id}`);
    expect(cgroupDirFor([`0::/nsx/${id}`], 'pids', v2)).toBe(`/sys/fs/cgroup/nsx/${id}`);
    expect(cgroupDirFor([], 'pids', v2)).toBeUndefined();
  });

  it('fills {cgroup:memory} and friends from the lines the player saw, and names them missing before', () => {
    const vars = demoVars(container(), { cgroups: hybridLines, layout: hybrid });
    expect(fillPlaceholders(['cat', '{cgroup:memory}/memory.limit_in_bytes', '{cgroup:pids}/pids.max'], vars)).toEqual({
      argv: ['cat', `/sys/fs/cgroup/memory/nsx/${id}/memory.limit_in_bytes`, `/sys/fs/cgroup/pids/nsx/${id}/pids.max`],
    });
    expect(placeholdersIn(['cat', '{cgroup:cpu}/cpu.stat'])).toEqual(['cgroup:cpu']);
    expect(fillPlaceholders(['cat', '{cgroup:memory}/memory.max'], demoVars(container()))).toEqual({
      missing: 'cgroup:memory',
    });
    expect(fillPlaceholders(['cat', '{cgroup:blkio}/x'], vars)).toEqual({ missing: 'cgroup:blkio' });
  });

  it("shows the container's 64-character id as <id>", () => {
    expect(shownText(`cat /sys/fs/cgroup/nsx/${id}/pids.max`, id)).toBe('cat /sys/fs/cgroup/nsx/<id>/pids.max');
    expect(shownText('no id here', id)).toBe('no id here');
  });
});
