// The engine's containers: what `docker create/start/stop/kill/wait/rm` do, without HTTP. Each
// running container is the engine's child (the shim's supervisor, then PID 1 under it), its output
// appended to a log file; every change of state is written to the state file before it is answered.
// This file is the table of contents: one EngineContainer per container (container.ts), its
// lifecycle (lifecycle.ts), and one file per verb under verbs/; docker's JSON shapes in shapes.ts.
import { EventEmitter } from 'node:events';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ContainerCgroup, detectLayout, removeStaleCgroups } from '../runtime/cgroups/index.js';
import { isRealRoot } from '../runtime/host.js';
import { EngineContainer, type Exec, type ExecRecord } from './container.js';
import { ApiError, noSuchContainer } from './errors.js';
import type { Hub } from './hub.js';
import { eventShape, execShape, inspectShape, listShape, statusText } from './shapes.js';
import { loadState, saveState, type ContainerRecord } from './state.js';
import type { CreateBody, ExecBody } from './validate.js';
import { create, type Created } from './verbs/create.js';
import { createExec, resizeExec, startExec } from './verbs/exec.js';
import { attach, logPath, resize } from './verbs/io.js';
import { facts, stats, top } from './verbs/observe.js';
import { pause, thawAfterSignal, unpause } from './verbs/pause.js';
import { pruneContainers } from './verbs/prune.js';
import { remove } from './verbs/remove.js';
import { rename } from './verbs/rename.js';
import { restart } from './verbs/restart-now.js';
import { restartRecovered } from './verbs/restart.js';
import { update, type UpdateBody } from './verbs/update.js';
import { start } from './verbs/start.js';
import { followSteps, step, stepOf, type StepFollower } from './verbs/steps.js';
import { cancelRestart, kill, stop } from './verbs/stop.js';
import { wait } from './verbs/wait.js';

export { Hub } from './hub.js';
export type { ExecRecord } from './container.js';
export type { CreateBody, ExecBody } from './validate.js';
export { checkRestartPolicy } from './verbs/restart.js';
export { parseSignal } from './verbs/stop.js';

export class Engine {
  private readonly containers = new Map<string, EngineContainer>();
  shuttingDown = false;
  /** docker's events (GET /events): one per create, start, kill, die, oom, restart, destroy. */
  readonly events = new EventEmitter();
  readonly root = isRealRoot();
  /** What the last start found of containers that died with the previous engine. */
  readonly recovered: string[] = [];
  /** And of those the previous engine stopped when it was stopped (SIGTERM). */
  readonly stoppedWithEngine: string[] = [];

