// The engine's state machine (lifecycle.ts), its request validation (validate.ts) and the client's
// create body (body.ts): pure, no engine running.
import { describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBody } from '../../src/engine/body.js';
import { EngineContainer } from '../../src/engine/container.js';
import { ApiError } from '../../src/engine/errors.js';
import { NEVER, TRANSITIONS, can, initialState, nextState, type Status } from '../../src/engine/lifecycle.js';
import * as validate from '../../src/engine/validate.js';
import type { ContainerRecord, ContainerStateRecord } from '../../src/engine/state.js';

const ALL: Status[] = ['created', 'running', 'paused', 'restarting', 'exited', 'removing'];
const ID = 'c'.repeat(64);
const at = (Status: Status, more: Partial<ContainerStateRecord> = {}): ContainerStateRecord => ({
  ...initialState(),
  Status,
  ...more,
});
const ending = { exitCode: 7, oomKilled: false, error: '' };

describe('the container lifecycle', () => {
  it('has exactly these transitions', () => {
    expect(TRANSITIONS).toEqual({
      created: ['running', 'exited', 'restarting', 'removing'],
      running: ['exited', 'restarting', 'paused'],
      paused: ['running', 'exited', 'restarting'],
      restarting: ['running', 'exited', 'restarting', 'removing'],
      exited: ['running', 'exited', 'restarting', 'removing'],
      removing: ['exited'],
    });
  });

  it('refuses every other one with a 409 that names both states', () => {
    for (const from of ALL) {
      for (const to of ALL) {
        const t = to === 'running' ? { to, pid: 42 } : to === 'exited' || to === 'restarting' ? { to, ending } : { to };
        const go = () => nextState(at(from), t as never, ID);
        if (TRANSITIONS[from].includes(to)) expect(go).not.toThrow();
        else {
          expect(go).toThrow(ApiError);
          expect(go).toThrow(`cannot change container ${ID} from ${from} to ${to}`);
          try {
            go();
          } catch (e) {
            expect((e as ApiError).status).toBe(409);
          }
        }
      }
    }
  });

  it('sets the fields docker sets with each status', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const running = nextState(at('created'), { to: 'running', pid: 42 }, ID, now);
    expect(running).toEqual({
      Status: 'running',
      Pid: 42,
      ExitCode: 0,
      OOMKilled: false,
      Error: '',
      StartedAt: '2026-01-01T00:00:00.000Z',
      FinishedAt: NEVER,
    });
    const later = new Date('2026-01-01T00:00:05Z');
    const exited = nextState(
      running,
      { to: 'exited', ending: { exitCode: 137, oomKilled: true, error: 'x' } },
      ID,
      later,
    );
    expect(exited).toEqual({
      Status: 'exited',
      Pid: 0,
      ExitCode: 137,
      OOMKilled: true,
      Error: 'x',
      StartedAt: running.StartedAt,
      FinishedAt: '2026-01-01T00:00:05.000Z',
    });
    // A run that never got to PID 1 (a step failed): docker's StartedAt is then its end.
    const failed = nextState(at('created'), { to: 'exited', ending }, ID, later);
    expect(failed.StartedAt).toBe(failed.FinishedAt);
    expect(nextState(running, { to: 'restarting', ending }, ID, later).Status).toBe('restarting');
    // A cancelled restart keeps what the last exit said; a failed one adds why.
    const restarting = at('restarting', { ExitCode: 1, Error: '' });
    expect(nextState(restarting, { to: 'exited' }, ID)).toEqual({ ...restarting, Status: 'exited' });
    expect(nextState(restarting, { to: 'exited', error: 'restart 2 failed: x' }, ID).Error).toBe('restart 2 failed: x');
  });

  it('pauses and unpauses a running container, keeping its pid and times', () => {
    const running = nextState(at('created'), { to: 'running', pid: 42 }, ID);
    const paused = nextState(running, { to: 'paused' }, ID);
    expect(paused).toEqual({ ...running, Status: 'paused' });
    expect(nextState(paused, { to: 'running', resumed: true }, ID)).toEqual(running);
    expect(() => nextState(running, { to: 'running', resumed: true }, ID)).toThrow(`from running to running`);
    expect(() => nextState(at('exited'), { to: 'paused' }, ID)).toThrow(`cannot change container ${ID} from exited`);
    // killed while paused (a v2 freezer lets SIGKILL through): it exits from paused.
    expect(nextState(paused, { to: 'exited', ending: { ...ending, exitCode: 137 } }, ID).Status).toBe('exited');
  });

  it('guards the verbs as docker does', () => {
    expect(ALL.filter((s) => can.start(s))).toEqual(['created', 'restarting', 'exited']);
    expect(ALL.filter((s) => can.kill(s))).toEqual(['running', 'paused']);
    expect(ALL.filter((s) => can.exec(s))).toEqual(['running']);
    expect(ALL.filter((s) => can.observe(s))).toEqual(['running', 'paused']);
    expect(ALL.filter((s) => can.pause(s))).toEqual(['running']);
    expect(ALL.filter((s) => can.unpause(s))).toEqual(['paused']);
    expect(ALL.filter((s) => can.remove(s, false))).toEqual(['created', 'exited', 'removing']);
    expect(ALL.filter((s) => can.remove(s, true))).toEqual(ALL);
  });
});

