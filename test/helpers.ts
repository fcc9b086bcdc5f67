// Shared by the integration tests: run the real nsx CLI, read its events, know when to skip.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from '@jest/globals';
import { NsxError } from '../src/runtime/errors.js';
import type { RuntimeEvent } from '../src/runtime/events.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const NSX = join(ROOT, 'bin', 'nsx.cjs');
/** The busybox sandbox rootfs plus /probe (test/probe/probe.c), made by test/global-setup.ts. */
export const TEST_ROOTFS = join(ROOT, 'test', '.work', 'rootfs');
/** The store (NSX_ROOT) the image tests run containers from; the leak check looks into it. */
export const TEST_NSX_ROOT = join(ROOT, 'test', '.work', 'nsx-root');

export const isRoot = process.getuid?.() === 0;

/** Strips ANSI colour codes (assert on text without them). */
export function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, '');
}

export interface NsxResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  events: RuntimeEvent[];
}

/** Runs `nsx ARGS` (adds --events to a temp file for `run` and `runtime run`) and collects everything it said. */
export async function nsx(
  args: string[],
  opts: {
    input?: string;
    uid?: number;
    env?: Record<string, string>;
    timeoutMs?: number;
    onSpawn?: (pid: number) => void;
    events?: boolean;
  } = {},
): Promise<NsxResult> {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-test-'));
  if (opts.uid !== undefined) chmodSync(dir, 0o777); // nsx runs as that user and writes its events here
  const eventsFile = join(dir, 'events.jsonl');
  const verb = args[0] === 'run' ? 1 : args[0] === 'runtime' && args[1] === 'run' ? 2 : 0;
  const full =
    verb && opts.events !== false ? [...args.slice(0, verb), '--events', eventsFile, ...args.slice(verb)] : args;
  const child = spawn(process.execPath, [NSX, ...full], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.uid } : {}),
  });
  opts.onSpawn?.(child.pid!);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  if (opts.input !== undefined) child.stdin.end(opts.input);
  else child.stdin.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((r) =>
    child.on('close', (c, s) => r([c, s])),
  );
  clearTimeout(timer);
  let events: RuntimeEvent[] = [];
  try {
    events = readFileSync(eventsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  } catch {
    /* no events: nsx failed before the container was created */
  }
  rmSync(dir, { recursive: true, force: true });
  return { code, signal, stdout, stderr: stripAnsi(stderr), events };
}

/** `nsx runtime run --rm --rootfs TEST_ROOTFS [options] -- command...`: the runtime in nsx's own process
 *  (what the kernel-effect tests test; the container is nsx's child). `nsx run` goes through the
 *  engine: test/integration/run-engine.test.ts. */
export function run(options: string[], command: string[], extra: Parameters<typeof nsx>[1] = {}): Promise<NsxResult> {
  return nsx(['runtime', 'run', '--rm', '--rootfs', TEST_ROOTFS, ...options, ...command], extra);
}

export function eventsOf<T extends RuntimeEvent['type']>(r: NsxResult, type: T): Extract<RuntimeEvent, { type: T }>[] {
  return r.events.filter((e): e is Extract<RuntimeEvent, { type: T }> => e.type === type);
}

/** The evidence recorded after a step. */
export function evidenceAfter(r: NsxResult, step: string) {
  return eventsOf(r, 'step-applied').find((e) => e.step.id === step)?.evidence;
}

/** A test that needs root: skipped with its reason printed when not root. */
export const itRoot: typeof it = ((name: string, fn: any, t?: number) =>
  isRoot ? it(name, fn, t) : it.skip(`${name} [skipped: needs root; run the suite as root]`, fn, t)) as any;

/** A user id to run rootless tests with, when the suite runs as root. */
export const UNPRIVILEGED_UID = 1000;

/** Runs a command on the host, returning stdout. */
export function sh(cmd: string): string {
  return spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).stdout;
}

/** The NsxError fn throws (the test fails if it throws nothing or something else). */
export function thrownNsxError(fn: () => unknown): NsxError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(NsxError);
    return e as NsxError;
  }
  throw new Error('expected an NsxError, nothing was thrown');
}
