// Interrupting `nsx run --step` anywhere leaves nothing behind: for a spread of positions in the
// plan, a container is built up to there (one Enter per step, written to nsx's stdin, which stays
// open) and then stopped with Ctrl-C (SIGINT), SIGTERM, 'q', or SIGKILL of nsx itself (then the
// engine sees its stepping client go and must kill the container and remove its cgroups).
// Afterwards no mount, cgroup, network namespace, veth device or process of that container may remain.
import { afterAll, describe, expect } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RuntimeEvent, StepSummary } from '../../src/runtime/events.js';
import { hostIfName } from '../../src/runtime/network.js';
import { eventsOf, itRoot, NSX, run, sh, TEST_ROOTFS } from '../helpers.js';
import { leftovers, type Leftovers } from '../leaks.js';
import { useTestEngine } from '../engine.js';

// nsx run --step builds the container through the engine: the shim is the engine's child.
const engine = useTestEngine();

const NOTHING: Leftovers = { mounts: [], cgroups: [], netns: [], veths: [], processes: [], containers: [] };
const OPTIONS = ['--step', '--network', 'veth', '-m', '64m', '--rootfs', TEST_ROOTFS, '/bin/sleep', '30'];

/** Where to stop: before the first step, or once the named step has been applied. */
const POSITIONS = [
  'before step 1',
  'cgroup',
  'namespaces',
  'network',
  'fork',
  'tmp',
  'pivot-root',
  'capabilities',
  'seccomp',
  'exec',
] as const;
type Position = (typeof POSITIONS)[number];
type Mode = 'SIGINT' | 'SIGTERM' | 'q' | 'SIGKILL';

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(safeRead(`/proc/${pid}/status`));
function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** PIDs of every process descended from `root` (its shim, the shim's children, the container). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    const stat = safeRead(`/proc/${d}/stat`);
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length) {
    for (const c of children.get(todo.pop()!) ?? []) {
      todo.push(c);
      out.push(c);
    }
  }
  return out;
}

/** nsx run --step, driven one key at a time through a pipe, its events read as they are written. */
class SteppedRun {
  readonly child: ChildProcess;
  readonly file: string;
  private readonly dir: string;
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly killTimer: NodeJS.Timeout;

