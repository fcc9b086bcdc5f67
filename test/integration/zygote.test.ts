// The engine's shims' zygote (src/runtime/zygote.ts, "the zygote" in shim/nsx-shim.c): a shim it
// forks is set up as one Node spawns, runs a container with its streams over the engine's socket,
// and has its end reported; a connection with a token it did not give is closed; its death is said
// in the log and the next shim comes from a new one, as when it does not answer in time; and a
// SIGKILLed engine leaves nothing behind.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostFacts } from '../../src/runtime/host.js';
import { specFromRunOptions } from '../../src/runtime/options.js';
import { buildPlan } from '../../src/runtime/plan.js';
import { Container } from '../../src/runtime/runtime.js';
import { compileForHost, loadSeccomp } from '../../src/runtime/seccomp-host.js';
import { Shim, spawnLauncher } from '../../src/runtime/shim.js';
import { ZygoteLauncher } from '../../src/runtime/zygote.js';
import { TestEngine, alive, ppidOf, until } from '../engine.js';
import { TEST_ROOTFS, isRoot, itRoot } from '../helpers.js';
import { leftBy } from '../leaks.js';

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);

/** What Node's spawn sets up in a child and the zygote's child must too: signal mask and
 *  dispositions, environment, and the kinds of its descriptors. */
function setUp(pid: number) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const signals = status.split('\n').filter((l) => /^Sig(Blk|Ign|Cgt):/.test(l));
  const fds = readdirSync(`/proc/${pid}/fd`)
    .map(Number)
    .sort((a, b) => a - b)
    .map((fd) => `${fd} ${readlinkSync(`/proc/${pid}/fd/${fd}`).replace(/\[\d+\]$/, '')}`);
  // The open(2) flags of the standard streams (fdinfo: octal; /dev/null read-only as fd 0, as libuv opens it).
  const flags = [0, 1, 2].map((fd) => /^flags:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1]);
  return { signals, environ: readFileSync(`/proc/${pid}/environ`, 'utf8'), fds, flags };
}

