// One container as the engine holds it: its record (what the state file keeps), its run while it has
// one (the runtime's Container, the promise of its end, the log file's descriptor, the stepping
// client's view), its streams (Hub), a restart the policy has scheduled, its execs and who waits for
// it. Everything the engine knows about a container is here, so forgetting one is dispose().
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PlannedStep } from '../runtime/plan.js';
import type { RuntimeEvent } from '../runtime/events.js';
import type { Container, RunResult } from '../runtime/runtime.js';
import type { ContainerSpec } from '../runtime/spec.js';
import { unmountStaleCopies } from './fs/container-root.js';
import { stopHealth } from './health.js';
import { Hub } from './hub.js';
import { can, nextState, type Transition } from './lifecycle.js';
import type { ContainerRecord } from './state.js';

/** The runtime's events of one run of a stepped (Nsx.Step) or observed (Nsx.Observe) container, for
 *  GET …/steps: those so far and a feed of the next; a stepped one's step it is paused before. */
export interface Stepping {
  events: RuntimeEvent[];
  feed: EventEmitter;
  total: number;
  /** Stepped: it pauses before every step, and the client that follows it owns it. Observed: it
   *  runs straight through, evidence read after every step, and outlives any follower. */
  pauses: boolean;
  paused?: { index: number; step: { id: string; title: string }; answer: (choice: 'apply' | 'quit') => void };
  /** A start has taken it (a client may follow before the start, as docker run attaches first). */
  begun: boolean;
  ended: boolean;
}

function newStepping(pauses: boolean): Stepping {
  return { events: [], feed: new EventEmitter(), total: 0, pauses, begun: false, ended: false };
}

/** A run of the container: from start until the runtime has cleaned up. */
export interface Run {
  container: Container;
  done: Promise<RunResult>;
  logFd: number;
  stepping?: Stepping;
}

/** A process started by docker exec in a running container (GET /exec/{id}/json). */
export interface ExecRecord {
  ID: string;
  ContainerID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ProcessConfig: { tty: boolean; entrypoint: string; arguments: string[]; user: string; privileged: boolean };
  OpenStdin: boolean;
  Body: import('./validate.js').ExecBody;
  Error?: string;
}

export interface Exec {
  record: ExecRecord;
  hub: Hub;
  container?: Container;
  done?: Promise<void>;
}

export class EngineContainer {
  run?: Run;
  /** A restart its policy has scheduled (docker's back-off: 100 ms, doubling). */
  restartTimer?: NodeJS.Timeout;
  /** The spec and plan made at create, for its first start (the plan a stepping client was told). */
  planned?: { spec: ContainerSpec; plan: PlannedStep[] };
  readonly execs = new Map<string, Exec>();
  /** Copies (docker cp, export) using its overlay mounted on the host while it is stopped
   *  (fs/container-root.ts): it neither starts nor goes until they end. */
  hostMounts = 0;
  /** Its health check's timer while it runs (health.ts). */
  healthMonitor?: { timer: NodeJS.Timeout | undefined; stopped: boolean };
  /** The runtime's events (Nsx.Step or Nsx.Observe) of its current run, or its last one, or — when
   *  a client follows before any start — of its next one. */
  steps?: Stepping;
  private hubOf?: Hub;
  /** Waiters for it to stop for good (no restart coming), and for its next exit, restart or not. */
  private settledWaiter?: { promise: Promise<void>; resolve: () => void };
  private nextExitWaiters: (() => void)[] = [];

  constructor(
    public record: ContainerRecord,
    private readonly save: () => void,
  ) {}

  get id(): string {
    return this.record.Id;
  }

  get status(): ContainerRecord['State']['Status'] {
    return this.record.State.Status;
  }

  /** The one place State changes: the transition's fields, then the state file. When the file cannot
   *  be written, a change a request asked for is undone and the error thrown (memory and disk agree);
   *  a fact ('fact': the command started or ended) stays in memory, since it happened, and the error is
   *  told on the engine's stderr: the next save that succeeds writes it. */
  transition(t: Transition, kind: 'request' | 'fact' = 'request'): void {
    const before = this.record.State;
    this.record.State = nextState(before, t, this.id);
    try {
      this.save();
    } catch (e) {
      if (kind === 'fact') return void process.stderr.write(`nsxd: ${(e as Error).message}\n`);
      this.record.State = before;
      throw e;
    }
  }

