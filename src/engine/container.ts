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
import { Hub } from './hub.js';
import { can, nextState, type Transition } from './lifecycle.js';
import type { ContainerRecord } from './state.js';

/** Where a stepped container stands: the runtime's events so far, and the step it is paused before. */
export interface Stepping {
  events: RuntimeEvent[];
  feed: EventEmitter;
  total: number;
  paused?: { index: number; step: { id: string; title: string }; answer: (choice: 'apply' | 'quit') => void };
  /** A client follows the events (GET …/steps): when it goes before the run ends, so does the container. */
  followed: boolean;
  ended: boolean;
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

  /** The one place State changes: the transition's fields, then the state file. */
  transition(t: Transition): void {
    this.record.State = nextState(this.record.State, t, this.id);
    this.save();
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

  /** Running, or stepped and not yet running: what docker ps lists without -a. */
  get live(): boolean {
    return this.status === 'running' || this.status === 'restarting' || !!this.run?.stepping;
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
    this.execs.clear();
    this.hubOf = undefined;
    this.exitedOnce();
    this.settle();
    rmSync(dir, { recursive: true, force: true });
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