  constructor(readonly dir: string) {
    mkdirSync(dirname(dir), { recursive: true }); // /var/lib/nsx stays as open as the image store wants it
    mkdirSync(join(dir, 'containers'), { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const save = () => this.save();
    for (const r of loadState(dir).containers) this.containers.set(r.Id, new EngineContainer(r, save));
    // Containers that were running when the previous engine died: their supervisors saw the engine's
    // end of the socket close and killed them (SIGKILL). Say so in their state.
    const frozen: string[] = [];
    for (const c of this.containers.values()) {
      const s = c.record.State;
      if (s.Status === 'paused') frozen.push(c.id);
      if (s.Status === 'running' || s.Status === 'paused' || s.Status === 'restarting' || s.Status === 'removing') {
        const error = 'the engine stopped while the container ran: its supervisor killed it';
        c.transition({ to: 'exited', ending: { exitCode: 137, oomKilled: s.OOMKilled, error } });
        this.recovered.push(c.id);
      } else if (c.record.StoppedWithEngine) this.stoppedWithEngine.push(c.id);
      delete c.record.StoppedWithEngine;
    }
    this.save();
    if (this.root) {
      // A paused one's processes were frozen when its supervisor killed them: a v1-frozen task dies
      // of SIGKILL only once thawed, and its cgroup can go only then.
      // Thawed, they die; their cgroups go once empty (remove() waits for that, as the runtime's does).
      for (const id of frozen) {
        try {
          const cg = ContainerCgroup.open(detectLayout(), id);
          cg.thaw();
          cg.remove().catch(() => undefined); // still busy after its wait: the next start's sweep takes it
        } catch {
          /* its cgroup is gone already */
        }
      }
      try {
        removeStaleCgroups(detectLayout()); // what a supervisor could not remove (none, normally)
      } catch {
        /* no cgroup filesystem: nothing to clean */
      }
    }
  }

  // ---- the engine's own bookkeeping -------------------------------------------------------------

  save(): void {
    saveState(this.dir, { version: 1, containers: this.all().map((c) => c.record) });
  }

  event(c: EngineContainer, action: string, extra: Record<string, string> = {}): void {
    this.events.emit('event', eventShape(c.record, action, extra));
  }

  all(): EngineContainer[] {
    return [...this.containers.values()];
  }

  has(id: string): boolean {
    return this.containers.has(id);
  }

  get(id: string): EngineContainer | undefined {
    return this.containers.get(id);
  }

  /** A new container, in the table and the state file; when the file cannot be written, in neither. */
  add(r: ContainerRecord): EngineContainer {
    const c = new EngineContainer(r, () => this.save());
    this.containers.set(r.Id, c);
    try {
      this.save();
    } catch (e) {
      this.containers.delete(r.Id);
      throw e;
    }
    return c;
  }

  /** Everything of a container, gone: from the table, the state file and the disk. When the state
   *  file cannot be written it stays, whole, in both. */
  forget(c: EngineContainer): void {
    this.containers.delete(c.id);
    try {
      this.save();
    } catch (e) {
      this.containers.set(c.id, c);
      throw e;
    }
    this.event(c, 'destroy');
    c.dispose(join(this.dir, 'containers', c.id));
  }

  /** A container by full id, unique id prefix or name (docker's lookup order). */
  find(ref: string): EngineContainer {
    const exact = this.containers.get(ref);
    if (exact) return exact;
    const name = ref.replace(/^\//, '');
    for (const c of this.containers.values()) if (c.record.Name === name) return c;
    const byPrefix = /^[0-9a-f]+$/.test(ref) ? this.all().filter((c) => c.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new ApiError(400, `multiple IDs found with provided prefix: ${ref}`);
    throw noSuchContainer(ref);
  }

  private exec(id: string): { c: EngineContainer; e: Exec } {
    for (const c of this.containers.values()) {
      const e = c.execs.get(id);
      if (e) return { c, e };
    }
    throw new ApiError(404, `No such exec instance: ${id}`);
  }

  // ---- the verbs, each in its file under verbs/ -------------------------------------------------

  create = (body: CreateBody, name?: string): Promise<Created> => create(this, body, name);
  start = (ref: string, byPolicy = false) => start(this, this.find(ref), byPolicy);
  restartRecovered = (): string[] => restartRecovered(this);
  kill = (ref: string, signal?: string) => kill(this, this.find(ref), ref, signal);
  stop = (ref: string, t?: number) => stop(this, this.find(ref), t);
  wait = async (ref: string, condition?: string) => wait(this.find(ref), condition);
  remove = (ref: string, force: boolean) => remove(this, this.find(ref), force);
  pause = (ref: string) => pause(this, this.find(ref));
  unpause = (ref: string) => unpause(this, this.find(ref));
  restart = (ref: string, t?: number) => restart(this, this.find(ref), t);
  rename = (ref: string, name: string) => rename(this, this.find(ref), name);
  update = (ref: string, body: UpdateBody) => update(this, this.find(ref), body);
  prune = (filters?: Record<string, string[]>) => pruneContainers(this, filters);
  attach = (ref: string): { hub: Hub; record: ContainerRecord } => attach(this.find(ref));
  resize = (ref: string, rows: number, cols: number) => resize(this.find(ref), rows, cols);
  logPath = (ref: string) => logPath(this.find(ref));
  stats = (ref: string) => stats(this.root, this.find(ref).record);
  top = (ref: string) => top(this.find(ref).record);
  followSteps = (ref: string): StepFollower => followSteps(this.find(ref));
  step = (ref: string, action: string, exit?: number) => step(this.find(ref), action, exit);
  createExec = (ref: string, body: ExecBody): ExecRecord => createExec(this, this.find(ref), body);
  startExec = (id: string, size?: [number, number]) => startExec(this, this.exec(id).c, this.exec(id).e, size);
  resizeExec = (id: string, rows: number, cols: number) => resizeExec(this.exec(id).e, rows, cols);
  execHub = (id: string): Hub => this.exec(id).e.hub;
  inspectExec = (id: string) => execShape(this.exec(id).e.record);

  /** docker ps: running ones (and stepped ones being built), or all; the newest first. */
  list(all: boolean): Record<string, unknown>[] {
    const now = Date.now();
    const shown = this.all().filter((c) => all || c.live);
    shown.sort((a, b) => b.record.Created.localeCompare(a.record.Created));
    return shown.map((c) => listShape(c.record, stepOf(c), now));
  }

  inspect(ref: string): Record<string, unknown> {
    const c = this.find(ref);
    return inspectShape(c.record, facts(c.record), stepOf(c));
  }

  static statusText = statusText;

  /** On SIGTERM: the containers go with the engine (docker without live-restore), killed, recorded. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const c of this.containers.values()) cancelRestart(c);
    const runs = this.all().filter((c) => c.run);
    for (const c of runs) c.record.StoppedWithEngine = true;
    const all = runs.map((c) => c.run!);
    for (const run of all) run.container.abort(137);
    for (const c of runs) thawAfterSignal(this, c); // a frozen one acts on the kill once thawed
    await Promise.all(all.map((run) => run.done));
    this.save();
  }
}