  /** State.Health after a probe (health.ts): kept in the state file; a failed write is told on stderr. */
  setHealth(h: NonNullable<ContainerRecord['State']['Health']>): void {
    this.record.State = { ...this.record.State, Health: h };
    try {
      this.save();
    } catch (e) {
      process.stderr.write(`nsxd: ${(e as Error).message}\n`);
    }
  }

  canStart(): boolean {
    return can.start(this.status) && !this.run;
  }

  canKill(): boolean {
    return can.kill(this.status) && !!this.run;
  }

  canExec(): boolean {
    return (can.exec(this.status) && !!this.run && !!this.record.State.Pid) || !!this.halfBuilt();
  }

  /** A stepped container paused before a step (a lesson's, nsx run --step's): an exec joins it as it
   *  stands (buildExecPlan's `applied`), entering the process the runtime reports (the shim, then PID 1). */
  halfBuilt(): { pid: number; applied: ReadonlySet<string> } | undefined {
    const s = this.run?.stepping;
    const x = this.run?.container;
    if (!s || s.ended || !s.paused || !x?.pid || x.commandStarted) return undefined;
    return { pid: x.pid, applied: x.applied };
  }

  /** Without force, not while it runs (a stepped container runs before it is 'running'). */
  canRemove(force: boolean): boolean {
    return can.remove(this.status, force) && (force || !this.run);
  }

  /** Running (paused too), or stepped and not yet running: what docker ps lists without -a. */
  get live(): boolean {
    const s = this.status;
    return s === 'running' || s === 'paused' || s === 'restarting' || !!this.run?.stepping?.pauses;
  }

  /** The events a client follows now: the current or last run's; before any run, the next one's. */
  stepLog(): Stepping {
    return (this.steps ??= newStepping(!!this.record.Nsx?.Step));
  }

  /** The events of a run beginning now: those a client already follows if no run has taken them, else new ones. */
  beginSteps(total: number): Stepping {
    const s = this.steps && !this.steps.begun ? this.steps : newStepping(!!this.record.Nsx?.Step);
    s.begun = true;
    s.total = total;
    return (this.steps = s);
  }

  /** Its output and input, across its runs (made at its first attach or start). */
  hub(): Hub {
    this.hubOf ??= new Hub(!!this.record.Config.Tty, !!this.record.Config.StdinOnce);
    return this.hubOf;
  }

  /** Cancels a scheduled restart; true when there was one. */
  clearRestart(): boolean {
    if (!this.restartTimer) return false;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    return true;
  }

  untilSettled(): Promise<void> {
    if (!this.settledWaiter) {
      let resolve!: () => void;
      const promise = new Promise<void>((res) => (resolve = res));
      this.settledWaiter = { promise, resolve };
    }
    return this.settledWaiter.promise;
  }

  settle(): void {
    this.settledWaiter?.resolve();
    this.settledWaiter = undefined;
  }

  untilNextExit(): Promise<void> {
    return new Promise<void>((res) => this.nextExitWaiters.push(res));
  }

  exitedOnce(): void {
    for (const w of this.nextExitWaiters.splice(0)) w();
  }

  /** An image container's directory (its writable layer): <store>/containers/<id>. */
  rootDir(): string | undefined {
    return rootDirOf(this.record.Root);
  }

  /** Forgets everything of it that lives in the engine's memory and on disk: a scheduled restart, its
   *  execs, its hub, its directory (the log) and an image's writable layer. Waiters are answered. */
  dispose(dir: string): void {
    this.clearRestart();
    stopHealth(this);
    this.execs.clear();
    this.hubOf = undefined;
    this.exitedOnce();
    this.settle();
    rmSync(dir, { recursive: true, force: true });
    unmountStaleCopies(this.record.Root?.overlay?.upper);
    removeRoot(this.record.Root);
  }
}

/** An image container's directory (its writable layer), only when it is one of the store's. */
export function rootDirOf(root: ContainerRecord['Root'] | ContainerSpec['root'] | undefined): string | undefined {
  if (!root) return undefined;
  const dir = root.overlay ? dirname(root.overlay.upper) : dirname(root.path);
  return /\/containers\/[0-9a-f]{64}$/.test(dir) ? dir : undefined;
}

export function removeRoot(root: ContainerRecord['Root'] | ContainerSpec['root'] | undefined): void {
  const dir = rootDirOf(root);
  if (dir) rmSync(dir, { recursive: true, force: true });
}
