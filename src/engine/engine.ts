// The engine's containers: what `docker create/start/stop/kill/wait/rm` do, without HTTP. Each
// running container is the engine's child (the shim's supervisor, then PID 1 under it), its output
// appended to a log file; every change of state is written to the state file before it is answered.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { ContainerCgroup, detectLayout, removeStaleCgroups } from '../runtime/cgroups/index.js';
import { decodeCapMask, effectiveCaps } from '../runtime/capabilities.js';
import { NsxError } from '../runtime/errors.js';
import { hostFacts, isRealRoot } from '../runtime/host.js';
import { namespacesOf, parseStatus } from '../runtime/observe.js';
import { specFromRunOptions, type ImageRun } from '../runtime/options.js';
import { buildExecPlan, buildPlan, type PlannedStep } from '../runtime/plan.js';
import type { RuntimeEvent } from '../runtime/events.js';
import { Container, type RunResult } from '../runtime/runtime.js';
import { compileForHost, loadSeccomp } from '../runtime/seccomp-host.js';
import { signalNumber } from '../runtime/shim.js';
import type { ContainerSpec } from '../runtime/spec.js';
import type { LayeredView } from '../image/rootfs.js';
import { ApiError, nameInUse, noSuchContainer, removeRunning } from './errors.js';
import { humanDuration } from './humanize.js';
import { randomName, VALID_NAME } from './names.js';
import { frame, type StreamId } from './stream.js';
import { loadState, saveState, type ContainerRecord, type HostConfig, type NsxOptions } from './state.js';

/** The body of POST /containers/create (docker's ContainerCreateRequest, the part nsx has). */
export interface CreateBody {
  Image?: string;
  /** nsx: a root filesystem directory instead of an image. */
  Rootfs?: string;
  Cmd?: string[] | string;
  /** Replaces the image's Entrypoint (docker's rule: then its Cmd too); [] clears it. */
  Entrypoint?: string[] | string;
  Env?: string[];
  Hostname?: string;
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  HostConfig?: HostConfig;
  /** nsx's own: stepping over the API (GET …/steps, POST …/step), chroot, a client's spec and plan. */
  Nsx?: NsxOptions;
}

/** Where a stepped container stands: the runtime's events so far, and the step it is paused before. */
interface Stepping {
  events: RuntimeEvent[];
  feed: EventEmitter;
  total: number;
  paused?: { index: number; step: { id: string; title: string }; answer: (choice: 'apply' | 'quit') => void };
  /** A client follows the events (GET …/steps): when it goes before the run ends, so does the container. */
  followed: boolean;
  ended: boolean;
}

/** The body of POST /containers/{id}/exec (docker's ExecConfig, the part nsx has). */
export interface ExecBody {
  Cmd?: string[];
  Env?: string[];
  WorkingDir?: string;
  User?: string;
  Tty?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Privileged?: boolean;
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
  Body: ExecBody;
  Error?: string;
}

interface Live {
  container: Container;
  done: Promise<RunResult>;
  logFd: number;
}

/** Where a container's (or an exec's) output goes while it runs, and its input comes from: the
 *  engine reads the shim's stdout and stderr pipes, writes them to the log in the API's format
 *  (stream.ts) and to every attached client; an attached client's input goes to its stdin pipe. */
export class Hub extends EventEmitter {
  stdin?: NodeJS.WritableStream;
  /** Input that came before the container started (docker run -i attaches first), and its end. */
  private early: Buffer[] = [];
  private earlyEnd = false;
  constructor(readonly tty: boolean, readonly stdinOnce = false) {
    super();
    this.setMaxListeners(0);
  }

  /** Takes the streams of a container whose shim just started; resolves when both have ended. */
  connect(c: Container, logFd?: number): Promise<void> {
    this.stdin = c.stdin ?? undefined;
    this.stdin?.on('error', () => {}); // the container exited while input was on its way
    for (const d of this.early.splice(0)) this.stdin?.write(d);
    if (this.earlyEnd) this.stdin?.end();
    this.earlyEnd = false;
    const ended = [c.stdout, c.stderr].map((s, i) => new Promise<void>((resolve) => {
      if (!s) return resolve();
      s.on('data', (d: Buffer) => {
        const bytes = this.tty ? d : frame((i + 1) as StreamId, d);
        if (logFd !== undefined) writeSync(logFd, bytes);
        this.emit('data', bytes);
      });
      s.on('end', resolve).on('close', resolve).on('error', resolve);
    }));
    return Promise.all(ended).then(() => undefined);
  }

  /** An attached client's input. */
  write(d: Buffer): void {
    if (this.stdin) this.stdin.write(d);
    else this.early.push(d);
  }

  /** An attached client ended its input: with StdinOnce (docker run -i), so does the container's. */
  inputEnded(): void {
    if (!this.stdinOnce) return;
    if (this.stdin) this.stdin.end();
    else this.earlyEnd = true;
  }
}

const NEVER = '0001-01-01T00:00:00Z'; // docker's zero time

