// The engine's pure parts: where it lives, its state file, names, signals, and docker's ps shapes.
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketPath, stateDir } from '../../src/engine/config.js';
import { Engine, checkRestartPolicy, parseSignal } from '../../src/engine/engine.js';
import { ApiError } from '../../src/engine/errors.js';
import { humanDuration } from '../../src/engine/humanize.js';
import { VALID_NAME, randomName } from '../../src/engine/names.js';
import { loadState, saveState, type ContainerRecord } from '../../src/engine/state.js';
import { inspectShape, securityOf } from '../../src/engine/shapes.js';
import { DEFAULT_DEVICE_RULES } from '../../src/runtime/devices/rules.js';
import type { PlannedStep } from '../../src/runtime/plan.js';
import type { ContainerSpec } from '../../src/runtime/spec.js';
import { bytesSize, ellipsis, psTable, statsRow, table } from '../../src/cli/engine/messages.js';

describe('engine config', () => {
  it('takes the socket and state dir from the environment first', () => {
    expect(socketPath({ NSX_ENGINE_SOCKET: '/tmp/x.sock' })).toBe('/tmp/x.sock');
    expect(stateDir({ NSX_ENGINE_STATE: '/tmp/st' })).toBe('/tmp/st');
  });
  it("root's engine lives under /run and /var/lib; a user's under XDG_RUNTIME_DIR", () => {
    if (process.getuid?.() === 0) {
      expect(socketPath({})).toBe('/run/nsx/nsxd.sock');
      expect(stateDir({})).toBe('/var/lib/nsx/engine');
    } else {
      expect(socketPath({ XDG_RUNTIME_DIR: '/run/user/1000' })).toBe('/run/user/1000/nsx/nsxd.sock');
    }
  });
});

describe('the state file', () => {
  it('is written whole (temp file, rename) and read back; none is an empty engine', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsx-state-'));
    try {
      expect(loadState(dir)).toEqual({ version: 1, containers: [] });
      const c = { Id: 'a'.repeat(64), Name: 'x' } as ContainerRecord;
      saveState(dir, { version: 1, containers: [c] });
      expect(loadState(dir).containers).toEqual([c]);
      expect(readdirSync(dir)).toEqual(['containers.json']); // no temp file left
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('makes its directory (mode 0700) when it is missing, and writes the file there', () => {
    const top = mkdtempSync(join(tmpdir(), 'nsx-state-'));
    const dir = join(top, 'var', 'engine');
    try {
      saveState(dir, { version: 1, containers: [] });
      expect(loadState(dir)).toEqual({ version: 1, containers: [] });
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      expect(readdirSync(dir)).toEqual(['containers.json']);
    } finally {
      rmSync(top, { recursive: true, force: true });
    }
  });
});

describe('names and signals', () => {
  it('generates docker-style names that are free', () => {
    const n = randomName(() => false);
    expect(n).toMatch(/^[a-z]+_[a-z]+$/);
    expect(VALID_NAME.test(n)).toBe(true);
    const taken = new Set([n]);
    expect(randomName((x) => taken.has(x))).not.toBe(n);
    expect(VALID_NAME.test('has space')).toBe(false);
  });
  it('reads signals as docker does: SIGTERM, TERM, term, 15', () => {
    for (const s of ['SIGTERM', 'TERM', 'term', '15']) expect(parseSignal(s)).toBe(15);
    expect(parseSignal('KILL')).toBe(9);
    expect(() => parseSignal('SIGNOPE')).toThrow(ApiError);
    expect(() => parseSignal('0')).toThrow(/Invalid signal: 0/);
  });
});

describe('restart policies', () => {
  it("takes docker's names and refuses what docker refuses, in its words", () => {
    for (const Name of ['', 'no', 'always', 'unless-stopped', 'on-failure'])
      expect(() => checkRestartPolicy({ RestartPolicy: { Name } })).not.toThrow();
    expect(() => checkRestartPolicy({})).not.toThrow();
    expect(() => checkRestartPolicy({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } })).not.toThrow();
    expect(() => checkRestartPolicy({ RestartPolicy: { Name: 'always', MaximumRetryCount: 2 } })).toThrow(
      "maximum retry count can only be used with 'on-failure'",
    );
    expect(() => checkRestartPolicy({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } })).toThrow(
      /positive integer/,
    );
    expect(() => checkRestartPolicy({ RestartPolicy: { Name: 'sometimes' } })).toThrow(/unknown policy 'sometimes'/);
    expect(() => checkRestartPolicy({ AutoRemove: true, RestartPolicy: { Name: 'always' } })).toThrow(
      /--restart and --rm/,
    );
  });
});