describe("the shims' zygote", () => {
  let dir = '';
  let launcher: ZygoteLauncher;
  const log: string[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'nsx-zygote-'));
    chmodSync(dir, 0o700);
    launcher = new ZygoteLauncher(join(dir, 'shims.sock'), (line) => log.push(line));
  });
  afterAll(async () => {
    await launcher?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  itRoot(
    'forks a shim set up as Node spawns one: signals, an empty environment, fds 0-4 of the same kinds',
    async () => {
      const spawned = await Shim.start(['ignore', 'pipe', 'pipe'], undefined, spawnLauncher);
      const forked = await Shim.start(['ignore', 'pipe', 'pipe'], undefined, launcher);
      try {
        expect(ppidOf(spawned.process.pid)).toBe(process.pid);
        expect(ppidOf(forked.process.pid)).toBe(launcher.pid);
        expect(cmdline(launcher.pid!)).toEqual([expect.stringMatching(/\/nsx-shim$/), 'zygote', launcher.socketPath]);
        expect(cmdline(forked.process.pid)).toEqual([expect.stringMatching(/\/nsx-shim$/)]);
        const comm = (pid: number) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        expect([comm(launcher.pid!), comm(forked.process.pid), comm(forked.pid)]).toEqual([
          'nsx-shim-zygote',
          'nsx-shim',
          'nsx-shim',
        ]);
        // Settled: each worker has answered an instruction (it closed the supervisor's descriptors before
        // reading any), each supervisor made its signalfd (after its hello).
        for (const x of [spawned, forked]) {
          await x.call({ op: 'observe' });
          await until(() => setUp(x.process.pid).fds.includes('3 anon_inode:[signalfd]'), 3000);
        }
        // Spawned, a shim also inherits whatever its parent left without close-on-exec (here a pipe of
        // jest's): forked, it has the supervisor's own descriptors only.
        const ownFds = (x: ReturnType<typeof setUp>) => ({
          ...x,
          fds: x.fds.filter((l) => Number(l.split(' ')[0]) < 10),
        });
        const [s, f] = [setUp(spawned.process.pid), setUp(forked.process.pid)];
        expect(f).toEqual(ownFds(s));
        expect(f.environ).toBe('');
        expect(f.fds).toEqual([
          '0 /dev/null',
          '1 socket:',
          '2 socket:',
          '3 anon_inode:[signalfd]',
          '4 socket:',
          '5 socket:',
        ]);
        // The workers, forked by each supervisor: the same too.
        expect(setUp(forked.pid)).toEqual(ownFds(setUp(spawned.pid)));
      } finally {
        for (const s of [spawned, forked]) {
          s.close();
          await s.gone();
        }
      }
    },
  );

  itRoot("reports the shim's end: its own exit code, or the signal that killed it", async () => {
    const s = await Shim.start('ignore', undefined, launcher);
    s.process.cmd.end(); // EOF on fd 3: the worker exits 125, the supervisor reports it
    expect(await s.waitExit()).toEqual({ code: 125 });
    s.close();
    expect(await s.process.exited).toEqual({ code: 0 }); // the supervisor's own, after nsx closed fd 4
    const k = await Shim.start('ignore', undefined, launcher);
    process.kill(k.process.pid, 'SIGKILL');
    expect(await k.process.exited).toEqual({ signal: 9 });
    expect(await k.waitExit()).toEqual({ signal: 9 });
    expect(await until(() => !alive(k.pid), 3000)).toBe(true); // the worker: PR_SET_PDEATHSIG
    k.close();
  });

  itRoot("runs a container with its streams over the engine's socket: stdin, stdout, stderr, exit code", async () => {
    const spec = specFromRunOptions({
      rootfs: TEST_ROOTFS,
      command: ['/bin/sh', '-c', 'read x; echo "out $x"; echo err >&2; ls /proc/self/fd; exit 3'],
      loadSeccomp,
      root: true,
    });
    const plan = buildPlan(spec, hostFacts(spec.root.path, compileForHost));
    const c = new Container(spec, plan, ['pipe', 'pipe', 'pipe'], false, undefined, undefined, launcher);
    let out = '';
    let err = '';
    const result = c.run({
      spawned: (x) => {
        x.stdout!.on('data', (d: Buffer) => (out += d));
        x.stderr!.on('data', (d: Buffer) => (err += d));
        x.stdin!.end('in\n');
      },
    });
    expect(await result).toEqual({ exitCode: 3, oomKilled: false });
    await until(() => /\n$/.test(out) && err === 'err\n', 2000);
    expect(out.split('\n')[0]).toBe('out in');
    expect(out.split('\n').slice(1).filter(Boolean)).toEqual(['0', '1', '2', '3']); // 3: ls's own directory
    expect(err).toBe('err\n');
  });

  itRoot(
    'closes a connection whose token it did not give, and only its own socket, mode 0600, takes them',
    async () => {
      const s = await Shim.start('ignore', undefined, launcher); // the socket exists once a shim was asked for
      try {
        expect(statSync(launcher.socketPath).mode & 0o777).toBe(0o600);
        for (const hello of [`${'0'.repeat(32)} 3\n`, 'hello\n'.repeat(10)]) {
          const sock = connect(launcher.socketPath);
          sock.on('error', () => {});
          let heard = '';
          sock.on('data', (d) => (heard += d));
          sock.write(hello);
          await new Promise((r) => sock.once('close', r));
          expect(heard).toBe('');
        }
        // A token that was given, used again for a channel it already has: closed too.
        const second = await Shim.start('ignore', undefined, launcher);
        expect(second.pid).toBeGreaterThan(0);
        second.close();
        await second.gone();
      } finally {
        s.close();
        await s.gone();
      }
    },
  );

  itRoot('dies: the engine says so, its shims run on, the next shim comes from a new zygote', async () => {
    const s = await Shim.start('ignore', undefined, launcher);
    const first = launcher.pid!;
    process.kill(first, 'SIGKILL');
    expect(await until(() => log.some((l) => l.includes(`zygote (pid ${first}) ended (SIGKILL)`)), 3000)).toBe(true);
    expect(alive(s.process.pid)).toBe(true);
    const next = await Shim.start('ignore', undefined, launcher);
    expect(launcher.pid).not.toBe(first);
    expect(ppidOf(next.process.pid)).toBe(launcher.pid);
    for (const x of [s, next]) {
      x.close();
      await x.gone();
    }
    expect(await s.waitExit()).toEqual({ code: 125 }); // its end could no longer be told: never 0
    expect(await until(() => !alive(s.process.pid) && !alive(s.pid), 3000)).toBe(true);
  });
});

