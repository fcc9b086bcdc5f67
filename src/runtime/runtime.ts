// Runs a plan: one step at a time, each applied by the shim (or by nsx on the host), then observed
// on the live process and reported as an event. Whatever happens — a failed step, Ctrl-C, quitting
// from --step — the container is killed and everything it had on the host is removed.
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import type { StdioOptions } from 'node:child_process';
import { ContainerCgroup, detectLayout, removeStaleCgroups, type CgroupLayout } from './cgroups/index.js';
import { NsxError, errnoName } from './errors.js';
import type { EventListener, FailureInfo, RuntimeEvent, StepSummary } from './events.js';
import { hintFor } from './hints.js';
import { changedFacts, hostView, parseInside, processFacts, type Evidence } from './observe.js';
import type { Action, CgroupLimits, HostAction } from './actions.js';
import { deviceFilterOp, writeV1DeviceRules, type DeviceRule } from './devices/index.js';
import type { PlannedStep } from './plan.js';
import { describeStep } from './steps/step.js';
import { removeVeth, setupVeth, type VethFacts } from './network.js';
import { Shim, ShimError, signalName, type ExitStatus, type HostUser } from './shim.js';
import { writeFilesAs } from './as-user.js';
import { defaultProfileText, loadProfile } from './lsm/apparmor.js';
import type { ShimOp } from './shim-ops.js';
import type { ContainerSpec } from './spec.js';

export interface RunHooks {
  /** Called before each step that will do something; 'quit' stops and cleans up. */
  beforeStep?: (step: PlannedStep, index: number, container: Container) => Promise<'apply' | 'quit'>;
  /** Removes what the container had outside the runtime's own reach (an image's writable layer),
   *  once its processes are gone; returns what it removed, for the cleaned-up event. */
  cleanup?: () => string[];
  /** Called once the shim runs, before the first step: its stdio pipes exist from here on. */
  spawned?: (container: Container) => void;
  /** Awaited after the command exited (the exited event), before anything is cleaned up. */
  afterExit?: () => Promise<void>;
}

export interface RunResult {
  /** The exit status nsx should use, docker's way: the command's code, 125/126/127, or 128+signal. */
  exitCode: number;
  oomKilled: boolean;
  /** Set when the runtime, not the command, failed. */
  error?: NsxError;
}

/** Docker's exit codes (docker run reference, "Exit status"). */
export function exitCodeFor(st: ExitStatus): number {
  return st.signal !== undefined ? 128 + st.signal : st.code;
}

export const ABORTED_EXIT = 130;

function summary(s: PlannedStep): StepSummary {
  return { ...describeStep(s), notes: s.notes, ...(s.skip ? { skip: s.skip } : {}) };
}

/** A shim instruction without the action's kind: what goes on the wire. */
function opOf(a: Extract<Action, { kind: 'shim' }>): ShimOp {
  const { kind: _, ...op } = a;
  return op as ShimOp;
}

export class Container {
  readonly events = new EventEmitter();
  private shim?: Shim;
  private cgroup?: ContainerCgroup;
  private veth?: VethFacts;
  private layout?: CgroupLayout;
  private lastEvidence?: Evidence;
  private aborted = false;
  private abortedExit = ABORTED_EXIT;
  private abortWaiters: (() => void)[] = [];
  private removed: string[] = [];
  private hooks: RunHooks = {};

  constructor(
    readonly spec: ContainerSpec,
    readonly plan: PlannedStep[],
    private readonly stdio: StdioOptions = 'inherit',
    /** Read evidence after every step. Off for plain `nsx run` (no --step, --trace or --events):
     *  then the shim's instructions are also sent ahead without waiting for each reply. */
    private readonly observing = true,
    /** Run the container's processes as this host user (rootless on their behalf; the plan must be
     *  built for a non-root host): the shim and the id-map writes are theirs, nsx only watches. */
    private readonly runAs?: HostUser,
    /** A shim started while the plan was built (startShimEarly, with these stdio and runAs); run() uses it. */
    private readonly earlyShim?: Promise<Shim>,
  ) {}