describe('docker ps shapes', () => {
  it('words durations as docker', () => {
    expect(humanDuration(500)).toBe('Less than a second');
    expect(humanDuration(1000)).toBe('1 second');
    expect(humanDuration(42_000)).toBe('42 seconds');
    expect(humanDuration(61_000)).toBe('About a minute');
    expect(humanDuration(5 * 60_000)).toBe('5 minutes');
    expect(humanDuration(3_600_000)).toBe('About an hour');
    expect(humanDuration(3 * 86_400_000)).toBe('3 days');
  });
  it('cuts the command at 20 characters with an ellipsis, quoted', () => {
    expect(ellipsis('short', 20)).toBe('short');
    expect(ellipsis('/bin/sh -c echo hello; sleep 100', 20)).toBe('/bin/sh -c echo hel…');
    const now = Date.parse('2026-01-01T00:00:10Z');
    const out = psTable(
      [
        {
          Id: 'f'.repeat(64),
          Names: ['/web'],
          Image: 'busybox',
          Command: '/bin/sh -c echo hello; sleep 100',
          Created: now / 1000 - 5,
          Status: 'Up 4 seconds',
          Ports: [],
        },
      ],
      now,
    );
    expect(out.split('\n')[0]).toBe(
      'CONTAINER ID   IMAGE     COMMAND                  CREATED         STATUS         PORTS     NAMES',
    );
    expect(out.split('\n')[1]).toBe(
      'ffffffffffff   busybox   "/bin/sh -c echo hel…"   5 seconds ago   Up 4 seconds             web',
    );
  });
  it('shortens a rootfs path as IMAGE from the left, an image name never', () => {
    const row = { Id: 'f'.repeat(64), Names: ['/x'], Command: 'sh', Created: 0, Status: 'Created', Ports: [] };
    const rootfs = '/work/namespace-explorer/sandbox/rootfs/busybox';
    const out = psTable([{ ...row, Image: rootfs }], 0).split('\n')[1];
    expect(out).toContain('…plorer/sandbox/rootfs/busybox ');
    expect(out).not.toContain('/work/');
    expect(psTable([{ ...row, Image: rootfs }], 0, false)).toContain(rootfs);
    const name = 'registry.example.com/some/long/repository/name:tag';
    expect(psTable([{ ...row, Image: name }], 0)).toContain(name);
  });
  it('pads columns three spaces past the widest cell, ten at least (tabwriter)', () => {
    expect(table(['A', 'B'], [['xyz', 'q']])).toBe('A         B\nxyz       q\n');
    expect(table(['A', 'B'], [['a-rather-long-cell', 'q']]).split('\n')[1]).toBe('a-rather-long-cell   q');
  });
  it('says STATUS as docker: Created, Up …, Exited (N) … ago', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const rec = (State: Partial<ContainerRecord['State']>) => ({ State }) as ContainerRecord;
    expect(Engine.statusText(rec({ Status: 'created' }), now)).toBe('Created');
    expect(Engine.statusText(rec({ Status: 'running', StartedAt: '2026-01-01T00:00:30Z' }), now)).toBe('Up 30 seconds');
    expect(Engine.statusText(rec({ Status: 'exited', ExitCode: 7, FinishedAt: '2026-01-01T00:00:58Z' }), now)).toBe(
      'Exited (7) 2 seconds ago',
    );
  });
});

describe('docker stats shapes', () => {
  it('sizes in binary units with four digits, as go-units BytesSize', () => {
    expect(bytesSize(0)).toBe('0B');
    expect(bytesSize(1429504)).toBe('1.363MiB');
    expect(bytesSize(64 * 1024 * 1024)).toBe('64MiB');
  });
  it('computes CPU % as docker: container CPU time over host CPU time, times the CPUs', () => {
    const row = statsRow({
      id: 'a'.repeat(64),
      name: '/web',
      pids_stats: { current: 3 },
      memory_stats: { usage: 32 * 1024 * 1024, limit: 64 * 1024 * 1024 },
      cpu_stats: { cpu_usage: { total_usage: 1.5e9 }, system_cpu_usage: 14e9, online_cpus: 4 },
      precpu_stats: { cpu_usage: { total_usage: 1e9 }, system_cpu_usage: 12e9 },
    });
    expect(row).toEqual(['aaaaaaaaaaaa', 'web', '100.00%', '32MiB / 64MiB', '50.00%', '--', '--', '3']);
  });
});

