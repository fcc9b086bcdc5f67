// Arguments and environment on the real kernel: what execve(2) would take runs, whatever its size;
// what it refuses (E2BIG: in all more than a quarter of the stack limit, or one string over
// MAX_ARG_STRLEN, 128 KiB) is docker's "argument list too long" with 126; a message over the shim's
// own limit is an error reply. Never exit 0 for a command that did not run.
import { afterAll, beforeAll, describe, expect } from '@jest/globals';
import { readFileSync, rmSync } from 'node:fs';
import type { RuntimeEvent } from '../../src/runtime/events.js';
import { hostFacts } from '../../src/runtime/host.js';
import { specFromRunOptions } from '../../src/runtime/options.js';
import { buildPlan } from '../../src/runtime/plan.js';
import { Container } from '../../src/runtime/runtime.js';
import { compileForHost, loadSeccomp } from '../../src/runtime/seccomp-host.js';
import { Shim, ShimError } from '../../src/runtime/shim.js';
import { TestEngine } from '../engine.js';
import { eventsOf, isRoot, itRoot, run, TEST_ROOTFS } from '../helpers.js';

/** The kernel's limit for execve's strings in all (fs/exec.c, bprm_stack_limits): a quarter of the
 *  stack limit nsx (and so the container) runs with, never more than 3/4 of _STK_LIM (6 MiB): 2 MiB
 *  under the usual 8 MiB. Over it: this much more. */
const stack = /^Max stack size\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 'unlimited';
const ARG_LIMIT = Math.min(6 << 20, stack === 'unlimited' ? Infinity : Number(stack) / 4);
const overLimit = () => Array.from({ length: Math.ceil((ARG_LIMIT + (1 << 20)) / 1024) }, () => 'z'.repeat(1023));

/** The runtime of `nsx run`, in this process: spec, plan, Container.run, the output collected. */
async function runInProcess(command: string[], env: string[] = []) {
  const spec = specFromRunOptions({ rootfs: TEST_ROOTFS, command, env, loadSeccomp, root: true });
  const plan = buildPlan(spec, hostFacts(spec.root.path, compileForHost));
  const c = new Container(spec, plan, ['ignore', 'pipe', 'pipe'], false);
  const events: RuntimeEvent[] = [];
  c.on((e) => events.push(e));
  let stdout = '';
  const result = await c.run({ spawned: (x) => x.stdout?.on('data', (d) => (stdout += d)) });
  return { result, events, stdout };
}