  constructor(args: string[]) {
    this.dir = mkdtempSync(join(tmpdir(), 'nsx-int-'));
    this.file = join(this.dir, 'events.jsonl');
    // Its own session: signals meant for nsx's process group cannot reach jest.
    this.child = spawn(process.execPath, [NSX, 'run', '--events', this.file, ...args], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...process.env, NO_COLOR: '1' },
      detached: true,
    });
    this.child.stderr!.on('data', (d) => (this.stderr += d));
    this.child.stdin!.on('error', () => {}); // EPIPE once nsx is gone
    // 'exit', not 'close': after SIGKILL the shim may still hold nsx's stdout/stderr for a while.
    this.exited = new Promise((r) => this.child.on('exit', (code, signal) => r({ code, signal })));
    this.killTimer = setTimeout(() => this.child.kill('SIGKILL'), 40000);
  }

  get pid(): number {
    return this.child.pid!;
  }

  events(): RuntimeEvent[] {
    return safeRead(this.file)
      .split('\n')
      .flatMap((l) => {
        try {
          return l ? [JSON.parse(l) as RuntimeEvent] : [];
        } catch {
          return []; // the last line, half written
        }
      });
  }

  async until<T>(what: string, f: (e: RuntimeEvent[]) => T | undefined | false, ms = 10000): Promise<T> {
    for (const end = Date.now() + ms; Date.now() < end; await sleep(10)) {
      const v = f(this.events());
      if (v) return v;
      if (this.child.exitCode !== null || this.child.signalCode !== null) break;
    }
    throw new Error(
      `nsx --step: ${what} did not happen; events: ${this.events()
        .map((e) => e.type + ('step' in e ? ':' + e.step.id : ''))
        .join(' ')}; stderr: ${this.stderr}`,
    );
  }

  /** Waits for the first prompt, then presses Enter until `position` has been applied and nsx waits again. */
  async advanceTo(position: Position): Promise<void> {
    const created = await this.until(
      'created',
      (e) => e.find((x) => x.type === 'created') as Extract<RuntimeEvent, { type: 'created' }> | undefined,
    );
    const prompted: StepSummary[] = created.steps.filter((s) => !s.skip);
    const k = position === 'before step 1' ? 0 : prompted.findIndex((s) => s.id === position) + 1;
    if (k < 0 || (position !== 'before step 1' && k === 0)) throw new Error(`${position} is skipped in this plan`);
    await this.until('the first prompt', (e) => e.some((x) => x.type === 'step-started'));
    for (let i = 1; i <= k; i++) {
      this.child.stdin!.write('\n');
      const last = i === prompted.length;
      await this.until(`step ${prompted[i - 1].id}`, (e) => {
        const applied = e.filter((x) => x.type === 'step-applied').length >= i;
        // Before exec: wait for the next prompt; after exec: for the command to have started.
        return (
          applied &&
          (last ? e.some((x) => x.type === 'started') : e.filter((x) => x.type === 'step-started').length > i)
        );
      });
    }
  }

  async finish(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const r = await this.exited;
    clearTimeout(this.killTimer);
    return r;
  }

  remove(): void {
    clearTimeout(this.killTimer);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Of the machine's leftovers, those that are this container's (other nsx runs may be going on). */
function leftoversOf(id: string, base: Leftovers, pids: Set<number>): Leftovers {
  const l = leftovers();
  return {
    mounts: l.mounts.filter((m) => !base.mounts.includes(m)),
    cgroups: l.cgroups.filter((c) => basename(c) === id),
    netns: l.netns.filter((n) => !base.netns.includes(n)),
    veths: l.veths.filter((v) => v.startsWith(hostIfName(id))),
    processes: l.processes.filter((p) => pids.has(Number(p.split(' ')[0]))),
    containers: l.containers.filter((c) => basename(c) === id),
  };
}

/** Polls until nothing of the container is left (or ms pass); returns what is left. */
async function settle(
  id: string,
  base: Leftovers,
  pids: number[],
  ms = 3000,
): Promise<{ left: Leftovers; running: number[] }> {
  const set = new Set(pids);
  for (const end = Date.now() + ms; ; await sleep(50)) {
    const left = leftoversOf(id, base, set);
    const running = pids.filter(alive);
    const clean = JSON.stringify(left) === JSON.stringify(NOTHING) && running.length === 0;
    if (clean || Date.now() >= end) return { left, running };
  }
}

/** After a failed assertion: remove what the run left, so the rest of the suite starts clean. */
async function forceClean(id: string, pids: number[]): Promise<string[]> {
  const did: string[] = [];
  for (const pid of pids.filter(alive)) {
    try {
      process.kill(pid, 'SIGKILL'); // only processes our own nsx started
      did.push(`killed ${pid}`);
    } catch {
      /* gone meanwhile */
    }
  }
  for (const end = Date.now() + 3000; pids.some(alive) && Date.now() < end;) await sleep(20);
  for (const dir of leftovers().cgroups.filter((c) => basename(c) === id)) {
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(dir);
        did.push(`rmdir ${dir}`);
        break;
      } catch {
        await sleep(20);
      }
    }
  }
  if (sh(`ip -o link show ${hostIfName(id)} 2>/dev/null`)) {
    sh(`ip link del ${hostIfName(id)}`);
    did.push(`ip link del ${hostIfName(id)}`);
  }
  return did;
}

const EXPECTED_EXIT: Record<Mode, { code: number | null; signal: NodeJS.Signals | null }> = {
  SIGINT: { code: 130, signal: null },
  SIGTERM: { code: 143, signal: null },
  q: { code: 130, signal: null },
  SIGKILL: { code: null, signal: 'SIGKILL' },
};

const running: SteppedRun[] = [];
afterAll(() => {
  for (const r of running) r.remove();
});