describe("a user's runtime directory (no login session: /tmp, as podman)", () => {
  it('takes XDG_RUNTIME_DIR, then /run/user/UID when it exists, then /tmp/nsx-run-UID', async () => {
    const { runtimeDir } = await import('../../src/engine/config.js');
    const uid = process.getuid!();
    expect(runtimeDir({ XDG_RUNTIME_DIR: '/x' }, () => true)).toBe('/x');
    expect(runtimeDir({}, (p) => p === `/run/user/${uid}`)).toBe(`/run/user/${uid}`);
    expect(runtimeDir({}, () => false)).toBe(`/tmp/nsx-run-${uid}`);
  });
  it('refuses a directory others can write to, and makes a missing one mode 0700', async () => {
    const { privateDir } = await import('../../src/engine/config.js');
    const { chmodSync, statSync } = await import('node:fs');
    const base = mkdtempSync(join(tmpdir(), 'nsx-private-'));
    try {
      const made = join(base, 'a', 'nsx');
      privateDir(made);
      expect(statSync(made).mode & 0o777).toBe(0o700);
      chmodSync(made, 0o775);
      expect(() => privateDir(made)).toThrow(/not a directory of this user's alone \(owner \d+, mode 775\)/);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe("docker inspect's walls: the device rules and the AppArmor profile (shapes.ts securityOf)", () => {
  const planned = (devices: Partial<PlannedStep>, lsm: Partial<PlannedStep>) =>
    [
      { id: 'devices', actions: [], notes: [], ...devices },
      { id: 'lsm', actions: [], notes: [], ...lsm },
    ] as PlannedStep[];
  const spec = (apparmorProfile?: string) => ({ process: { apparmorProfile } }) as ContainerSpec;
  const rules = [...DEFAULT_DEVICE_RULES];
  const record = (Security: ContainerRecord['Security']) =>
    ({ Id: 'a'.repeat(64), Name: 'x', State: {}, HostConfig: {}, Config: {}, Security }) as unknown as ContainerRecord;

  it('a default container where AppArmor is enabled: the eBPF rules, nsx-default', () => {
    const sec = securityOf(
      planned(
        { actions: [{ kind: 'host', op: 'devices', via: 'bpf', rules }] },
        { actions: [{ kind: 'shim', op: 'write', path: '/proc/self/attr/apparmor/exec', text: 'exec nsx-default' }] },
      ),
      spec('nsx-default'),
      true,
    );
    expect(sec.AppArmorProfile).toBe('nsx-default');
    expect(sec.Devices.Mode).toBe('bpf');
    expect(sec.Devices.Rules.slice(0, 3)).toEqual(['deny a *:* rwm', 'allow c *:* m', 'allow b *:* m']);
    const shown = inspectShape(record(sec), {});
    expect(shown.AppArmorProfile).toBe('nsx-default');
    expect((shown.HostConfig as { DeviceCgroupRules: string[] }).DeviceCgroupRules).toEqual(
      expect.arrayContaining(['c *:* m', 'b *:* m', 'c 1:3 rwm', 'c 136:* rwm']),
    );
    expect((shown.HostConfig as { DeviceCgroupRules: string[] }).DeviceCgroupRules).not.toContain('a *:* rwm');
    expect(shown.Nsx).toMatchObject({ Devices: { Mode: 'bpf', Rules: sec.Devices.Rules } });
  });

  it('without AppArmor the profile is "" (as docker); --privileged where it is enabled: "unconfined", no rules', () => {
    const skipped = planned({ actions: [{ kind: 'host', op: 'devices', via: 'v1', rules }] }, { skip: 'no AppArmor' });
    expect(securityOf(skipped, spec('nsx-default'), false)).toMatchObject({
      AppArmorProfile: '',
      Devices: { Mode: 'v1' },
    });
    const privileged = planned({ skip: '--privileged: every device is allowed' }, { skip: '--privileged' });
    const sec = securityOf(privileged, spec(undefined), true);
    expect(sec).toEqual({
      AppArmorProfile: 'unconfined',
      Devices: { Rules: [], Why: '--privileged: every device is allowed' },
    });
    expect((inspectShape(record(sec), {}).HostConfig as { DeviceCgroupRules: string[] }).DeviceCgroupRules).toEqual([]);
    expect(securityOf(privileged, spec(undefined), false).AppArmorProfile).toBe('');
  });

  it("a container recorded before the fields existed: docker's empty profile, no device fields", () => {
    const shown = inspectShape(record(undefined), {});
    expect(shown.AppArmorProfile).toBe('');
    expect(shown.HostConfig).toEqual({});
    expect(shown.Nsx).toEqual({});
  });
});
