// nsxd, the engine (issue 5): containers created over its API are its children; their exit codes,
// output and state reach ps, wait, inspect and logs; bad requests get docker's errors.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_FILE } from '../../src/engine/state.js';
import { deviceCgroup } from '../../src/runtime/host.js';
import { apparmorEnabled } from '../../src/runtime/lsm/apparmor.js';
import { TestEngine, demux, followEvents, parentChain } from '../engine.js';
import { TEST_ROOTFS, UNPRIVILEGED_UID, isRoot, itRoot, nsx } from '../helpers.js';

describe('nsxd, the engine', () => {
  const engine = new TestEngine();
  const cli = (args: string[], extra: Parameters<typeof nsx>[1] = {}) =>
    nsx(args, { ...extra, env: { ...engine.env, ...extra.env } });

  beforeAll(async () => {
    if (isRoot) await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot('answers /_ping on a socket only its owner can open (mode 0600)', async () => {
    expect((await engine.api('GET', '/_ping')).text).toBe('OK');
    const { statSync } = await import('node:fs');
    expect(statSync(engine.socket).mode & 0o777).toBe(0o600);
  });

  itRoot('two creates make two containers with distinct ids, both in ps -a', async () => {
    const a = await engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] });
    const b = await engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(a.body.Id).toMatch(/^[0-9a-f]{64}$/);
    expect(b.body.Id).not.toBe(a.body.Id);
    const ps = await cli(['ps', '-a', '-q']);
    expect(ps.stdout.split('\n')).toEqual(expect.arrayContaining([a.body.Id.slice(0, 12), b.body.Id.slice(0, 12)]));
    const table = await cli(['ps', '-a']);
    expect(table.stdout.split('\n')[0]).toMatch(/^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/);
    expect(table.stdout).toMatch(new RegExp(`${a.body.Id.slice(0, 12)} .* Created `));
    for (const id of [a.body.Id, b.body.Id]) expect((await engine.api('DELETE', `/containers/${id}`)).status).toBe(204);
  });

  itRoot('inspect shows the device rules the container got and its AppArmor profile', async () => {
    const aa = apparmorEnabled();
    const mode = deviceCgroup();
    const made = async (name: string, HostConfig: Record<string, unknown>) => {
      const c = await engine.api('POST', `/containers/create?name=${name}`, {
        Rootfs: TEST_ROOTFS,
        Cmd: ['/bin/true'],
        HostConfig,
      });
      expect(c.status).toBe(201);
      return (await engine.api('GET', `/containers/${name}/json`)).body;
    };
    const plain = await made('walls', {});
    expect(plain.HostConfig.DeviceCgroupRules).toEqual(expect.arrayContaining(['c *:* m', 'b *:* m', 'c 1:3 rwm']));
    expect(plain.Nsx.Devices.Mode).toBe(mode); // v1's devices controller or cgroup2's eBPF, as this machine has
    expect(plain.Nsx.Devices.Rules[0]).toBe('deny a *:* rwm');
    expect(plain.AppArmorProfile).toBe(aa ? 'nsx-default' : ''); // docker's "" where there is no AppArmor
    const privileged = await made('nowalls', { Privileged: true });
    expect(privileged.HostConfig.DeviceCgroupRules).toEqual([]);
    expect(privileged.Nsx.Devices).toEqual({ Rules: [], Why: expect.stringMatching(/^--privileged/) });
    expect(privileged.AppArmorProfile).toBe(aa ? 'unconfined' : '');
    for (const name of ['walls', 'nowalls'])
      expect((await engine.api('DELETE', `/containers/${name}`)).status).toBe(204);
  });

  itRoot("the container's process is a child of the engine (through the shim's supervisor)", async () => {
    const id = await engine.run(TEST_ROOTFS, ['/bin/sleep', '30'], 'child-of-engine');
    const info = (await engine.api('GET', `/containers/${id}/json`)).body;
    expect(info.State).toEqual(expect.objectContaining({ Status: 'running', Running: true }));
    const chain = parentChain(info.State.Pid);
    expect(chain.slice(0, 3)).toEqual([info.State.Pid, expect.any(Number), engine.process!.pid]); // PID 1 → supervisor → nsxd
    expect(readFileSync(`/proc/${chain[1]}/cmdline`, 'utf8')).toContain('nsx-shim');
    // nsx's facts beside docker's: namespaces of its own, the cgroup, capabilities, seccomp.
    expect(info.Nsx.Namespaces.pid).not.toBe(
      readFileSync('/proc/self/stat') && (await import('node:fs')).readlinkSync('/proc/self/ns/pid'),
    );
    expect(info.Nsx.Seccomp).toBe('filter');
    expect(info.Nsx.Capabilities).toContain('CAP_CHOWN');
    expect(info.Nsx.Capabilities).not.toContain('CAP_SYS_ADMIN');
    const rm = await cli(['rm', '-f', 'child-of-engine']);
    expect(rm.stdout).toBe('child-of-engine\n');
    expect((await engine.api('GET', `/containers/${id}/json`)).status).toBe(404);
  });

  itRoot('exit codes reach wait, inspect and ps -a; logs return what the container wrote', async () => {
    await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'echo to stdout; echo to stderr >&2; exit 7'], 'seven');
    const w = await cli(['wait', 'seven']);
    expect(w.stdout).toBe('7\n');
    expect((await engine.api('POST', '/containers/seven/wait')).body).toEqual({ StatusCode: 7, Error: null });
    const info = (await engine.api('GET', '/containers/seven/json')).body;
    expect(info.State).toEqual(expect.objectContaining({ Status: 'exited', Running: false, ExitCode: 7, Pid: 0 }));
    expect(info.Name).toBe('/seven');
    const ps = await cli(['ps', '-a']);
    expect(ps.stdout).toMatch(/Exited \(7\) .* seven\n/);
    expect((await cli(['ps'])).stdout).not.toContain('seven');
    const logs = await cli(['logs', 'seven']);
    expect(logs.stdout).toBe('to stdout\n'); // docker's logs: each stream to its own
    expect(logs.stderr).toContain('to stderr\n');
    expect(demux((await engine.api('GET', '/containers/seven/logs?stdout=1&stderr=1')).raw)).toEqual({
      stdout: 'to stdout\n',
      stderr: 'to stderr\n',
    });
    expect(demux((await engine.api('GET', '/containers/seven/logs?stdout=0&stderr=1')).raw)).toEqual({
      stdout: '',
      stderr: 'to stderr\n',
    });
    const inspected = JSON.parse((await cli(['inspect', 'seven'])).stdout);
    expect(inspected[0].State.ExitCode).toBe(7);
    expect((await cli(['rm', 'seven'])).code).toBe(0);
  });

  itRoot('kill sends the signal (128 + it is the exit code); stop waits --time seconds before SIGKILL', async () => {
    await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done'], 'trapper');
    await engine.run(TEST_ROOTFS, ['/bin/sleep', '30'], 'sleeper');
    await new Promise((r) => setTimeout(r, 300)); // the trap is set
    expect((await cli(['stop', '-t', '5', 'trapper'])).stdout).toBe('trapper\n');
    expect((await engine.api('GET', '/containers/trapper/json')).body.State.ExitCode).toBe(3);
    expect((await cli(['kill', '-s', 'TERM', 'sleeper'])).code).toBe(0); // PID 1 ignores SIGTERM it has no handler for
    expect((await cli(['kill', 'sleeper'])).code).toBe(0);
    expect((await cli(['wait', 'sleeper'])).stdout).toBe('137\n');
    const again = await cli(['kill', 'sleeper']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/is not running/);
    await cli(['rm', 'trapper', 'sleeper']);
  });

  itRoot("top lists the container's processes with their host PIDs; a stopped container has none", async () => {
    const id = await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', '/bin/sleep 31 & /bin/sleep 32; exit 0'], 'busy-top');
    const pid = (await engine.api('GET', `/containers/${id}/json`)).body.State.Pid;
    let t = (await engine.api('GET', '/containers/busy-top/top')).body;
    for (let i = 0; i < 20 && t.Processes.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 100));
      t = (await engine.api('GET', '/containers/busy-top/top')).body;
    }
    expect(t.Titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(t.Processes.map((p: string[]) => p[7]).sort()).toEqual([
      '/bin/sh -c /bin/sleep 31 & /bin/sleep 32; exit 0',
      '/bin/sleep 31',
      '/bin/sleep 32',
    ]);
    expect(t.Processes.map((p: string[]) => Number(p[1]))).toContain(pid); // PID 1 inside, this number outside
    const c = await cli(['top', 'busy-top']);
    expect(c.stdout.split('\n')[0]).toMatch(/^UID +PID +PPID +C +STIME +TTY +TIME +CMD$/);
    expect(c.stdout).toContain(`${pid}`);
    await cli(['rm', '-f', 'busy-top']);
    await engine.run(TEST_ROOTFS, ['/bin/true'], 'done-top');
    await engine.api('POST', '/containers/done-top/wait');
    const r = await engine.api('GET', '/containers/done-top/top');
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/is not running$/);
    await cli(['rm', 'done-top']);
  });

  itRoot("stats reads CPU, memory and pids from the container's cgroup", async () => {
    await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'while :; do :; done'], 'spinner', {
      HostConfig: { Memory: 64 * 1024 * 1024, PidsLimit: 16 },
    });
    const s = (await engine.api('GET', '/containers/spinner/stats?stream=0')).body;
    expect(s.name).toBe('/spinner');
    expect(s.memory_stats.limit).toBe(64 * 1024 * 1024);
    expect(s.memory_stats.usage).toBeGreaterThan(0);
    expect(s.pids_stats).toEqual({ current: 1, limit: 16 });
    expect(s.cpu_stats.cpu_usage.total_usage).toBeGreaterThan(s.precpu_stats.cpu_usage.total_usage); // it spins
    const c = await cli(['stats', '--no-stream', 'spinner']);
    const [head, row] = c.stdout.split('\n');
    expect(head).toMatch(/^CONTAINER ID +NAME +CPU % +MEM USAGE \/ LIMIT +MEM % +NET I\/O +BLOCK I\/O +PIDS$/);
    expect(row).toMatch(/^[0-9a-f]{12} +spinner +\d+\.\d\d% +[\d.]+[KM]?i?B \/ 64MiB +\d+\.\d\d% +-- +-- +1$/);
    expect(Number(/ (\d+\.\d\d)% /.exec(row)![1])).toBeGreaterThan(20); // a busy loop: most of one CPU
    await cli(['rm', '-f', 'spinner']);
  });

  itRoot("events tell what happens to containers as it happens, in docker's shape and words", async () => {
    const { seen, stop } = followEvents(engine.socket);
    // `nsx events` follows until killed. Both listeners must be subscribed before the container is
    // made: markers are created until each has seen one (on a loaded machine a CLI takes seconds).
    const { spawn } = await import('node:child_process');
    const { NSX } = await import('../helpers.js');
    const watcher = spawn(process.execPath, [NSX, 'events'], { env: { ...process.env, ...engine.env } });
    let watched = '';
    watcher.stdout.on('data', (d) => (watched += d));
    const closed = new Promise((r) => watcher.on('close', r));
    for (let i = 0, end = Date.now() + 20000; Date.now() < end; i++) {
      const marker = await engine.api('POST', `/containers/create?name=marker-${i}`, {
        Rootfs: TEST_ROOTFS,
        Cmd: ['true'],
      });
      await engine.api('DELETE', `/containers/marker-${i}`);
      await new Promise((r) => setTimeout(r, 200));
      if (watched.includes(marker.body.Id) && seen.some((e) => e.id === marker.body.Id)) break;
    }
    const id = await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'exit 7'], 'eventful');
    await engine.api('POST', `/containers/${id}/wait`);
    await engine.api('DELETE', `/containers/${id}`);
    await new Promise((r) => setTimeout(r, 300));
    stop();
    const mine = seen.filter((e) => e.id === id);
    expect(mine.map((e) => e.Action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(mine[2]).toEqual(
      expect.objectContaining({
        Type: 'container',
        status: 'die',
        Actor: { ID: id, Attributes: expect.objectContaining({ exitCode: '7', name: 'eventful' }) },
      }),
    );
    await new Promise((r) => setTimeout(r, 300));
    watcher.kill();
    await closed;
    const lines = watched.split('\n').filter((l) => l.includes(id));
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[\\d:]+\\.\\d{9}Z container die ${id} \\(exitCode=7, image=.*, name=eventful\\)$`,
      ),
    );
  });

  itRoot('start starts a created container again and again; -a follows it and exits with its code', async () => {
    const c = await engine.api('POST', '/containers/create?name=again', {
      Rootfs: TEST_ROOTFS,
      Cmd: ['/bin/sh', '-c', 'echo ran; exit 5'],
    });
    expect(c.status).toBe(201);
    const first = await cli(['start', '-a', 'again']);
    expect([first.code, first.stdout]).toEqual([5, 'ran\n']);
    const second = await cli(['start', 'again']);
    expect([second.code, second.stdout]).toEqual([0, 'again\n']);
    expect((await cli(['wait', 'again'])).stdout).toBe('5\n');
    expect((await cli(['logs', 'again'])).stdout).toBe('ran\nran\n'); // one log across its runs, as docker's
    await cli(['rm', 'again']);
  });

  itRoot('logs -f follows the output until the container exits', async () => {
    await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'for i in 1 2 3; do echo line $i; sleep 0.3; done'], 'talker');
    const f = await cli(['logs', '-f', 'talker']);
    expect(f.stdout).toBe('line 1\nline 2\nline 3\n');
    await cli(['rm', 'talker']);
  });

  itRoot('--restart on-failure:2 restarts twice and stops; always restarts until stopped by hand', async () => {
    await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'echo run; exit 3'], 'flaky', {
      HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 2 } },
    });
    expect((await cli(['wait', 'flaky'])).stdout).toBe('3\n'); // through the restarts, to the last exit
    const info = (await engine.api('GET', '/containers/flaky/json')).body;
    expect(info.RestartCount).toBe(2);
    expect(info.State).toEqual(expect.objectContaining({ Status: 'exited', Restarting: false, ExitCode: 3 }));
    expect((await cli(['logs', 'flaky'])).stdout).toBe('run\nrun\nrun\n');

    await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'echo up; exit 1'], 'phoenix', {
      HostConfig: { RestartPolicy: { Name: 'always' } },
    });
    const count = async () => (await engine.api('GET', '/containers/phoenix/json')).body.RestartCount as number;
    for (let i = 0; i < 100 && (await count()) < 3; i++) await new Promise((r) => setTimeout(r, 100));
    expect(await count()).toBeGreaterThanOrEqual(3);
    expect((await cli(['ps'])).stdout).toMatch(/(Up|Restarting \(1\)) .* phoenix\n/);
    expect((await cli(['stop', '-t', '1', 'phoenix'])).code).toBe(0);
    const stopped = await count();
    await new Promise((r) => setTimeout(r, 1500));
    expect(await count()).toBe(stopped);
    expect((await engine.api('GET', '/containers/phoenix/json')).body.State.Status).toBe('exited');

    const bad = await engine.api('POST', '/containers/create', {
      Rootfs: TEST_ROOTFS,
      Cmd: ['/bin/true'],
      HostConfig: { RestartPolicy: { Name: 'sometimes' } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^invalid restart policy: unknown policy 'sometimes'/);
    const both = await engine.api('POST', '/containers/create', {
      Rootfs: TEST_ROOTFS,
      Cmd: ['/bin/true'],
      HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } },
    });
    expect(both.status).toBe(400);
    await cli(['rm', 'flaky', 'phoenix']);
  });

  itRoot('AutoRemove removes the container when it exits', async () => {
    const id = await engine.run(TEST_ROOTFS, ['/bin/true'], 'gone', { HostConfig: { AutoRemove: true } });
    await engine.api('POST', `/containers/${id}/wait`);
    for (let i = 0; i < 50 && (await engine.api('GET', `/containers/${id}/json`)).status !== 404; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await engine.api('GET', `/containers/${id}/json`)).status).toBe(404);
    expect(readdirSync(join(engine.state, 'containers'))).not.toContain(id);
  });

  describe('bad input', () => {
    itRoot("an unknown container: 404, docker's words", async () => {
      const r = await engine.api('GET', '/containers/nope/json');
      expect(r.status).toBe(404);
      expect(r.body.message).toBe('No such container: nope');
      const c = await cli(['inspect', 'nope']);
      expect(c.code).toBe(1);
      expect(c.stderr).toContain('Error response from daemon: No such container: nope');
      for (const verb of [
        ['logs', 'nope'],
        ['wait', 'nope'],
        ['stop', 'nope'],
        ['kill', 'nope'],
        ['rm', 'nope'],
      ]) {
        const v = await cli(verb);
        expect([verb, v.code, v.stderr]).toEqual([verb, 1, expect.stringContaining('No such container: nope')]);
      }
    });

    itRoot("a name already in use: 409, docker's words", async () => {
      const first = await engine.api('POST', '/containers/create?name=taken', {
        Rootfs: TEST_ROOTFS,
        Cmd: ['/bin/true'],
      });
      const second = await engine.api('POST', '/containers/create?name=taken', {
        Rootfs: TEST_ROOTFS,
        Cmd: ['/bin/true'],
      });
      expect(second.status).toBe(409);
      expect(second.body.message).toBe(
        `Conflict. The container name "/taken" is already in use by container "${first.body.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
      );
      await engine.api('DELETE', '/containers/taken');
    });

    itRoot('removing a running container without force: 409; with -f it goes', async () => {
      const id = await engine.run(TEST_ROOTFS, ['/bin/sleep', '30'], 'busy');
      const r = await engine.api('DELETE', '/containers/busy');
      expect(r.status).toBe(409);
      expect(r.body.message).toBe(
        `You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`,
      );
      const c = await cli(['rm', 'busy']);
      expect(c.code).toBe(1);
      expect(c.stderr).toContain('You cannot remove a running container');
      expect((await cli(['rm', '-f', 'busy'])).code).toBe(0);
    });

    itRoot('a malformed request: 400 with a message, nothing created', async () => {
      const before = (await engine.api('GET', '/containers/json?all=1')).body.length;
      const bad = await engine.api('POST', '/containers/create', '{"Rootfs": ');
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/^invalid JSON in the request body/);
      const noRoot = await engine.api('POST', '/containers/create', { Cmd: ['/bin/true'] });
      expect(noRoot.status).toBe(400);
      const missing = await engine.api('POST', '/containers/create', {
        Rootfs: TEST_ROOTFS,
        Cmd: ['/bin/nsx-no-such-command'],
      });
      expect(missing.status).toBe(400);
      expect(missing.body.message).toMatch(/executable file not found/);
      const badName = await engine.api('POST', '/containers/create?name=no%20spaces', {
        Rootfs: TEST_ROOTFS,
        Cmd: ['/bin/true'],
      });
      expect(badName.status).toBe(400);
      const badSignal = await engine.api('POST', '/containers/nope/kill?signal=SIGNOPE');
      expect(badSignal.status).toBe(404);
      expect((await engine.api('GET', '/no/such/path')).status).toBe(404);
      expect((await engine.api('GET', '/containers/json?all=1')).body.length).toBe(before);
    });

    itRoot(
      "takes intent, not instructions: a client's spec or plan, or a wrong JSON type, is a 400 naming it",
      async () => {
        const before = (await engine.api('GET', '/containers/json?all=1')).body.length;
        const plan = await engine.api('POST', '/containers/create', {
          Rootfs: TEST_ROOTFS,
          Cmd: ['/bin/true'],
          Nsx: { Step: true, Plan: [] },
        });
        expect(plan.status).toBe(400);
        expect(plan.body.message).toMatch(
          /^Nsx\.Plan is not accepted: the engine builds the plan from the request itself$/,
        );
        expect(plan.body.hint).toMatch(
          /^send intent instead: Docker's fields .* and Nsx \{Step, Observe, PauseAtExit, UnsafeChroot, RunAs, TimeNamespace, TimeOffsets, Swap\}/,
        );
        const spec = await engine.api('POST', '/containers/create', {
          Rootfs: TEST_ROOTFS,
          Cmd: ['/bin/true'],
          Nsx: { Spec: { id: 'x' } },
        });
        expect(spec.status).toBe(400);
        expect(spec.body.message).toMatch(/^Nsx\.Spec is not accepted: the engine builds the spec/);
        for (const [body, message] of [
          [
            { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'], HostConfig: { CapAdd: 'ALL' } },
            'HostConfig.CapAdd must be an array of strings',
          ],
          [{ Rootfs: TEST_ROOTFS, Cmd: ['/bin/true', 2] }, 'Cmd must be an array of strings'],
          [{ Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'], HostConfig: 'host' }, 'HostConfig must be a JSON object'],
          [
            `{"Rootfs": "${TEST_ROOTFS}", "Cmd": ["/bin/true"], "HostConfig": {"NanoCpus": 1e400}}`,
            'HostConfig.NanoCpus must be a whole number',
          ],
          [
            { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'], HostConfig: { Memory: 0.5 } },
            'HostConfig.Memory must be a whole number',
          ],
          [
            { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'], Nsx: { Swap: ['capabilities', 'mount'] } },
            'Nsx.Swap must be two different step ids',
          ],
        ] as const) {
          const r = await engine.api('POST', '/containers/create', body);
          expect([r.status, r.body.message]).toEqual([400, message]);
        }
        const execBad = await engine.api('POST', '/containers/nope/exec', { Cmd: 'ls' });
        expect([execBad.status, execBad.body.message]).toEqual([400, 'Cmd must be an array of strings']);
        expect((await engine.api('GET', '/containers/json?all=1')).body.length).toBe(before);
      },
    );

    itRoot('a client without permission on the socket is refused, and told why', async () => {
      const r = await cli(['ps'], { uid: UNPRIVILEGED_UID });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^nsx: permission denied while trying to connect to the nsx engine socket at unix:\/\//);
      expect(r.stderr).not.toContain('started the engine');
      expect(r.stderr).not.toContain('    at ');
    });
  });

  itRoot('the state file is always whole JSON, however fast it changes', async () => {
    const file = join(engine.state, STATE_FILE);
    let reads = 0;
    let torn: string | undefined;
    let reading = true;
    const reader = (async () => {
      while (reading) {
        const text = readFileSync(file, 'utf8');
        try {
          JSON.parse(text);
        } catch {
          torn = text;
        }
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const ids = await Promise.all(
      Array.from({ length: 20 }, () =>
        engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] }),
      ),
    );
    await Promise.all(ids.map((r) => engine.api('DELETE', `/containers/${r.body.Id}`)));
    reading = false;
    await reader;
    expect(torn).toBeUndefined();
    expect(reads).toBeGreaterThan(0);
    expect(readdirSync(engine.state).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe("a rootless engine (a user's own)", () => {
  const engine = new TestEngine();
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot('runs its containers as that user, through a user namespace, and is theirs alone', async () => {
    await engine.start({ uid: UNPRIVILEGED_UID });
    const { statSync } = await import('node:fs');
    expect(statSync(engine.socket).uid).toBe(UNPRIVILEGED_UID);
    expect(statSync(engine.socket).mode & 0o777).toBe(0o600);
    const id = await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'id -u; sleep 30'], 'rootless');
    const info = (await engine.api('GET', `/containers/${id}/json`)).body;
    expect(parentChain(info.State.Pid)).toContain(engine.process!.pid);
    expect(statSync(`/proc/${info.State.Pid}`).uid).toBe(UNPRIVILEGED_UID); // root inside, the user outside
    expect(info.Nsx.Namespaces.user).not.toBe((await import('node:fs')).readlinkSync('/proc/self/ns/user'));
    const ps = await nsx(['ps', '-q'], { uid: UNPRIVILEGED_UID, env: engine.env });
    expect(ps.stdout).toBe(`${id.slice(0, 12)}\n`);
    expect((await nsx(['rm', '-f', 'rootless'], { uid: UNPRIVILEGED_UID, env: engine.env })).code).toBe(0);
    expect((await engine.api('GET', '/containers/json?all=1')).body).toEqual([]);
  });
});
