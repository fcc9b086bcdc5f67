// `nsx run` is `docker run`: through the engine (the suite's, test/global-setup.ts), create, attach,
// start, wait. The container stays in `nsx ps -a` with its exit code and logs until `nsx rm` (or
// --rm); two runs are two containers; the exit status is the container's; Ctrl-C and kill of nsx
// reach the container (docker's sig-proxy); a run that finds no engine starts one and says so;
// --trace and --events show the same steps as `nsx runtime run` (the runtime in nsx's own process).
import { afterAll, describe, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import { itRoot, NSX, nsx, stripAnsi, TEST_ROOTFS, type NsxResult } from '../helpers.js';
import { alive } from '../engine.js';

const tag = `${process.pid}`;
const named: string[] = [];
/** A container name of this file's own (removed after its tests). */
const nameOf = (what: string) => {
  const n = `run-engine-${what}-${tag}`;
  named.push(n);
  return n;
};

afterAll(async () => {
  if (process.getuid?.() === 0 && named.length) await nsx(['rm', '-f', ...named]);
});

/** `nsx run --rootfs TEST_ROOTFS [options] command…` through the suite's engine. */
const runEngine = (options: string[], command: string[], extra: Parameters<typeof nsx>[1] = {}) =>
  nsx(['run', ...options, '--rootfs', TEST_ROOTFS, ...command], extra);

/** The engine's record of a container (docker inspect), or undefined when there is none. */
async function inspect(name: string): Promise<{ Id: string; State: { Status: string; ExitCode: number } } | undefined> {
  const r = await nsx(['inspect', name]);
  return r.code === 0
    ? (JSON.parse(r.stdout) as { Id: string; State: { Status: string; ExitCode: number } }[])[0]
    : undefined;
}

/** nsx ps -a's row for a container name (docker's columns; the name is the last one). */
async function psRow(name: string): Promise<string | undefined> {
  const r = await nsx(['ps', '-a']);
  expect(r.code).toBe(0);
  return r.stdout.split('\n').find((l) => l.trimEnd().endsWith(` ${name}`));
}

/** The steps as the events tell them: type and step id, in order. */
const steps = (events: RuntimeEvent[]) => events.map((e) => e.type + ('step' in e ? `:${e.step.id}` : ''));

describe('nsx run through the engine', () => {
  itRoot(
    "two plain runs are two containers, kept in ps -a with their exit codes; nsx's status is the container's",
    async () => {
      const [a, b] = [nameOf('four'), nameOf('five')];
      const ra = await runEngine(['--name', a], ['/bin/sh', '-c', 'exit 4']);
      const rb = await runEngine(['--name', b], ['/bin/sh', '-c', 'exit 5']);
      expect([ra.code, rb.code]).toEqual([4, 5]);
      const [ia, ib] = [await inspect(a), await inspect(b)];
      expect(ia?.State).toMatchObject({ Status: 'exited', ExitCode: 4 });
      expect(ib?.State).toMatchObject({ Status: 'exited', ExitCode: 5 });
      expect(ia!.Id).not.toBe(ib!.Id);
      // The events came from the engine's run of that very container.
      expect(ra.events.find((e) => e.type === 'created')).toMatchObject({ id: ia!.Id });
      expect(await psRow(a)).toMatch(/Exited \(4\)/);
      expect(await psRow(b)).toMatch(/Exited \(5\)/);
    },
  );

  itRoot('--rm leaves no container behind', async () => {
    const n = nameOf('removed');
    const r = await runEngine(['--rm', '--name', n], ['/bin/sh', '-c', 'echo bye; exit 3']);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: 'bye\n' });
    expect(await inspect(n)).toBeUndefined();
    expect(await psRow(n)).toBeUndefined();
  });

  itRoot('nsx logs shows what an exited container wrote, stdout to stdout and stderr to stderr', async () => {
    const n = nameOf('logs');
    const r = await runEngine(['--name', n], ['/bin/sh', '-c', 'echo to out; echo to err >&2; exit 2']);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: 'to out\n' });
    expect(r.stderr).toContain('to err');
    const logs = await nsx(['logs', n]);
    expect({ code: logs.code, stdout: logs.stdout, stderr: logs.stderr }).toEqual({
      code: 0,
      stdout: 'to out\n',
      stderr: 'to err\n',
    });
  });

  itRoot('an OOM kill: 137, in ps -a and as the status, and nsx says the OOM killer did it', async () => {
    const n = nameOf('oom');
    const r = await runEngine(['--name', n, '-m', '32m'], ['/probe', 'memhog', '100']);
    expect(r.code).toBe(137);
    expect(r.stderr).toMatch(/killed by the kernel's OOM killer \(memory limit 33554432 bytes\)/);
    expect(r.events.find((e) => e.type === 'exited')).toMatchObject({ exitCode: 137, oomKilled: true });
    expect(await psRow(n)).toMatch(/Exited \(137\)/);
  });

  itRoot('bad input is refused before anything is made: 125, two lines, no container', async () => {
    const n = nameOf('refused');
    const r = await runEngine(['--name', n, '--cap-add', 'NOPE'], ['/bin/true']);
    expect(r.code).toBe(125);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(2);
    expect(r.stderr).toMatch(/^nsx: .*--cap-add NOPE/);
    expect(r.events).toEqual([]);
    expect(await inspect(n)).toBeUndefined();
  });
});