describe('create and exec bodies, checked at the HTTP boundary', () => {
  const refused = (body: unknown, message: RegExp | string) => {
    try {
      validate.createBody(body);
    } catch (e) {
      expect(e).toBeInstanceOf(ApiError);
      expect((e as ApiError).status).toBe(400);
      expect((e as ApiError).message).toMatch(message);
      return;
    }
    throw new Error(`accepted: ${JSON.stringify(body)}`);
  };

  it('refuses a wrong JSON type with a 400 naming the field', () => {
    refused([], /the request body must be a JSON object/);
    refused({ Rootfs: '/r', HostConfig: { CapAdd: 'ALL' } }, /^HostConfig\.CapAdd must be an array of strings$/);
    refused({ Rootfs: '/r', Cmd: ['/bin/sh', 1] }, /^Cmd must be an array of strings$/);
    refused({ Rootfs: '/r', HostConfig: 'none' }, /^HostConfig must be a JSON object$/);
    refused({ Rootfs: '/r', HostConfig: { Memory: 1.5 } }, /^HostConfig\.Memory must be a whole number$/);
    refused({ Rootfs: '/r', HostConfig: { PidsLimit: '10' } }, /^HostConfig\.PidsLimit must be a whole number$/);
    refused(
      { Rootfs: '/r', HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 'x' } } },
      /^HostConfig\.RestartPolicy\.MaximumRetryCount must be/,
    );
    refused({ Rootfs: 7 }, /^Rootfs must be a string$/);
    refused({ Rootfs: '/r', Tty: 'yes' }, /^Tty must be true or false$/);
    refused({ Rootfs: '/r', Nsx: { RunAs: { uid: '1000', gid: 1000 } } }, /^Nsx\.RunAs\.uid must be a whole number$/);
    refused({ Rootfs: '/r', Nsx: { Swap: ['capabilities', 'nope'] } }, /^Nsx\.Swap must be two different step ids$/);
    refused(
      { Rootfs: '/r', Nsx: { Swap: ['capabilities', 'capabilities'] } },
      /^Nsx\.Swap must be two different step ids$/,
    );
    expect(() => validate.execBody({ Cmd: 'ls' })).toThrow(/^Cmd must be an array of strings$/);
    expect(() => validate.execStartBody({ ConsoleSize: [24] })).toThrow(/^ConsoleSize must be \[rows, columns\]/);
  });

  it("refuses a client's spec or plan, saying what to send instead", () => {
    refused({ Rootfs: '/r', Nsx: { Step: true, Plan: [] } }, /^Nsx\.Plan is not accepted: the engine builds the plan/);
    refused({ Rootfs: '/r', Nsx: { Spec: {} } }, /^Nsx\.Spec is not accepted: the engine builds the spec/);
    let hint: string | undefined;
    try {
      validate.createBody({ Rootfs: '/r', Nsx: { Plan: [] } });
    } catch (e) {
      hint = (e as ApiError).hint;
    }
    expect(hint).toMatch(
      /send intent instead: .*Nsx \{Step, Observe, PauseAtExit, UnsafeChroot, RunAs, TimeNamespace, TimeOffsets, Swap\}/,
    );
  });

  it('takes what the docker CLI sends: nulls as absent, unknown fields ignored', () => {
    const body = validate.createBody({
      Image: 'busybox',
      Cmd: null,
      Entrypoint: null,
      Env: [],
      Labels: {},
      AttachStdin: false,
      HostConfig: {
        CapAdd: null,
        PidsLimit: null,
        Memory: 0,
        Binds: null,
        ConsoleSize: [0, 0],
        RestartPolicy: { Name: 'no', MaximumRetryCount: 0 },
      },
    });
    expect(body).toEqual({
      Image: 'busybox',
      Env: [],
      HostConfig: { Memory: 0, ConsoleSize: [0, 0], RestartPolicy: { Name: 'no', MaximumRetryCount: 0 } },
    });
  });
});