describe('arguments and environment', () => {
  itRoot('5,000 arguments run (nsx run): the command sees every one', async () => {
    const args = Array.from({ length: 5000 }, (_, i) => `a${i}`);
    const r = await run([], ['/bin/sh', '-c', 'echo "$@" | wc -w', 'sh', ...args]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('5000');
  });

  itRoot('1.5 MiB of environment, within the kernel limit, runs (nsx run)', async () => {
    // Fifteen variables of 100 KiB: each under MAX_ARG_STRLEN, 1.5 MiB in all, under ARG_MAX (2 MiB).
    const names = Array.from({ length: 15 }, (_, i) => `BIG${i}`);
    const value = 'x'.repeat(100 * 1024);
    const env = Object.fromEntries(names.map((n) => [n, value]));
    const r = await run(
      names.flatMap((n) => ['-e', n]),
      ['/bin/sh', '-c', 'env | grep "^BIG" | wc -c'],
      { env },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Number(r.stdout.trim())).toBe(15 * ('BIG0='.length + value.length + 1) + 5); // BIG10..BIG14: one character more
  });

  itRoot('5,000 arguments and 1.5 MiB of environment run in process (the runtime of nsx run)', async () => {
    const args = Array.from({ length: 5000 }, (_, i) => `a${i}`);
    const env = Array.from({ length: 15 }, (_, i) => `BIG${i}=${'y'.repeat(100 * 1024)}`);
    const { result, stdout } = await runInProcess(
      ['/bin/sh', '-c', 'echo $# $(env | grep -c "^BIG")', 'sh', ...args],
      env,
    );
    expect(result).toEqual({ exitCode: 0, oomKilled: false });
    expect(stdout.trim()).toBe('5000 15');
  });

  itRoot(
    `${(ARG_LIMIT >> 20) + 1} MiB of arguments, over the kernel's limit (${ARG_LIMIT >> 20} MiB): 126, "argument list too long"`,
    async () => {
      const args = overLimit();
      const { result, events } = await runInProcess(['/bin/echo', ...args]);
      expect(result.exitCode).toBe(126);
      expect(result.error?.message).toMatch(/^exec \/bin\/echo: argument list too long \(E2BIG\)$/);
      expect(result.error?.info.hint).toMatch(/quarter of the stack limit/);
      expect(eventsOf({ events } as never, 'started')).toEqual([]); // the command never ran
      expect(eventsOf({ events } as never, 'step-failed')[0].error.errnoName).toBe('E2BIG');
    },
  );

  itRoot('one string over MAX_ARG_STRLEN (128 KiB): 126, "argument list too long"', async () => {
    const { result } = await runInProcess(['/bin/echo', 'w'.repeat(128 * 1024 + 1)]);
    expect(result.exitCode).toBe(126);
    expect(result.error?.message).toBe('exec /bin/echo: argument list too long (E2BIG)');
  });

  itRoot("a message over the shim's limit is answered EMSGSIZE, never read as EOF", async () => {
    const shim = await Shim.start('ignore');
    try {
      const huge = 'h'.repeat(256 * 1024 * 1024 + 1);
      const err = await shim.call({ op: 'sethostname', name: huge }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ShimError);
      expect((err as ShimError).failure).toEqual(expect.objectContaining({ syscall: 'recv', errno: 90 })); // EMSGSIZE
      // In step afterwards: the next instruction is answered (ECANCELED: nothing runs after a failure).
      const next = await shim.call({ op: 'sethostname', name: 'x' }).catch((e: unknown) => e);
      expect((next as ShimError).failure.errno).toBe(125); // ECANCELED
    } finally {
      shim.kill(9);
      shim.close();
      await shim.gone();
    }
  });
});

describe('never 0 for a command that did not run', () => {
  itRoot('a worker whose instructions end before exec exits 125, and that is the status reported', async () => {
    const shim = await Shim.start('ignore');
    try {
      (shim.process.stdio[3] as import('node:net').Socket).end(); // EOF on fd 3: no exec will come
      expect(await shim.waitExit()).toEqual({ code: 125 });
    } finally {
      shim.close();
      await shim.gone();
    }
  });
});

describe('arguments through the engine', () => {
  const engine = new TestEngine();
  beforeAll(async () => {
    if (isRoot) await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itRoot('5,000 arguments run (create, start, wait, logs)', async () => {
    const args = Array.from({ length: 5000 }, (_, i) => `a${i}`);
    const id = await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'echo "$@" | wc -w', 'sh', ...args]);
    const w = await engine.api('POST', `/containers/${id}/wait`);
    expect(w.body.StatusCode).toBe(0);
    const logs = await engine.api('GET', `/containers/${id}/logs?stdout=1`);
    expect(logs.raw.subarray(8).toString().trim()).toBe('5000');
    expect((await engine.api('DELETE', `/containers/${id}`)).status).toBe(204);
  });

  itRoot('arguments over the kernel\'s limit: start fails with "argument list too long"', async () => {
    const args = overLimit();
    const c = await engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/echo', ...args] });
    expect(c.status).toBe(201);
    const s = await engine.api('POST', `/containers/${c.body.Id}/start`);
    expect(s.status).toBe(400);
    expect(s.body.message).toMatch(/exec \/bin\/echo: argument list too long/);
    const info = await engine.api('GET', `/containers/${c.body.Id}/json`);
    expect(info.body.State.ExitCode).toBe(126);
    expect((await engine.api('DELETE', `/containers/${c.body.Id}`)).status).toBe(204);
  });
});