/** nsx run in a session of its own (signals meant for it cannot reach jest), running until `signal`. */
async function signalled(
  name: string,
  command: string[],
  signal: NodeJS.Signals,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [NSX, 'run', '--name', name, '--rootfs', TEST_ROOTFS, ...command], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 30000);
  try {
    for (const end = Date.now() + 15000; (await inspect(name))?.State.Status !== 'running'; await sleep(50))
      if (Date.now() > end || child.exitCode !== null) throw new Error(`${name} did not start: ${stderr}`);
    child.kill(signal);
    return { code: await exited, stdout, stderr: stripAnsi(stderr) };
  } finally {
    clearTimeout(killer);
  }
}

describe("nsx run passes Ctrl-C and kill on to the container (docker's sig-proxy)", () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    itRoot(`${signal} of nsx run: the container ends, ${code} in ps -a and as nsx's status`, async () => {
      // sleep as PID 1 has no handler, so the kernel drops the signal (pid_namespaces(7)): nsx kills it after the grace.
      const n = nameOf(signal.toLowerCase());
      const r = await signalled(n, ['/bin/sleep', '30'], signal);
      expect(r.code).toBe(code);
      expect((await inspect(n))?.State).toMatchObject({ Status: 'exited', ExitCode: code });
    });
  }

  itRoot('the signal reaches the container: a handler in PID 1 runs and decides the exit status', async () => {
    const n = nameOf('trap');
    const trap = 'trap "echo got TERM; exit 3" TERM; while :; do sleep 0.1; done';
    const r = await signalled(n, ['/bin/sh', '-c', trap], 'SIGTERM');
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 3, stdout: 'got TERM\n' });
    expect((await inspect(n))?.State).toMatchObject({ Status: 'exited', ExitCode: 3 });
  });
});

describe('nsx run and the steps', () => {
  itRoot('--events: the same steps, in the same order, as nsx runtime run', async () => {
    const viaEngine = await nsx(['run', '--rm', '--rootfs', TEST_ROOTFS, '/bin/true']);
    const inProcess = await nsx(['runtime', 'run', '--rootfs', TEST_ROOTFS, '/bin/true']);
    expect([viaEngine.code, inProcess.code]).toEqual([0, 0]);
    expect(steps(viaEngine.events).length).toBeGreaterThan(10);
    expect(steps(viaEngine.events)).toEqual(steps(inProcess.events));
    // Observed, as in process: evidence after every step before exec.
    const withEvidence = (r: NsxResult) =>
      r.events.filter((e) => e.type === 'step-applied' && e.evidence && e.step.id !== 'exec').map((e) => e.type);
    expect(withEvidence(viaEngine)).toEqual(withEvidence(inProcess));
    expect(withEvidence(viaEngine).length).toBeGreaterThan(10);
  });

  itRoot('--trace: the same steps printed as nsx runtime run prints them', async () => {
    const headings = (r: NsxResult) => r.stderr.match(/^\[\d+\/\d+\] .*$/gm) ?? [];
    const viaEngine = await nsx(['run', '--rm', '--trace', '--rootfs', TEST_ROOTFS, '/bin/echo', 'hi'], {
      events: false,
    });
    const inProcess = await nsx(['runtime', 'run', '--trace', '--rootfs', TEST_ROOTFS, '/bin/echo', 'hi'], {
      events: false,
    });
    expect([viaEngine.code, viaEngine.stdout, inProcess.code, inProcess.stdout]).toEqual([0, 'hi\n', 0, 'hi\n']);
    expect(headings(viaEngine).length).toBeGreaterThan(10);
    expect(headings(viaEngine)).toEqual(headings(inProcess));
  });
});

describe('nsx run without an engine', () => {
  itRoot('starts one, says so, and runs the container there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nsx-run-engine-'));
    const env = { NSX_ENGINE_SOCKET: join(dir, 'nsxd.sock'), NSX_ENGINE_STATE: join(dir, 'state') };
    let pid = 0;
    try {
      const r = await nsx(['run', '--rootfs', TEST_ROOTFS, '/bin/sh', '-c', 'exit 6'], { env });
      const said = r.stderr.match(/^nsx: started the engine \(nsxd, pid (\d+)\)$/m);
      expect(said).not.toBeNull();
      pid = Number(said![1]);
      expect(r.code).toBe(6);
      const ps = await nsx(['ps', '-a'], { env });
      expect(ps.stdout).toMatch(/Exited \(6\)/);
    } finally {
      if (pid && alive(pid)) {
        process.kill(pid, 'SIGTERM'); // the engine this test started: its containers go with it
        for (const end = Date.now() + 10000; alive(pid) && Date.now() < end;) await sleep(50);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