  get id(): string {
    return this.spec.id;
  }

  on(listener: EventListener): this {
    this.events.on('event', listener);
    return this;
  }

  private emit(e: RuntimeEvent): void {
    this.events.emit('event', e);
  }

  /** The process a learner (or nsenter) should look at now: the shim, then PID 1 once forked. */
  get pid(): number | undefined {
    return this.shim?.initPid ?? this.shim?.pid;
  }

  /** Whether a step that forks PID 1 is applied (nsenter into the PID namespace works only then). */
  get forked(): boolean {
    return this.appliedSteps().some((s) => s.forks);
  }

  /** Whether a step that changes the root is applied: a shell must enter /proc/PID/root. */
  get rootChanged(): boolean {
    return this.appliedSteps().some((s) => s.changesRoot);
  }

  /** Whether the container's command has started (its exec step is applied). */
  get commandStarted(): boolean {
    return this.appliedSteps().some((s) => s.startsCommand);
  }

  private appliedSteps(): PlannedStep[] {
    return this.plan.filter((s) => this.applied.has(s.id));
  }

  /** The container's output streams, when it was made with 'pipe' stdio (the lesson player shows them). */
  get stdin(): NodeJS.WritableStream | null {
    return this.shim?.process.stdin ?? null;
  }
  get stdout(): NodeJS.ReadableStream | null {
    return this.shim?.process.stdout ?? null;
  }
  get stderr(): NodeJS.ReadableStream | null {
    return this.shim?.process.stderr ?? null;
  }

  /** Steps applied so far, by id. */
  readonly applied = new Set<string>();

  /** The veth pair, if --network veth set one up. */
  get network(): VethFacts | undefined {
    return this.veth;
  }

  /** Ctrl-C, SIGTERM or 'q': kill the container; run() then cleans up and resolves with exitCode
   *  (130 for Ctrl-C and q, 143 for SIGTERM, 129 for a hang-up: 128 + the signal, as shells do). */
  abort(exitCode = ABORTED_EXIT): void {
    if (!this.aborted) this.abortedExit = exitCode;
    this.aborted = true;
    this.shim?.kill(9);
    for (const w of this.abortWaiters.splice(0)) w();
  }

  /** docker kill/stop: sends a signal to PID 1 (through the supervisor); run() then resolves with
   *  the container's own exit status (128 + the signal if it dies of it). */
  signal(sig: number): void {
    this.shim?.kill(sig);
  }

  /** The terminal's size (TIOCSWINSZ on the pty's master, through the supervisor), for -t. */
  resize(rows: number, cols: number): void {
    this.shim?.resize(rows, cols);
  }

  private abortable<T>(p: Promise<T>): Promise<T | 'aborted'> {
    if (this.aborted) return Promise.resolve('aborted');
    return Promise.race([p, new Promise<'aborted'>((r) => this.abortWaiters.push(() => r('aborted')))]);
  }