async function interruptAt(position: Position, mode: Mode): Promise<void> {
  const base = leftovers();
  const r = new SteppedRun(OPTIONS);
  running.push(r);
  let id = '';
  let pids: number[] = [];
  try {
    await r.advanceTo(position);
    id = (r.events().find((e) => e.type === 'created') as Extract<RuntimeEvent, { type: 'created' }>).id;
    pids = descendants(engine.process!.pid!); // the engine runs this test's container only
    expect(pids.length).toBeGreaterThan(0); // the shim, at least
    // What there is to clean up by now, seen by the same check as afterwards (so it is not vacuous).
    const before = leftoversOf(id, base, new Set(pids));
    const reached = (step: Position) => POSITIONS.indexOf(position) >= POSITIONS.indexOf(step);
    expect(before.cgroups.length > 0).toBe(reached('cgroup'));
    expect(before.veths).toHaveLength(reached('network') ? 1 : 0);
    expect(before.processes.length).toBeGreaterThan(0);
    if (mode === 'q') r.child.stdin!.write('q\n');
    else r.child.kill(mode);
    const exit = await r.finish();
    const { left, running: still } = await settle(id, base, pids);
    // Nothing of the container on the host, none of the processes nsx started (the shim, its
    // supervisor, the container's) still running, and docker's exit status.
    expect({ exit, left, running: still }).toEqual({ exit: EXPECTED_EXIT[mode], left: NOTHING, running: [] });
    if (mode !== 'SIGKILL') {
      const events = r.events();
      expect(events[events.length - 1].type).toBe('cleaned-up');
      expect(events.filter((e) => e.type === 'step-failed')).toEqual([]);
    }
  } finally {
    if (id) {
      const did = await forceClean(id, pids);
      if (did.length)
        console.warn(`interrupt ${mode} after ${position}: the test had to clean up itself: ${did.join('; ')}`);
    }
    r.remove();
  }
}

const MODES: Mode[] = ['SIGINT', 'SIGTERM', 'q', 'SIGKILL'];
for (const mode of MODES) {
  describe(`nsx run --step interrupted by ${mode === 'q' ? "'q'" : mode === 'SIGKILL' ? 'SIGKILL of nsx' : mode}`, () => {
    // After exec the command owns stdin (the stepper stops reading it), so 'q' means nothing there.
    for (const position of POSITIONS.filter((p) => !(mode === 'q' && p === 'exec'))) {
      const where =
        position === 'before step 1'
          ? position
          : position === 'exec'
            ? 'after exec, while sleep 30 runs'
            : `after ${position}`;
      itRoot(
        `${where}: exits ${EXPECTED_EXIT[mode].code ?? 'by SIGKILL'} and leaves nothing behind`,
        () => interruptAt(position, mode),
        30000,
      );
    }
  });
}

describe('containers and signals', () => {
  itRoot('two runs make two containers with distinct ids', async () => {
    const [a, b] = await Promise.all([run([], ['/bin/true']), run([], ['/bin/true'])]);
    expect([a.code, b.code]).toEqual([0, 0]);
    const ids = [a, b].map((r) => eventsOf(r, 'created')[0].id);
    expect(ids[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(ids[1]).toMatch(/^[0-9a-f]{64}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });

  itRoot(
    "the container's PID 1 leads its own session, so kill(0, …) inside cannot signal nsx or the user's shell",
    async () => {
      // /proc/self/stat: pid (comm) state ppid pgrp session. A process group or session outside the
      // PID namespace reads as 0. runc makes the container's init a session leader (setsid(2) in
      // nsexec.c); otherwise the container shares nsx's process group, and kill(0, SIGTERM) inside —
      // as test/probe's "forks" does — signals nsx and whoever else is in that group on the host.
      const r = await run([], ['/bin/cat', '/proc/self/stat']);
      expect(r.code).toBe(0);
      const [pid, , , ppid, pgrp, session] = r.stdout.replace(/\(.*\)/, 'comm').split(' ');
      expect({ pid, ppid }).toEqual({ pid: '1', ppid: '0' });
      expect({ pgrp, session }).toEqual({ pgrp: '1', session: '1' });
    },
  );
});