describe("the client's create body (body.ts): nsx run's and the lessons' options as intent", () => {
  it("says every option a lesson uses in Docker's fields or Nsx's", () => {
    const body = createBody({
      rootfs: '/r',
      command: ['/bin/sh'],
      hostname: 'h',
      network: 'veth',
      unsafeChroot: true,
      memory: '16m',
      pidsLimit: 10,
      cpus: 0.2,
      capDrop: ['CHOWN'],
      securityOpt: ['no-new-privileges'],
      timeNamespace: true,
      timeOffsets: { boottime: 604800 },
      userns: 'private',
      cgroupns: 'host',
      runAs: { uid: 1000, gid: 1000 },
      swap: ['capabilities', 'mount-private'],
      step: true,
      pauseAtExit: true,
    });
    expect(body).toEqual({
      Rootfs: '/r',
      Cmd: ['/bin/sh'],
      Hostname: 'h',
      Tty: false,
      OpenStdin: false,
      StdinOnce: false,
      HostConfig: {
        Memory: 16 * 1024 * 1024,
        PidsLimit: 10,
        NanoCpus: 2e8,
        CapDrop: ['CHOWN'],
        SecurityOpt: ['no-new-privileges'],
        NetworkMode: 'veth',
        UsernsMode: 'private',
        CgroupnsMode: 'host',
      },
      Nsx: {
        Step: true,
        PauseAtExit: true,
        UnsafeChroot: true,
        RunAs: { uid: 1000, gid: 1000 },
        TimeNamespace: true,
        TimeOffsets: { boottime: 604800 },
        Swap: ['capabilities', 'mount-private'],
      },
    });
    expect(validate.createBody(JSON.parse(JSON.stringify(body)))).toEqual(body); // the engine takes what the client makes
  });
});

describe('one object per container (EngineContainer)', () => {
  it('changes State only through a transition, saved each time, and forgets everything with dispose()', async () => {
    let saves = 0;
    const record = {
      Id: ID,
      Name: 'x',
      Created: '',
      Image: '',
      Path: '/bin/true',
      Args: [],
      Config: { Hostname: '', Env: [], Cmd: [], Image: '' },
      HostConfig: {},
      State: initialState(),
      LogPath: '',
    } as ContainerRecord;
    const c = new EngineContainer(record, () => saves++);
    expect([c.canStart(), c.canKill(), c.canExec(), c.canRemove(false)]).toEqual([true, false, false, true]);
    c.transition({ to: 'running', pid: 42 });
    expect([c.status, record.State.Pid, saves]).toEqual(['running', 42, 1]);
    expect(() => c.transition({ to: 'removing' })).toThrow(/from running to removing/);
    expect([c.canRemove(false), c.canRemove(true)]).toEqual([false, true]);
    const dir = mkdtempSync(join(tmpdir(), 'nsx-engine-container-'));
    mkdirSync(join(dir, 'log'));
    let restarted = false;
    c.restartTimer = setTimeout(() => (restarted = true), 50);
    const waits = Promise.all([c.untilSettled(), c.untilNextExit()]);
    c.execs.set('e', {} as never);
    c.dispose(dir);
    await waits; // answered, not left hanging
    await new Promise((r) => setTimeout(r, 100));
    expect([restarted, c.restartTimer, c.execs.size, existsSync(dir)]).toEqual([false, undefined, 0, false]);
    rmSync(dir, { recursive: true, force: true });
  });
});