  async run(hooks: RunHooks = {}): Promise<RunResult> {
    this.hooks = hooks;
    const steps = this.plan.map(summary);
    this.emit({
      type: 'created',
      id: this.id,
      name: this.spec.name,
      rootfs: this.spec.root.path,
      command: this.spec.process.args,
      steps,
    });
    // Nobody watches between steps: instructions go out without waiting for each reply (and, past
    // each step, those of the steps after it up to the next host action, fork or exec).
    const pipeline = !hooks.beforeStep && !this.observing;
    try {
      this.shim = await (this.earlyShim ?? Shim.start(this.stdio, this.runAs));
      hooks.spawned?.(this);
      if (this.observing) this.lastEvidence = this.observe(await this.inside()); // the baseline the first step is compared with
      for (const [index, step] of this.plan.entries()) {
        const s = steps[index];
        if (step.skip) {
          this.emit({ type: 'step-skipped', index, step: s, reason: step.skip });
          continue;
        }
        this.emit({ type: 'step-started', index, step: s });
        if (hooks.beforeStep) {
          const choice = await this.abortable(hooks.beforeStep(step, index, this));
          if (choice !== 'apply') this.aborted = true;
        }
        if (this.aborted) return await this.finish({ exitCode: this.abortedExit, oomKilled: false });
        try {
          await this.applyActions(step.actions, pipeline);
        } catch (e) {
          if (this.aborted) return await this.finish({ exitCode: this.abortedExit, oomKilled: false });
          const err = this.teach(e, step);
          this.emit({ type: 'step-failed', index, step: s, error: failureInfo(err) });
          return await this.finish({ exitCode: err.exitCode, oomKilled: false, error: err });
        }
        if (pipeline && !this.shim.sentAhead && !step.startsCommand) this.shim.sendAhead(this.shimOpsAhead(index + 1));
        if (step.startsCommand) {
          this.emit({ type: 'started', pid: this.shim.initPid! });
          // A quick command may already be gone: then there is nothing true left to show. An exiting
          // process loses its mount namespace (and uts, ipc, net...) before it is reaped, keeping only
          // its user and PID namespace links, so a missing mnt link means "gone" too.
          const after = this.observing ? this.observe(undefined, step) : undefined;
          // The facts are read one file at a time, so the process can exit between two reads: only a
          // complete set (its mount namespace, mounts and root all still there) is shown.
          const whole = after?.process.ns.mnt && after.process.mounts.length > 0 && after.process.root !== '';
          if (whole) this.emitApplied(index, s, after);
          else {
            this.applied.add(s.id);
            this.emit({ type: 'step-applied', index, step: s, changed: [] });
          }
          break;
        }
        if (this.observing) this.emitApplied(index, s, this.observe(await this.inside(), step));
        else {
          this.applied.add(s.id);
          this.emit({ type: 'step-applied', index, step: s, changed: [] });
        }
      }
      const st = await this.shim.waitExit();
      // docker's State.OOMKilled: the command itself died of the OOM killer's SIGKILL. A child killed
      // for memory while PID 1 lives on is counted in the cgroup but does not end the container.
      const oomKilled = st.signal === 9 && (this.cgroup?.oomKilled() ?? false);
      const exitCode = this.aborted ? this.abortedExit : exitCodeFor(st);
      this.emit({
        type: 'exited',
        exitCode,
        ...(st.signal !== undefined ? { signal: signalName(st.signal) } : { code: st.code }),
        oomKilled,
      });
      if (hooks.afterExit) await this.abortable(hooks.afterExit());
      return await this.finish({ exitCode, oomKilled });
    } catch (e) {
      const err = e instanceof NsxError ? e : new NsxError(String((e as Error)?.message ?? e));
      return await this.finish({ exitCode: err.exitCode, oomKilled: false, error: err });
    }
  }

  private emitApplied(index: number, step: StepSummary, evidence: Evidence): void {
    this.applied.add(step.id);
    const changed = changedFacts(this.lastEvidence, evidence);
    this.lastEvidence = evidence;
    this.emit({ type: 'step-applied', index, step, evidence, changed });
  }

  private async inside() {
    try {
      return parseInside(await this.shim!.call({ op: 'observe' }));
    } catch {
      return undefined;
    }
  }

  private observe(inside: Evidence['inside'], step?: PlannedStep): Evidence {
    // After a chroot the namespace still holds every host mount, but /proc/PID/mountinfo shows only
    // those under the new root: count the namespace's own (a process start, so only here). After
    // pivot_root there is no other root to count from: the old one was detached.
    const namespaceMounts = !!step?.changesRoot && this.spec.nsx.rootMode === 'chroot';
    return {
      host: hostView(),
      process: processFacts(this.pid!, {
        rootfs: this.spec.root.path,
        overlayUpper: this.spec.root.overlay?.upper,
        namespaceMounts,
      }),
      ...(inside ? { inside } : {}),
    };
  }