export class Engine {
  private readonly records = new Map<string, ContainerRecord>();
  private readonly live = new Map<string, Live>();
  /** Each container's output and input, across its runs (attach subscribes before start too). */
  private readonly hubs = new Map<string, Hub>();
  private readonly stepping = new Map<string, Stepping>();
  private readonly execs = new Map<string, { record: ExecRecord; hub: Hub; container?: Container; done?: Promise<void> }>();
  /** Restarts the policy has scheduled (docker's back-off: 100 ms, doubling). */
  private readonly restarts = new Map<string, NodeJS.Timeout>();
  /** Waiters for a container to stop for good (no restart coming). */
  private readonly settled = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  /** Waiters for the next exit, restart or not (docker wait --condition next-exit, docker run). */
  private readonly nextExit = new Map<string, (() => void)[]>();
  private shuttingDown = false;
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
    for (const r of loadState(dir).containers) this.records.set(r.Id, r);
    // Containers that were running when the previous engine died: their supervisors saw the engine's
    // end of the socket close and killed them (SIGKILL). Say so in their state.
    for (const r of this.records.values()) {
      if (r.State.Status === 'running' || r.State.Status === 'restarting' || r.State.Status === 'removing') {
        r.State = { ...r.State, Status: 'exited', Pid: 0, ExitCode: 137, Error: 'the engine stopped while the container ran: its supervisor killed it', FinishedAt: new Date().toISOString() };
        this.recovered.push(r.Id);
      } else if (r.StoppedWithEngine) this.stoppedWithEngine.push(r.Id);
      delete r.StoppedWithEngine;
    }
    this.save();
    if (this.root) {
      try {
        removeStaleCgroups(detectLayout()); // what a supervisor could not remove (none, normally)
      } catch {
        /* no cgroup filesystem: nothing to clean */
      }
    }
  }

  /** Containers that died with (or were stopped by) the previous engine and whose restart policy says so start again
   *  (docker's daemon does the same at boot). Returns their ids. */
  restartRecovered(): string[] {
    const again = [...this.recovered, ...this.stoppedWithEngine].filter((id) => {
      const r = this.records.get(id);
      return r && this.restartWanted(r, { exitCode: r.State.ExitCode, oomKilled: false });
    });
    for (const id of again) {
      const r = this.records.get(id)!;
      r.RestartCount = (r.RestartCount ?? 0) + 1;
      this.start(id, true).catch((e: Error) => {
        r.State = { ...r.State, Error: `restart after the engine's start failed: ${e.message}` };
        this.save();
      });
    }
    return again;
  }

  private event(r: ContainerRecord, Action: string, extra: Record<string, string> = {}): void {
    const now = Date.now();
    this.events.emit('event', {
      Type: 'container',
      Action,
      status: Action,
      id: r.Id,
      from: r.Image || r.Rootfs,
      Actor: { ID: r.Id, Attributes: { image: r.Image || r.Rootfs || '', name: r.Name, ...extra } },
      scope: 'local',
      time: Math.floor(now / 1000),
      timeNano: now * 1e6,
    });
  }

  private save(): void {
    saveState(this.dir, { version: 1, containers: [...this.records.values()] });
  }

  /** A container by full id, unique id prefix or name (docker's lookup order). */
  find(ref: string): ContainerRecord {
    const exact = this.records.get(ref);
    if (exact) return exact;
    const name = ref.replace(/^\//, '');
    for (const r of this.records.values()) if (r.Name === name) return r;
    const byPrefix = /^[0-9a-f]+$/.test(ref) ? [...this.records.values()].filter((r) => r.Id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0];
    if (byPrefix.length > 1) throw new ApiError(400, `multiple IDs found with provided prefix: ${ref}`);
    throw noSuchContainer(ref);
  }

  list(all: boolean): ContainerRecord[] {
    const live = (r: ContainerRecord) => r.State.Status === 'running' || r.State.Status === 'restarting' || this.stepping.has(r.Id);
    return [...this.records.values()].filter((r) => all || live(r)).sort((a, b) => b.Created.localeCompare(a.Created));
  }

  /** A stepped container's step, for ps and inspect: 1-based, of the plan's steps. */
  stepOf(r: ContainerRecord): { Index: number; Total: number; Id: string; Title: string; Paused: boolean; Pid: number; Applied: string[]; Network?: unknown } | undefined {
    const s = this.stepping.get(r.Id);
    const live = this.live.get(r.Id);
    if (!s || s.ended || !live) return undefined;
    const last = [...s.events].reverse().find((e) => e.type === 'step-started');
    const current = s.paused ?? (last?.type === 'step-started' ? { index: last.index, step: last.step } : undefined);
    if (!current) return undefined;
    const net = live.container.network; // the veth pair (--network veth): its names and addresses
    return { Index: current.index + 1, Total: s.total, Id: current.step.id, Title: current.step.title, Paused: !!s.paused, Pid: live.container.pid ?? 0, Applied: [...live.container.applied], ...(net ? { Network: net } : {}) };
  }

  /** GET /containers/{id}/steps: the runtime's events so far, then as they come, until the run ends. */
  followSteps(ref: string): { events: RuntimeEvent[]; feed: EventEmitter; ended: boolean; leave: () => void } {
    const r = this.find(ref);
    const s = this.stepping.get(r.Id);
    if (!s) throw new ApiError(409, `container ${r.Id} is not being stepped`, 'create it with {"Nsx": {"Step": true}} (nsx run --step) and start it');
    s.followed = true;
    // The stepping client owns the half-built container: when it goes (q, Ctrl-C, even kill -9), so does the container.
    return { events: [...s.events], feed: s.feed, ended: s.ended, leave: () => !s.ended && this.live.get(r.Id)?.container.abort() };
  }

  /** POST /containers/{id}/step?action=apply|quit: answers the step it is paused before; abort
   *  (with exit=N) ends it wherever it is, as Ctrl-C does in nsx run. */
  step(ref: string, action: string, exit?: number): void {
    const r = this.find(ref);
    const s = this.stepping.get(r.Id);
    if (!s || s.ended) throw new ApiError(409, `container ${r.Id} is not being stepped`);
    if (action === 'abort') return void this.live.get(r.Id)?.container.abort(exit);
    if (action !== 'apply' && action !== 'quit') throw new ApiError(400, `invalid action: ${action}`, 'use apply, quit or abort');
    if (!s.paused) throw new ApiError(409, `container ${r.Id} is not paused before a step`, 'wait for its step-started event (GET /containers/{id}/steps)');
    const { answer } = s.paused;
    s.paused = undefined;
    answer(action);
  }

  /** The spec a record describes (made again at every start, so a restarted engine can start it). */
  private specFor(r: ContainerRecord, name?: string, image?: ImageRun): ContainerSpec {
    const h = r.HostConfig;
    const network = h.NetworkMode && !['default', 'bridge'].includes(h.NetworkMode) ? h.NetworkMode : undefined;
    const ep = r.Config.Entrypoint;
    return specFromRunOptions({
      ...(image ? { image, entrypoint: ep === undefined ? undefined : ep.join(' ') } : { rootfs: r.Rootfs }),
      command: r.Config.Cmd,
      name: name ?? r.Name,
      hostname: r.Config.Hostname || undefined,
      env: r.Config.Env,
      workdir: r.Config.WorkingDir || undefined,
      user: r.Config.User || undefined,
      tty: r.Config.Tty,
      userns: h.UsernsMode || undefined,
      unsafeChroot: r.Nsx?.UnsafeChroot,
      memory: h.Memory ? String(h.Memory) : undefined,
      pidsLimit: h.PidsLimit || undefined,
      cpus: h.NanoCpus ? h.NanoCpus / 1e9 : undefined,
      capAdd: h.CapAdd ?? undefined,
      capDrop: h.CapDrop ?? undefined,
      privileged: h.Privileged,
      securityOpt: h.SecurityOpt ?? undefined,
      network,
      loadSeccomp,
      root: this.root,
    });
  }

  /** An image from the store, its layers unpacked, as the run options take it. Its container's
   *  root filesystem is made once, at create (prepare), and the same one is used by every start. */
  private async imageRun(ref: string, existing?: ContainerRecord['Root']): Promise<{ run: ImageRun; view: LayeredView; prepared: () => ContainerRecord['Root'] }> {
    const { ImageStore } = await import('../image/store.js');
    const { LayeredView, createRootfs, unpackImage } = await import('../image/rootfs.js');
    const store = new ImageStore();
    const image = store.resolve(ref);
    if (!image) throw new ApiError(404, `No such image: ${ref}`, 'the engine runs images from the store: nsx pull it first (nsx images lists the store)');
    const rootless = !this.root;
    const layers = await unpackImage(store, image, { rootless });
    let root = existing;
    const view = new LayeredView([...layers].reverse());
    return {
      prepared: () => root,
      view,
      run: {
        ref,
        config: image.config.config ?? {},
        view,
        prepare: (id, maps) => {
          if (root) return root;
          const p = createRootfs(store.root, image, layers, id, { rootless, keep: true, ...maps }); // kept: the engine owns it, across its restarts
          root = p.overlay ? { path: p.path, overlay: p.overlay } : { path: p.path, copied: { layers: layers.length, reason: p.reason ?? 'copy mode' } };
          return root;
        },
      },
    };
  }

  /** An image container's directory (its writable layer): <store>/containers/<id>. */
  private rootDir(r: Pick<ContainerRecord, 'Root'>): string | undefined {
    const root = r.Root;
    if (!root) return undefined;
    const dir = root.overlay ? dirname(root.overlay.upper) : dirname(root.path);
    return /\/containers\/[0-9a-f]{64}$/.test(dir) ? dir : undefined;
  }

  private removeRoot(r: Pick<ContainerRecord, 'Root'>): void {
    const dir = this.rootDir(r);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }

  async create(body: CreateBody, name?: string): Promise<ContainerRecord> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object', 'e.g. {"Rootfs": "/path/to/rootfs", "Cmd": ["/bin/sh", "-c", "echo hi"]}');
    if (name !== undefined && name !== '') {
      if (!VALID_NAME.test(name)) throw new ApiError(400, `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
      name = name.replace(/^\//, '');
      const holder = [...this.records.values()].find((r) => r.Name === name);
      if (holder) throw nameInUse(name, holder.Id);
    } else name = randomName((n) => [...this.records.values()].some((r) => r.Name === n));
    const useImage = typeof body.Image === 'string' && body.Image !== '' && body.Rootfs === undefined;
    if (!useImage && typeof body.Rootfs !== 'string') throw new ApiError(400, 'no image and no root filesystem given', 'give "Image": an image in the store, or "Rootfs": a root filesystem directory (build the sandbox one with `npm run sandbox`)');
    const cmd = typeof body.Cmd === 'string' ? ['/bin/sh', '-c', body.Cmd] : body.Cmd ?? [];
    if (!Array.isArray(cmd) || cmd.some((c) => typeof c !== 'string')) throw new ApiError(400, 'Cmd must be an array of strings');
    const entrypoint = typeof body.Entrypoint === 'string' ? [body.Entrypoint] : body.Entrypoint ?? undefined;
    if (entrypoint !== undefined && (!Array.isArray(entrypoint) || entrypoint.length > 1 || entrypoint.some((c) => typeof c !== 'string'))) {
      throw new ApiError(400, 'Entrypoint must be one program (an array of one string), or [] to clear the image\'s');
    }
    const h: HostConfig = body.HostConfig ?? {};
    checkRestartPolicy(h);
    const draft: ContainerRecord = {
      Id: '',
      Name: name,
      Created: new Date().toISOString(),
      Image: body.Image ?? '',
      Rootfs: body.Rootfs,
      Path: cmd[0] ?? '',
      Args: cmd.slice(1),
      Config: {
        Hostname: body.Hostname ?? '',
        Env: body.Env ?? [],
        Cmd: cmd,
        ...(entrypoint ? { Entrypoint: entrypoint } : {}),
        Image: body.Image ?? '',
        Rootfs: body.Rootfs,
        ...(body.WorkingDir ? { WorkingDir: body.WorkingDir } : {}),
        ...(body.User ? { User: body.User } : {}),
        Tty: !!body.Tty,
        OpenStdin: !!body.OpenStdin,
        StdinOnce: !!body.StdinOnce,
      },
      HostConfig: h,
      State: { Status: 'created', Pid: 0, ExitCode: 0, OOMKilled: false, Error: '', StartedAt: NEVER, FinishedAt: NEVER },
      LogPath: '',
      ...(body.Nsx && Object.keys(body.Nsx).length ? { Nsx: checkNsx(body.Nsx) } : {}),
    };
    let spec: ContainerSpec;
    let image: Awaited<ReturnType<Engine['imageRun']>> | undefined;
    try {
      if (useImage) image = await this.imageRun(body.Image!);
      // A client's own spec (a lesson's) is run as it is; otherwise docker's options make one.
      spec = draft.Nsx?.Spec ?? this.specFor(draft, name, image?.run); // every option checked before anything exists (an image's rootfs last)
      if (this.records.has(spec.id)) throw new ApiError(409, `a container with id ${spec.id} exists already`);
    } catch (e) {
      if (e instanceof NsxError) throw new ApiError(/No such image/.test(e.message) ? 404 : 400, e.message, e.info.hint);
      throw e;
    }
    const holder = [...this.records.values()].find((x) => x.Name === name);
    if (holder) {
      this.removeRoot({ Root: spec.root }); // the name was taken while the image unpacked
      throw nameInUse(name, holder.Id);
    }
    const r: ContainerRecord = {
      ...draft,
      Id: spec.id,
      Rootfs: useImage ? undefined : spec.root.path,
      ...(useImage ? { Root: spec.root } : {}),
      Path: spec.process.args[0],
      Args: spec.process.args.slice(1),
      Config: { ...draft.Config, Hostname: spec.hostname ?? '', Env: spec.process.env, ...(useImage ? {} : { Rootfs: spec.root.path }) },
      LogPath: join(this.dir, 'containers', spec.id, 'container.log'),
    };
    mkdirSync(join(this.dir, 'containers', r.Id), { recursive: true, mode: 0o700 });
    this.records.set(r.Id, r);
    this.save();
    this.event(r, 'create');
    return r;
  }

  /** Starts the container's command; resolves once it runs (or throws how it failed to start). */
  async start(ref: string, byPolicy = false): Promise<'started' | 'already'> {
    const r = this.find(ref);
    if (r.State.Status === 'running' || this.live.has(r.Id)) return 'already';
    if (!byPolicy) {
      r.ManuallyStopped = false;
      clearTimeout(this.restarts.get(r.Id));
      this.restarts.delete(r.Id);
      r.RestartCount = 0;
    }
    const rootDir = this.rootDir(r);
    if (rootDir && !existsSync(rootDir)) {
      throw new ApiError(500, `the container's root filesystem is gone (${rootDir})`, 'remove the container (nsx rm) and create it again');
    }
    let spec: ContainerSpec;
    let view: LayeredView | undefined;
    try {
      const image = r.Root ? await this.imageRun(r.Image, r.Root) : undefined;
      view = image?.view;
      spec = r.Nsx?.Spec ?? { ...this.specFor(r, undefined, image?.run), id: r.Id };
    } catch (e) {
      if (e instanceof NsxError) throw new ApiError(400, e.message, e.info.hint);
      throw e;
    }
    if (this.live.has(r.Id)) return 'already'; // started by another request meanwhile
    // An overlay root is empty on the host until the rootfs step mounts it: look into the layers.
    const plan = r.Nsx?.Plan ?? buildPlan(spec, hostFacts(spec.root.path, compileForHost, spec.root.overlay ? view : undefined));
    const logFd = openSync(r.LogPath, 'a', 0o600);
    const stepped = !!r.Nsx?.Step;
    const container = new Container(spec, plan, [r.Config.OpenStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], stepped, r.Nsx?.RunAs);
    const hub = this.hub(r);
    const s: Stepping | undefined = stepped ? { events: [], feed: new EventEmitter(), total: plan.length, followed: false, ended: false } : undefined;
    if (s) {
      this.stepping.set(r.Id, s);
      container.on((e) => {
        s.events.push(e);
        if (e.type === 'cleaned-up') s.ended = true;
        s.feed.emit('event', e);
      });
    }
    let drained: Promise<void> = Promise.resolve();
    container.on((e) => {
      if (e.type !== 'started') return;
      r.State = { ...r.State, Status: 'running', Pid: e.pid, ExitCode: 0, OOMKilled: false, Error: '', StartedAt: new Date().toISOString(), FinishedAt: NEVER };
      this.save();
      this.event(r, byPolicy ? 'restart' : 'start');
    });
    const size = r.HostConfig.ConsoleSize;
    const spawned = (c: Container) => {
      drained = hub.connect(c, logFd);
      if (size && size[0] > 0 && size[1] > 0) c.resize(size[0], size[1]); // applied as the terminal is made
    };
    const beforeStep = s && ((step: PlannedStep, index: number) => new Promise<'apply' | 'quit'>((answer) => (s.paused = { index, step, answer })));
    // After the command's exit, before the cleanup: one more pause, for a client that asked for it.
    const afterExit = s && r.Nsx?.PauseAtExit ? () => new Promise<void>((go) => (s.paused = { index: plan.length, step: { id: 'exit', title: 'The command has exited' }, answer: () => go() })) : undefined;
    const done = container.run({ spawned, ...(beforeStep ? { beforeStep } : {}), ...(afterExit ? { afterExit } : {}) }).then(async (result) => {
      await Promise.race([drained, new Promise((res) => setTimeout(res, 2000))]); // the last output, into the log first
      if (s) this.stepping.delete(r.Id);
      return this.exited(r, result);
    });
    this.live.set(r.Id, { container, done, logFd });
    if (s) return 'started'; // its client applies the steps (POST …/step); the events tell how far it got
    const started = new Promise<void>((resolve) => container.on((e) => e.type === 'started' && resolve()));
    const first = await Promise.race([started.then(() => undefined), done]);
    if (first !== undefined) {
      const err = first.error;
      throw new ApiError(first.exitCode === 126 || first.exitCode === 127 ? 400 : 500, `failed to start container ${r.Id.slice(0, 12)}: ${err?.message ?? `exit code ${first.exitCode}`}`, err?.info.hint);
    }
    return 'started';
  }

  /** The container's hub (made at its first attach or start). */
  private hub(r: ContainerRecord): Hub {
    let hub = this.hubs.get(r.Id);
    if (!hub) {
      hub = new Hub(!!r.Config.Tty, !!r.Config.StdinOnce);
      this.hubs.set(r.Id, hub);
    }
    return hub;
  }

  /** docker attach: the hub to follow (and write to, with stdin). A container that is not running
   *  may be attached to: its output comes once it starts (docker run -it attaches before start). */
  attach(ref: string): { hub: Hub; record: ContainerRecord } {
    const r = this.find(ref);
    return { hub: this.hub(r), record: r };
  }

  /** A terminal's size: docker's POST /containers/{id}/resize?h=&w=. */
  resize(ref: string, rows: number, cols: number): void {
    const r = this.find(ref);
    const live = this.live.get(r.Id);
    if (!live) throw new ApiError(409, `Container ${r.Id} is not running`);
    live.container.resize(rows, cols);
  }

  /** docker exec (create): a process to start in a running container. */
  createExec(ref: string, body: ExecBody): ExecRecord {
    const r = this.find(ref);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ApiError(400, 'the request body must be a JSON object', 'e.g. {"Cmd": ["ps"], "AttachStdout": true}');
    if (!Array.isArray(body.Cmd) || !body.Cmd.length || body.Cmd.some((c) => typeof c !== 'string')) throw new ApiError(400, 'No exec command specified', 'give "Cmd": ["program", "args"…]');
    if (!this.live.has(r.Id) || r.State.Status !== 'running') throw new ApiError(409, `Container ${r.Id} is not running`);
    const record: ExecRecord = {
      ID: randomBytes(32).toString('hex'),
      ContainerID: r.Id,
      Running: false,
      ExitCode: null,
      Pid: 0,
      ProcessConfig: { tty: !!body.Tty, entrypoint: body.Cmd[0], arguments: body.Cmd.slice(1), user: body.User ?? '', privileged: !!body.Privileged },
      OpenStdin: !!body.AttachStdin,
      Body: body,
    };
    this.execs.set(record.ID, { record, hub: new Hub(!!body.Tty, true) });
    this.event(r, `exec_create: ${body.Cmd.join(' ')}`, { execID: record.ID }); // docker's action names
    return record;
  }

  private exec(id: string) {
    const e = this.execs.get(id);
    if (!e) throw new ApiError(404, `No such exec instance: ${id}`);
    return e;
  }

  inspectExec(id: string): Omit<ExecRecord, 'Body'> & { CanRemove: boolean } {
    const { record } = this.exec(id);
    const { Body: _body, ...shown } = record;
    return { ...shown, CanRemove: false };
  }

  /** The exec's hub, to attach to before it starts. */
  execHub(id: string): Hub {
    return this.exec(id).hub;
  }

  /** docker exec (start): the command joins the container's cgroup, namespaces and security
   *  settings (buildExecPlan). Resolves once it runs; `finished` when it has exited. */
  async startExec(id: string, consoleSize?: [number, number]): Promise<{ finished: Promise<void> }> {
    const e = this.exec(id);
    if (e.container) throw new ApiError(409, `Exec ${id} has already been started`);
    const r = this.find(e.record.ContainerID);
    if (!this.live.has(r.Id) || r.State.Status !== 'running' || !r.State.Pid) throw new ApiError(409, `Container ${r.Id} is not running`);
    const b = e.record.Body;
    let spec: ContainerSpec;
    let view: LayeredView | undefined;
    try {
      const image = r.Root ? await this.imageRun(r.Image, r.Root) : undefined;
      view = image?.view;
      const base = { ...r, Config: { ...r.Config, Tty: !!b.Tty, Cmd: b.Cmd!, Entrypoint: [], Env: [...r.Config.Env, ...(b.Env ?? [])], WorkingDir: b.WorkingDir || r.Config.WorkingDir, User: b.User || r.Config.User }, HostConfig: { ...r.HostConfig, Privileged: r.HostConfig.Privileged || b.Privileged } };
      spec = { ...this.specFor(base, undefined, image?.run), id: r.Id };
    } catch (err) {
      if (err instanceof NsxError) {
        e.record.ExitCode = err.exitCode;
        throw new ApiError(err.exitCode === 127 || err.exitCode === 126 ? 400 : 500, `OCI runtime exec failed: ${err.message}`, err.info.hint);
      }
      throw err;
    }
    const plan = buildExecPlan(spec, hostFacts(spec.root.path, compileForHost, spec.root.overlay ? view : undefined), r.State.Pid);
    const container = new Container(spec, plan, [b.AttachStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], false);
    e.container = container;
    let drained: Promise<void> = Promise.resolve();
    container.on((ev) => {
      if (ev.type !== 'started') return;
      e.record.Running = true;
      e.record.Pid = ev.pid;
    });
    const started = new Promise<void>((resolve) => container.on((ev) => ev.type === 'started' && resolve()));
    const run = container.run({
      spawned: (c) => {
        drained = e.hub.connect(c);
        if (consoleSize && consoleSize[0] > 0 && consoleSize[1] > 0) c.resize(consoleSize[0], consoleSize[1]);
      },
    });
    const finished = run.then(async (result) => {
      await Promise.race([drained, new Promise((res) => setTimeout(res, 2000))]);
      e.record.Running = false;
      e.record.ExitCode = result.exitCode;
      if (result.error) e.record.Error = result.error.message;
      e.hub.emit('end');
    });
    e.done = finished;
    const cmd = b.Cmd!.join(' ');
    void started.then(() => this.event(r, `exec_start: ${cmd}`, { execID: id }));
    void finished.then(() => this.event(r, 'exec_die', { execID: id, exitCode: String(e.record.ExitCode) }));
    const first = await Promise.race([started.then(() => undefined), run]);
    if (first !== undefined && first.error) {
      await finished;
      throw new ApiError(first.exitCode === 126 || first.exitCode === 127 ? 400 : 500, `OCI runtime exec failed: ${first.error.message}`, first.error.info.hint);
    }
    return { finished };
  }

  resizeExec(id: string, rows: number, cols: number): void {
    const e = this.exec(id);
    if (!e.container || !e.record.Running) throw new ApiError(409, `Exec ${id} is not running`);
    e.container.resize(rows, cols);
  }

  private exited(r: ContainerRecord, result: RunResult): RunResult {
    const live = this.live.get(r.Id);
    if (live) closeSync(live.logFd);
    this.live.delete(r.Id);
    this.hubs.get(r.Id)?.emit('end');
    r.State = { ...r.State, Status: 'exited', Pid: 0, ExitCode: result.exitCode, OOMKilled: result.oomKilled, Error: result.error?.message ?? '', FinishedAt: new Date().toISOString() };
    if (r.State.StartedAt === NEVER) r.State.StartedAt = r.State.FinishedAt;
    for (const w of this.nextExit.get(r.Id) ?? []) w();
    this.nextExit.delete(r.Id);
    if (!this.records.has(r.Id)) return result; // removed meanwhile (rm -f)
    if (result.oomKilled) this.event(r, 'oom');
    this.event(r, 'die', { exitCode: String(result.exitCode) });
    if (this.restartWanted(r, result)) {
      const count = (r.RestartCount ?? 0) + 1;
      r.RestartCount = count;
      r.State.Status = 'restarting';
      this.save();
      const timer = setTimeout(() => {
        this.restarts.delete(r.Id);
        this.start(r.Id, true).catch((e: Error) => {
          r.State = { ...r.State, Status: 'exited', Error: `restart ${count} failed: ${e.message}` };
          this.save();
          this.settle(r.Id);
        });
      }, Math.min(100 * 2 ** (count - 1), 60_000));
      this.restarts.set(r.Id, timer);
      return result;
    }
    if (r.HostConfig.AutoRemove) this.forget(r);
    else this.save();
    this.settle(r.Id);
    return result;
  }

  /** docker's restart policies: no, always, unless-stopped, on-failure[:N] (only a non-zero exit). */
  private restartWanted(r: ContainerRecord, result: RunResult): boolean {
    const p = r.HostConfig.RestartPolicy;
    if (!p || this.shuttingDown || r.ManuallyStopped) return false;
    if (p.Name === 'always' || p.Name === 'unless-stopped') return true;
    if (p.Name !== 'on-failure' || result.exitCode === 0) return false;
    return !p.MaximumRetryCount || (r.RestartCount ?? 0) < p.MaximumRetryCount;
  }

  private settle(id: string): void {
    this.settled.get(id)?.resolve();
    this.settled.delete(id);
  }

  private untilSettled(id: string): Promise<void> {
    let s = this.settled.get(id);
    if (!s) {
      let resolve!: () => void;
      const promise = new Promise<void>((res) => (resolve = res));
      s = { promise, resolve };
      this.settled.set(id, s);
    }
    return s.promise;
  }

  /** Cancels a scheduled restart: the container stays exited. */
  private cancelRestart(r: ContainerRecord): boolean {
    const timer = this.restarts.get(r.Id);
    if (!timer) return false;
    clearTimeout(timer);
    this.restarts.delete(r.Id);
    r.State.Status = 'exited';
    this.save();
    this.settle(r.Id);
    return true;
  }

  /** docker kill: a signal to PID 1 (SIGKILL by default). */
  kill(ref: string, signal = 'SIGKILL'): void {
    const r = this.find(ref);
    const live = this.live.get(r.Id);
    if (!live || r.State.Status !== 'running') throw new ApiError(409, `Cannot kill container: ${ref}: Container ${r.Id} is not running`);
    const sig = parseSignal(signal);
    r.ManuallyStopped = true;
    live.container.signal(sig);
    this.event(r, 'kill', { signal: String(sig) });
  }

  /** docker stop: SIGTERM, then SIGKILL after t seconds. Resolves when it has exited. */
  async stop(ref: string, t = 10): Promise<'stopped' | 'already'> {
    const r = this.find(ref);
    const live = this.live.get(r.Id);
    r.ManuallyStopped = true;
    if (this.cancelRestart(r)) return 'stopped';
    if (!live) return 'already';
    live.container.signal(15);
    this.event(r, 'kill', { signal: '15' });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((res) => (timer = setTimeout(() => res('late'), t * 1000)));
    if ((await Promise.race([live.done, late])) === 'late') live.container.signal(9);
    clearTimeout(timer);
    await live.done;
    return 'stopped';
  }

  /** docker wait: the exit code, once the container is not running. condition=next-exit (or
   *  removed, for --rm) waits for the next exit even when it has not started yet (docker run asks
   *  before it starts the container, so a quick exit cannot be missed). */
  async wait(ref: string, condition = 'not-running'): Promise<{ StatusCode: number; Error: { Message: string } | null }> {
    const r = this.find(ref);
    if (!['not-running', 'next-exit', 'removed'].includes(condition)) throw new ApiError(400, `invalid condition: "${condition}"`, 'use not-running, next-exit or removed');
    if (condition === 'next-exit') await new Promise<void>((res) => this.nextExit.set(r.Id, [...(this.nextExit.get(r.Id) ?? []), res]));
    else if (condition === 'removed' || this.live.has(r.Id) || this.restarts.has(r.Id)) await this.untilSettled(r.Id); // through restarts, to the last exit
    return { StatusCode: r.State.ExitCode, Error: r.State.Error ? { Message: r.State.Error } : null };
  }

  /** docker rm [-f]. */
  async remove(ref: string, force: boolean): Promise<void> {
    const r = this.find(ref);
    const live = this.live.get(r.Id);
    if (this.restarts.has(r.Id)) {
      if (!force) throw new ApiError(409, `You cannot remove a restarting container ${r.Id}. Stop the container before attempting removal or force remove`);
      this.cancelRestart(r);
    }
    if (live) {
      if (!force) throw removeRunning(r.Id);
      r.ManuallyStopped = true;
      live.container.signal(9);
      await live.done;
    }
    if (this.records.has(r.Id)) this.forget(r);
  }

  private forget(r: ContainerRecord): void {
    this.records.delete(r.Id);
    this.hubs.delete(r.Id);
    for (const [id, e] of this.execs) if (e.record.ContainerID === r.Id) this.execs.delete(id);
    this.event(r, 'destroy');
    this.save();
    rmSync(join(this.dir, 'containers', r.Id), { recursive: true, force: true });
    this.removeRoot(r);
  }

  /** The log file's contents (stdout and stderr together, in the order written). */
  logPath(ref: string): { path: string; running: () => boolean; done: Promise<unknown> } {
    const r = this.find(ref);
    const live = this.live.get(r.Id);
    return { path: r.LogPath, running: () => this.live.has(r.Id), done: live?.done ?? Promise.resolve() };
  }

  /** The host PIDs of the processes in the container's PID namespace. */
  private pidsOf(r: ContainerRecord): string[] {
    let ns: string;
    try {
      ns = readlinkSync(`/proc/${r.State.Pid}/ns/pid`);
    } catch {
      return [];
    }
    return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/ns/pid`) === ns;
      } catch {
        return false; // gone meanwhile
      }
    });
  }

  /** One sample of docker's stats: CPU time (ns) of the container's processes (utime + stime, and
   *  their reaped children's, from /proc/PID/stat), the host's CPU time, memory and pids from the
   *  container's cgroup (cgroups(7)). */
  stats(ref: string): Record<string, unknown> {
    const r = this.find(ref);
    if (r.State.Status !== 'running' || !r.State.Pid) throw new ApiError(409, `container ${r.Id} is not running`);
    const TICK_NS = 1e9 / 100; // USER_HZ: /proc counts CPU time in 1/100 s (proc(5))
    let ticks = 0;
    for (const pid of this.pidsOf(r)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]); // utime stime cutime cstime
      } catch {
        /* exited meanwhile */
      }
    }
    const cpuLine = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const system = cpuLine.reduce((a, b) => a + b, 0) * TICK_NS;
    let facts: { memoryCurrent?: number; memoryLimit?: number | 'max'; pidsCurrent?: number; pidsMax?: number | 'max' } = {};
    if (this.root) {
      try {
        facts = ContainerCgroup.open(detectLayout(), r.Id).facts();
      } catch {
        /* no cgroup (rootless): memory and pids unknown */
      }
    }
    const memLimit = typeof facts.memoryLimit === 'number' ? facts.memoryLimit : totalmem();
    return {
      read: new Date().toISOString(),
      id: r.Id,
      name: `/${r.Name}`,
      pids_stats: { current: facts.pidsCurrent ?? this.pidsOf(r).length, ...(typeof facts.pidsMax === 'number' ? { limit: facts.pidsMax } : {}) },
      memory_stats: facts.memoryCurrent !== undefined ? { usage: facts.memoryCurrent, limit: memLimit } : {},
      cpu_stats: { cpu_usage: { total_usage: ticks * TICK_NS }, system_cpu_usage: system, online_cpus: cpus().length },
    };
  }

  /** docker top: the container's processes as the host sees them (ps(1) on the host, the processes
   *  whose PID namespace is the container's): host PIDs, not the 1, 2, 3 seen inside. */
  top(ref: string): { Titles: string[]; Processes: string[][] } {
    const r = this.find(ref);
    if (r.State.Status !== 'running' || !r.State.Pid) throw new ApiError(409, `container ${r.Id} is not running`);
    const pids = this.pidsOf(r);
    if (!pids.length) throw new ApiError(409, `container ${r.Id} is not running`);
    const out = spawnSync('ps', ['-o', 'user=UID', '-o', 'pid=PID', '-o', 'ppid=PPID', '-o', 'c=C', '-o', 'stime=STIME', '-o', 'tty=TTY', '-o', 'time=TIME', '-o', 'cmd=CMD', '-p', pids.join(',')], { encoding: 'utf8' }); // docker's ps -ef columns
    if (out.status !== 0 && !out.stdout) throw new ApiError(500, `ps failed: ${out.stderr || out.error?.message}`, 'ps(1) comes with procps: apt-get install procps');
    const [head, ...lines] = out.stdout.trimEnd().split('\n');
    const Titles = head.trim().split(/\s+/);
    const Processes = lines.map((l) => {
      const f = l.trim().split(/\s+/);
      return [...f.slice(0, Titles.length - 1), f.slice(Titles.length - 1).join(' ')];
    });
    return { Titles, Processes };
  }

  /** docker inspect's shape, plus what nsx can show of the live process (Nsx). */
  inspect(ref: string): Record<string, unknown> {
    const r = this.find(ref);
    const s = r.State;
    return {
      Id: r.Id,
      Created: r.Created,
      Path: r.Path,
      Args: r.Args,
      State: { Status: s.Status, Running: s.Status === 'running', Paused: false, Restarting: s.Status === 'restarting', OOMKilled: s.OOMKilled, Dead: false, Pid: s.Pid, ExitCode: s.ExitCode, Error: s.Error, StartedAt: s.StartedAt, FinishedAt: s.FinishedAt },
      Image: r.Image,
      LogPath: r.LogPath,
      ...(r.Root ? { GraphDriver: { Name: r.Root.overlay ? 'overlay2' : 'copy', Data: r.Root.overlay ? { LowerDir: r.Root.overlay.lowerdirs.join(':'), UpperDir: r.Root.overlay.upper, WorkDir: r.Root.overlay.work, MergedDir: r.Root.overlay.target } : { RootDir: r.Root.path } } } : {}),
      Name: `/${r.Name}`,
      RestartCount: r.RestartCount ?? 0,
      HostConfig: r.HostConfig,
      Config: r.Config,
      Nsx: { ...this.facts(r), ...(this.stepOf(r) ? { Step: this.stepOf(r) } : {}) },
    };
  }

  /** Namespace ids, cgroup, capabilities and seccomp mode: read from /proc when it runs, else the spec's. */
  private facts(r: ContainerRecord): Record<string, unknown> {
    const pid = r.State.Status === 'running' ? r.State.Pid : 0;
    if (pid) {
      try {
        const status = parseStatus(readFileSync(`/proc/${pid}/status`, 'utf8'));
        const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
        const seccomp = ({ '0': 'disabled', '1': 'strict', '2': 'filter' } as Record<string, string>)[status.Seccomp ?? ''] ?? 'unknown';
        return { Rootfs: r.Rootfs, Pid: pid, Namespaces: namespacesOf(pid), Cgroup: cgroup, Capabilities: decodeCapMask(status.CapEff ?? '0'), Seccomp: seccomp, NoNewPrivs: status.NoNewPrivs === '1' };
      } catch {
        /* it just exited: fall through to what was asked for */
      }
    }
    const h = r.HostConfig;
    let caps: string[] = [];
    try {
      caps = effectiveCaps({ add: h.CapAdd ?? undefined, drop: h.CapDrop ?? undefined, privileged: h.Privileged });
    } catch {
      /* checked at create */
    }
    const unconfined = h.Privileged || (h.SecurityOpt ?? []).some((o) => /^seccomp[=:]unconfined$/.test(o));
    return { Rootfs: r.Rootfs, Pid: 0, Namespaces: {}, Cgroup: [], Capabilities: caps, Seccomp: unconfined ? 'disabled' : 'filter' };
  }

  /** Docker's STATUS column: "Up 3 seconds", "Exited (7) 2 seconds ago", "Created". */
  static statusText(r: ContainerRecord, now = Date.now(), step?: { Index: number; Total: number; Id: string; Paused: boolean }): string {
    const s = r.State;
    if (step && s.Status === 'created') return `Created, ${step.Paused ? 'paused before' : 'applying'} step ${step.Index}/${step.Total} (${step.Id})`;
    if (s.Status === 'running') return `Up ${humanDuration(now - Date.parse(s.StartedAt))}`;
    if (s.Status === 'exited') return `Exited (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    if (s.Status === 'restarting') return `Restarting (${s.ExitCode}) ${humanDuration(now - Date.parse(s.FinishedAt))} ago`;
    if (s.Status === 'removing') return 'Removal In Progress';
    return 'Created';
  }

  /** On SIGTERM: the containers go with the engine (docker without live-restore), killed, recorded. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    for (const r of this.records.values()) this.cancelRestart(r);
    for (const id of this.live.keys()) this.records.get(id)!.StoppedWithEngine = true;
    const all = [...this.live.values()];
    for (const l of all) l.container.abort(137);
    await Promise.all(all.map((l) => l.done));
    this.save();
  }
}

/** nsx's options in a create request, checked for shape: a client's spec and plan are run as they
 *  are (the socket admits only its owner, who could run anything anyway), but malformed ones are refused. */
export function checkNsx(n: NsxOptions): NsxOptions {
  if (typeof n !== 'object' || n === null || Array.isArray(n)) throw new ApiError(400, 'Nsx must be an object', 'e.g. {"Step": true}');
  const s = n.Spec;
  if (s !== undefined && (typeof s !== 'object' || !/^[0-9a-f]{64}$/.test(String(s?.id)) || typeof s.root?.path !== 'string' || !Array.isArray(s.process?.args) || !Array.isArray(s.linux?.namespaces))) {
    throw new ApiError(400, 'Nsx.Spec is not a container spec', 'a spec as src/runtime/options.ts makes it: id (64 hex digits), process, root, linux');
  }
  if ((n.Plan === undefined) !== (s === undefined) || (n.Plan !== undefined && (!Array.isArray(n.Plan) || n.Plan.some((p) => typeof p?.id !== 'string' || !Array.isArray(p.actions))))) {
    throw new ApiError(400, 'Nsx.Spec and Nsx.Plan come together, the plan a list of steps with their actions', 'build both with buildPlan (src/runtime/plan.ts)');
  }
  if (n.RunAs !== undefined && (!Number.isInteger(n.RunAs?.uid) || !Number.isInteger(n.RunAs?.gid))) throw new ApiError(400, 'Nsx.RunAs needs a numeric uid and gid');
  return { ...n };
}

/** docker's checks of HostConfig.RestartPolicy (runconfig/hostconfig.go), in its words. */
export function checkRestartPolicy(h: HostConfig): void {
  const p = h.RestartPolicy;
  if (!p || p.Name === '' || p.Name === 'no') {
    if (p?.MaximumRetryCount) throw new ApiError(400, `invalid restart policy: maximum retry count can only be used with 'on-failure'`);
    return;
  }
  if (!['always', 'unless-stopped', 'on-failure'].includes(p.Name)) throw new ApiError(400, `invalid restart policy: unknown policy '${p.Name}'; use one of 'no', 'always', 'unless-stopped', or 'on-failure'`);
  if (p.Name !== 'on-failure' && p.MaximumRetryCount) throw new ApiError(400, `invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (p.MaximumRetryCount !== undefined && (!Number.isInteger(p.MaximumRetryCount) || p.MaximumRetryCount < 0)) throw new ApiError(400, 'invalid restart policy: maximum retry count must be a positive integer');
  if (h.AutoRemove) throw new ApiError(400, `conflicting options: cannot specify both --restart and --rm`);
}

/** "SIGTERM", "TERM", "term" or "15" → 15. */
export function parseSignal(text: string): number {
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 64) return n;
  } else {
    const n = signalNumber(`SIG${text.toUpperCase().replace(/^SIG/, '')}`);
    if (n) return n;
  }
  throw new ApiError(400, `Invalid signal: ${text}`, 'e.g. SIGTERM, TERM, 15, SIGKILL');
}
