// The engine's containers with input and a terminal, docker run's and docker exec's ways (issue 5):
// nsx run -d|-i|-t|--restart and nsx create through the engine, nsx exec joining a running
// container (its hostname, PID namespace, cgroup and security settings), attach over the API
// (docker's hijacked stream), and nsx run --step through the engine, seen by ps and inspect.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { FrameDecoder } from '../../src/engine/stream.js';
import { TestEngine, until } from '../engine.js';
import { NSX, TEST_ROOTFS, isRoot, itRoot, nsx } from '../helpers.js';

describe('nsx run, exec and attach through the engine', () => {
  const engine = new TestEngine();
  const cli = (args: string[], extra: Parameters<typeof nsx>[1] = {}) =>
    nsx(args, { events: false, ...extra, env: { ...engine.env, ...extra.env } });
  const inspect = async (name: string) => (await engine.api('GET', `/containers/${name}/json`)).body;

  beforeAll(async () => {
    if (isRoot) await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot(
    "run -t gives the command a terminal of the container's own (tty names /dev/pts/N) and its exit code",
    async () => {
      const r = await cli([
        'run',
        '-t',
        '--rm',
        '--rootfs',
        TEST_ROOTFS,
        '/bin/sh',
        '-c',
        'tty; test -t 0 && test -t 1 && echo both; exit 4',
      ]);
      expect(r.code).toBe(4);
      expect(r.stdout).toMatch(/^\/dev\/pts\/\d+\r\nboth\r\n$/); // a terminal turns \n into \r\n (termios onlcr)
    },
  );

  itRoot('run -i sends its input to the command; stdout and stderr stay apart; --rm removes it', async () => {
    const r = await cli(
      [
        'run',
        '-i',
        '--rm',
        '--name',
        'reader',
        '--rootfs',
        TEST_ROOTFS,
        '/bin/sh',
        '-c',
        'read a; read b; echo "got $a $b"; echo oops >&2; exit 3',
      ],
      { input: 'one\ntwo\n' },
    );
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: 'got one two\n' });
    expect(r.stderr).toContain('oops\n');
    expect((await engine.api('GET', '/containers/reader/json')).status).toBe(404);
  });

  itRoot(
    'run -d prints the id and returns; exec joins its hostname, PID namespace, cgroup, capabilities and seccomp filter',
    async () => {
      const d = await cli([
        'run',
        '-d',
        '--name',
        'web',
        '-h',
        'webhost',
        '--cap-drop',
        'NET_RAW',
        '--rootfs',
        TEST_ROOTFS,
        '/bin/sleep',
        '60',
      ]);
      expect(d.code).toBe(0);
      expect(d.stdout).toMatch(/^[0-9a-f]{64}\n$/);
      const info = await inspect('web');
      expect(info.State.Running).toBe(true);
      const pid1 = info.State.Pid;
      // The exec'd shell: the container's hostname, PID 1 is the container's sleep, its own PID is not
      // 1, and the same namespaces, cgroup and security settings as PID 1 (read from /proc inside).
      const script =
        'hostname; echo "self $$"; cat /proc/1/cmdline | tr "\\0" " "; echo; for n in pid mnt uts net; do readlink /proc/self/ns/$n; done; grep -E "^(CapEff|Seccomp|NoNewPrivs):" /proc/self/status; cat /proc/self/cgroup';
      const e = await cli(['exec', 'web', '/bin/sh', '-c', script]);
      expect(e.code).toBe(0);
      const lines = e.stdout.split('\n');
      expect(lines[0]).toBe('webhost');
      expect(lines[1]).toMatch(/^self (\d+)$/);
      expect(lines[1]).not.toBe('self 1');
      expect(lines[2].trim()).toBe('/bin/sleep 60');
      for (const ns of ['pid', 'mnt', 'uts', 'net']) expect(e.stdout).toContain(readlinkSync(`/proc/${pid1}/ns/${ns}`));
      const status = readFileSync(`/proc/${pid1}/status`, 'utf8');
      for (const field of ['CapEff', 'Seccomp', 'NoNewPrivs'])
        expect(e.stdout).toContain(status.match(new RegExp(`^${field}:.*$`, 'm'))![0]);
      // In the container's cgroup namespace, whose root is the container's cgroup: a process in that
      // cgroup sees "/" (one outside it would see a path like /../..), in every hierarchy it has.
      const own = readFileSync(`/proc/${pid1}/cgroup`, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l.includes(`/nsx/${info.Id}`))
        .map((l) => l.split(':').slice(0, 2).join(':'));
      expect(own.length).toBeGreaterThan(0);
      for (const h of own) expect(e.stdout).toContain(`${h}:/\n`);
      // exec's exit code, and docker's 127 for a command that is not there.
      expect((await cli(['exec', 'web', '/bin/sh', '-c', 'exit 6'])).code).toBe(6);
      const missing = await cli(['exec', 'web', 'no-such-program']);
      expect(missing.code).toBe(127);
      expect(missing.stderr).toMatch(/no-such-program.*not found/);
      // -t: a terminal from the container's devpts for the exec'd command too.
      const t = await cli(['exec', '-t', 'web', 'tty']);
      expect(t.stdout).toMatch(/^\/dev\/pts\/\d+\r\n$/);
      // -i: input to the exec'd command.
      expect((await cli(['exec', '-i', 'web', '/bin/cat'], { input: 'through exec\n' })).stdout).toBe('through exec\n');
      expect((await cli(['rm', '-f', 'web'])).code).toBe(0);
      const stopped = await cli(['exec', 'web', 'true']);
      expect(stopped.code).toBe(1);
      expect(stopped.stderr).toContain('No such container: web');
    },
  );

  itRoot(
    "a container dies with its supervisor: SIGKILL of the shim's supervisor (a process-group kill, a service manager) leaves no container running",
    async () => {
      const id = await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'orphan');
      const pid1 = (await inspect(id)).State.Pid;
      const supervisor = Number(readFileSync(`/proc/${pid1}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      expect(readFileSync(`/proc/${supervisor}/cmdline`, 'utf8')).toContain('nsx-shim');
      process.kill(supervisor, 'SIGKILL');
      const gone = () => {
        try {
          return /^State:\s+Z/m.test(readFileSync(`/proc/${pid1}/status`, 'utf8'));
        } catch {
          return true;
        }
      };
      expect(await until(gone, 5000)).toBe(true); // the kernel's parent-death signal, then the PID namespace's end
      for (const end = Date.now() + 5000; (await inspect(id)).State.Status !== 'exited' && Date.now() < end;)
        await sleep(50);
      expect((await inspect(id)).State.Status).toBe('exited');
      await engine.api('DELETE', `/containers/${id}?force=1`);
    },
  );

  itRoot("exec into a container that is not running: docker's 409", async () => {
    await engine.api('POST', '/containers/create?name=idle', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'] });
    const r = await engine.api('POST', '/containers/idle/exec', { Cmd: ['true'] });
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/^Container [0-9a-f]{64} is not running$/);
    await engine.api('DELETE', '/containers/idle');
  });

  itRoot('run --restart on-failure:2 restarts it twice, then it stays exited', async () => {
    const r = await cli([
      'run',
      '--restart',
      'on-failure:2',
      '--name',
      'flaky2',
      '--rootfs',
      TEST_ROOTFS,
      '/bin/sh',
      '-c',
      'echo run; exit 1',
    ]);
    expect(r.code).toBe(1); // docker run returns at the first exit; the engine restarts it
    expect(await until(() => false, 1500)).toBe(false);
    const w = await engine.api('POST', '/containers/flaky2/wait');
    expect(w.body.StatusCode).toBe(1);
    const info = await inspect('flaky2');
    expect({ RestartCount: info.RestartCount, Status: info.State.Status }).toEqual({
      RestartCount: 2,
      Status: 'exited',
    });
    expect((await cli(['logs', 'flaky2'])).stdout).toBe('run\nrun\nrun\n');
    await cli(['rm', 'flaky2']);
  });

  itRoot('create makes it without starting it; start -a runs it and exits with its code', async () => {
    const c = await cli(['create', '--name', 'later', '--rootfs', TEST_ROOTFS, '/bin/sh', '-c', 'echo later; exit 2']);
    expect(c.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expect((await inspect('later')).State.Status).toBe('created');
    const s = await cli(['start', '-a', 'later']);
    expect({ code: s.code, stdout: s.stdout }).toEqual({ code: 2, stdout: 'later\n' });
    await cli(['rm', 'later']);
  });

  itRoot('bad options are refused before anything is made', async () => {
    const r = await cli(['run', '-d', '--restart', 'sometimes', '--rootfs', TEST_ROOTFS, '/bin/true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/--restart sometimes: invalid restart policy/);
    const ids = async () =>
      ((await engine.api('GET', '/containers/json?all=1')).body as { Id: string }[]).map((c) => c.Id);
    const before = await ids();
    const s = await cli(['run', '-d', '--step', '--rootfs', TEST_ROOTFS, '/bin/true']);
    expect(s.stderr).toMatch(/--step cannot be used with -d/);
    expect(await ids()).toEqual(before);
  });

  itRoot(
    "nsx attach: a -d -i container's output here and this input to it, until it exits; a stopped one is refused",
    async () => {
      expect(
        (
          await cli([
            'run',
            '-d',
            '-i',
            '--name',
            'asker',
            '--rootfs',
            TEST_ROOTFS,
            '/bin/sh',
            '-c',
            'read l; echo "got $l"; exit 5',
          ])
        ).code,
      ).toBe(0);
      const a = await cli(['attach', 'asker'], { input: 'an answer\n' });
      expect({ code: a.code, stdout: a.stdout }).toEqual({ code: 5, stdout: 'got an answer\n' });
      const again = await cli(['attach', 'asker']);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/You cannot attach to a stopped container, start it first/);
      await cli(['rm', 'asker']);
    },
  );

  itRoot("attach over the API: docker's hijacked stream (101, then output one way and input the other)", async () => {
    const c = await engine.api('POST', '/containers/create?name=echoer', {
      Rootfs: TEST_ROOTFS,
      Cmd: ['/bin/sh', '-c', 'read l; echo "out $l"; echo "err $l" >&2'],
      OpenStdin: true,
      StdinOnce: true,
    });
    expect(c.status).toBe(201);
    const { socket, head, status } = await new Promise<{ socket: Socket; head: Buffer; status: string }>(
      (resolve, reject) => {
        const req = request({
          socketPath: engine.socket,
          method: 'POST',
          path: '/containers/echoer/attach?stream=1&stdin=1&stdout=1&stderr=1',
          headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
        });
        req.on('upgrade', (res, s, h) =>
          resolve({ socket: s as Socket, head: h, status: `${res.statusCode} ${res.headers['content-type']}` }),
        );
        req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
        req.on('error', reject);
        req.end();
      },
    );
    expect(status).toBe('101 application/vnd.docker.multiplexed-stream');
    const got = { stdout: '', stderr: '' };
    const decoder = new FrameDecoder((s, d) => (got[s === 1 ? 'stdout' : 'stderr'] += d));
    decoder.push(head);
    socket.on('data', (d: Buffer) => decoder.push(d));
    const closed = new Promise((r) => socket.on('close', r));
    socket.write('hello\n');
    socket.end(); // the input ends; the output goes on until the container exits
    expect((await engine.api('POST', '/containers/echoer/start')).status).toBe(204);
    await closed;
    expect(got).toEqual({ stdout: 'out hello\n', stderr: 'err hello\n' });
    await engine.api('DELETE', '/containers/echoer');
  });

  itRoot('run --step goes through the engine: ps and inspect show the half-built container and its step', async () => {
    const child = spawn(
      process.execPath,
      [NSX, 'run', '--step', '--name', 'halfway', '--rootfs', TEST_ROOTFS, '/bin/true'],
      { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, ...engine.env, NO_COLOR: '1' } },
    );
    child.stdin.on('error', () => {});
    const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    try {
      let step: any;
      for (const end = Date.now() + 15000; !step?.Paused && Date.now() < end; await sleep(50))
        step = (await inspect('halfway'))?.Nsx?.Step;
      expect(step).toEqual(expect.objectContaining({ Index: 1, Id: 'cgroup', Paused: true, Applied: [] }));
      child.stdin.write('\n\n\n'); // cgroup, devices; userns is skipped as root: namespaces next
      for (const end = Date.now() + 15000; Date.now() < end; await sleep(50)) {
        step = (await inspect('halfway')).Nsx.Step;
        if (step?.Paused && step.Applied.includes('namespaces')) break;
      }
      expect(step.Applied).toEqual(['cgroup', 'devices', 'namespaces']);
      expect(step.Pid).toBeGreaterThan(0);
      // The shim has made its namespaces: the host sees them on the paused process.
      expect(readlinkSync(`/proc/${step.Pid}/ns/uts`)).not.toBe(readlinkSync('/proc/self/ns/uts'));
      const ps = await cli(['ps']);
      expect(ps.stdout).toMatch(
        new RegExp(`Created, paused before step ${step.Index}/${step.Total} \\(${step.Id}\\) .*halfway`),
      );
      child.stdin.end('q\n');
      expect(await exited).toBe(130);
      expect((await engine.api('GET', '/containers/halfway/json')).status).toBe(404); // removed, as nsx run's containers are
    } finally {
      child.kill('SIGKILL');
    }
  });
});