  /** The shim instructions of the steps from `from` on, up to the first host action, fork or exec. */
  private shimOpsAhead(from: number): ShimOp[] {
    const ops: ShimOp[] = [];
    for (const step of this.plan.slice(from)) {
      if (step.skip) continue;
      for (const a of step.actions) {
        if (a.kind !== 'shim' || a.op === 'fork' || a.op === 'exec') return ops;
        ops.push(opOf(a));
      }
    }
    return ops;
  }

  /** A step's actions in order; consecutive shim instructions go out together when pipelining
   *  (fork and exec alone: their replies come from different processes). */
  private async applyActions(actions: Action[], pipeline: boolean): Promise<void> {
    let batch: ShimOp[] = [];
    const flush = async () => {
      if (batch.length) await this.shim!.callMany(batch);
      batch = [];
    };
    for (const a of actions) {
      if (pipeline && a.kind === 'shim' && a.op !== 'fork' && a.op !== 'exec') {
        batch.push(opOf(a));
        continue;
      }
      await flush();
      await this.apply(a);
    }
    await flush();
  }

  private async apply(a: Action): Promise<void> {
    const shim = this.shim!;
    if (a.kind === 'shim') {
      const op = opOf(a);
      if (op.op === 'fork') await shim.fork();
      else if (op.op === 'exec') await shim.exec(op);
      else await shim.call(op);
      return;
    }
    switch (a.op) {
      case 'cgroup':
        return this.joinCgroup(a.limits);
      case 'cgroup-join': // docker exec: the running container's cgroup, not one of our own to remove
        ContainerCgroup.open(detectLayout(), a.id).addProcess(shim.pid);
        return;
      case 'devices':
        return this.setDevices(a.via, a.rules);
      case 'apparmor-load':
        loadProfile(defaultProfileText(a.profile));
        return;
      case 'id-maps':
        return this.writeIdMaps(a);
      case 'veth':
        this.veth = setupVeth(this.id, shim.pid);
        return;
    }
  }

  /** The device cgroup (devices.rst; cgroup-v2.rst "Device controller"): v1's rules written by nsx
   *  into the container's devices cgroup (the shim joined it with the cgroup step), or the eBPF
   *  program loaded and attached by the shim's worker, which is still root in the host's user namespace. */
  private async setDevices(via: 'v1' | 'bpf', rules: DeviceRule[]): Promise<void> {
    const dir = via === 'v1' ? this.cgroup?.devicesDir : this.cgroup?.unifiedDir;
    if (!dir) {
      throw new NsxError(`devices: the container has no ${via === 'v1' ? 'v1 devices' : 'cgroup2'} cgroup`, {
        hint: 'the devices step needs the cgroup step before it (as root): run `nsx doctor` to see the layout',
      });
    }
    if (via === 'v1') writeV1DeviceRules(dir, rules);
    else await this.shim!.call(deviceFilterOp(dir, rules));
  }

  /** cgroups(7): create the container's cgroup, write the limits, move the shim in (children follow). */
  private async joinCgroup(limits: CgroupLimits): Promise<void> {
    this.layout = detectLayout();
    removeStaleCgroups(this.layout);
    this.cgroup = ContainerCgroup.create(this.layout, this.id, limits);
    // If nsx dies, the supervisor removes these; normally finish() does, after reading OOM counts.
    this.shim!.registerCleanup(...this.cgroup.paths);
    this.cgroup.addProcess(this.shim!.pid);
  }