describe("a shims' zygote that does not answer", () => {
  itRoot('is given up after its timeout: said, killed, that shim spawned, the next from a new zygote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsx-zygote-'));
    chmodSync(dir, 0o700);
    const log: string[] = [];
    const launcher = new ZygoteLauncher(join(dir, 'shims.sock'), (line) => log.push(line), 300);
    const shims: Shim[] = [];
    try {
      await launcher.prepare();
      const stuck = launcher.pid!;
      process.kill(stuck, 'SIGSTOP');
      shims.push(await Shim.start('ignore', undefined, launcher));
      expect(ppidOf(shims[0].process.pid)).toBe(process.pid); // spawned
      expect(log).toContain(`the shims' zygote (pid ${stuck}) started no shim within 300 ms: killing it`);
      expect(await until(() => log.some((l) => l.includes(`zygote (pid ${stuck}) ended (SIGKILL)`)), 3000)).toBe(true);
      expect(alive(stuck)).toBe(false);
      shims.push(await Shim.start('ignore', undefined, launcher));
      expect(launcher.pid).not.toBe(stuck);
      expect(ppidOf(shims[1].process.pid)).toBe(launcher.pid);
    } finally {
      for (const s of shims) {
        s.close();
        await s.gone();
      }
      await launcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("an engine's zygote", () => {
  const engine = new TestEngine();
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot('SIGKILL of the engine: the zygote, the supervisors and the containers go, and nothing is left', async () => {
    if (!isRoot) return;
    await engine.start();
    const ids = [
      await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'z-a'),
      await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'z-b', { HostConfig: { Memory: 64 << 20 } }),
    ];
    const pid1s = await Promise.all(
      ids.map(async (id) => (await engine.api('GET', `/containers/${id}/json`)).body.State.Pid as number),
    );
    const supervisors = pid1s.map(ppidOf);
    const zygote = ppidOf(supervisors[0]);
    expect(ppidOf(supervisors[1])).toBe(zygote);
    expect(ppidOf(zygote)).toBe(engine.process!.pid);
    expect(cmdline(zygote)).toEqual([expect.stringMatching(/\/nsx-shim$/), 'zygote', join(engine.state, 'shims.sock')]);
    await engine.stop('SIGKILL');
    expect(await until(() => ![zygote, ...supervisors, ...pid1s].some(alive), 5000)).toBe(true);
    for (const id of ids) expect(await leftBy(id)).toEqual({ cgroups: [], mounts: [], containers: [], processes: [] });
  });

  itRoot('its zygote killed: the engine says so in its log, its containers run on, the next one starts', async () => {
    await engine.start();
    const a = await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'z-c');
    const pid1 = (await engine.api('GET', `/containers/${a}/json`)).body.State.Pid as number;
    const zygote = ppidOf(ppidOf(pid1));
    process.kill(zygote, 'SIGKILL');
    expect(await until(() => engine.log.includes(`zygote (pid ${zygote}) ended (SIGKILL)`), 3000)).toBe(true);
    expect(alive(pid1)).toBe(true);
    const b = await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'echo again'], 'z-d');
    expect((await engine.api('POST', `/containers/${b}/wait`)).body.StatusCode).toBe(0);
    expect((await engine.api('DELETE', `/containers/${a}?force=1`)).status).toBe(204);
    expect((await engine.api('DELETE', `/containers/${b}`)).status).toBe(204);
    expect(await until(() => !alive(pid1), 3000)).toBe(true);
    for (const id of [a, b])
      expect(await leftBy(id)).toEqual({ cgroups: [], mounts: [], containers: [], processes: [] });
  });
});