  /** user_namespaces(7): written by a process in the parent namespace, once each. */
  private writeIdMaps({ uidMap, gidMap, setgroups }: Extract<HostAction, { op: 'id-maps' }>): void {
    const pid = this.shim!.pid;
    const fail = (file: string, text: string, code: string) =>
      new NsxError(`write /proc/${pid}/${file} (${text.trim().replace(/\n/g, '; ')}): ${code}`, {
        syscall: 'write',
        hint: hintFor('userns', { syscall: 'write', errnoName: code, detail: file }, this.spec),
      });
    const writes: [string, string][] = [
      ['uid_map', uidMap],
      ...(setgroups === 'deny' ? [['setgroups', 'deny'] as [string, string]] : []),
      ['gid_map', gidMap],
    ];
    // On a user's behalf the user writes them, under the unprivileged rules (the writer's own id only).
    if (this.runAs) {
      const failed = writeFilesAs(
        this.runAs,
        writes.map(([f, t]) => [`/proc/${pid}/${f}`, t]),
      );
      const file = failed?.path.split('/').pop() ?? '';
      if (failed) throw fail(file, writes.find(([f]) => f === file)?.[1] ?? '', failed.code);
      return;
    }
    for (const [file, text] of writes) {
      try {
        writeFileSync(`/proc/${pid}/${file}`, text);
      } catch (e) {
        throw fail(file, text, (e as NodeJS.ErrnoException).code ?? 'EIO');
      }
    }
  }

  /** Turns any failure into an NsxError that names the syscall and teaches the likely fix. */
  private teach(e: unknown, step: PlannedStep): NsxError {
    if (e instanceof ShimError) {
      const f = e.failure;
      const hint = hintFor(
        step.id,
        { syscall: f.syscall, errnoName: errnoName(f.errno), detail: f.detail, before: [...this.applied] },
        this.spec,
      );
      const exitCode = step.startsCommand ? (f.errno === 2 || f.errno === 20 ? 127 : 126) : 125;
      // docker's (runc's) words for a command the kernel refuses to take: "exec /bin/echo: argument list too long".
      const message =
        step.startsCommand && errnoName(f.errno) === 'E2BIG'
          ? `exec ${f.detail}: argument list too long (E2BIG)`
          : `${step.id}: ${e.message}`;
      return new NsxError(message, { ...e.info, hint, exitCode });
    }
    if (e instanceof NsxError) return e;
    return new NsxError(`${step.id}: ${(e as Error)?.message ?? e}`);
  }

  /** Kills what is left and removes everything the container had on the host. Idempotent. */
  private async finish(result: RunResult): Promise<RunResult> {
    const shim = this.shim;
    if (shim) {
      shim.kill(9);
      await within(shim.waitExit(), 5000);
      shim.close();
      await within(shim.gone(), 5000);
    }
    if (this.veth) {
      removeVeth(this.id); // usually gone already: the kernel deletes the pair with the namespace
      this.removed.push(`veth ${this.veth.hostIf}`);
    }
    if (this.cgroup) {
      this.cgroup.killAll(); // what joined it and outlived PID 1 (an exec's shell): cgroups(7) removes only an empty one
      await this.cgroup.remove();
      this.removed.push(...this.cgroup.paths);
      this.cgroup = undefined;
    }
    if (this.hooks.cleanup) {
      try {
        this.removed.push(...this.hooks.cleanup());
      } catch (e) {
        this.removed.push(`not removed: ${(e as Error).message}`);
      }
    }
    this.emit({ type: 'cleaned-up', removed: this.removed });
    return result;
  }
}

/** Waits for p, but no longer than ms; the timer is cleared so it cannot keep nsx alive afterwards. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function failureInfo(err: NsxError): FailureInfo {
  return {
    message: err.message,
    ...(err.info.syscall ? { syscall: err.info.syscall } : {}),
    ...(err.info.errno !== undefined ? { errno: err.info.errno, errnoName: errnoName(err.info.errno) } : {}),
    ...(err.info.hint ? { hint: err.info.hint } : {}),
  };
}
