// A stepped container of the engine's, driven from another process as if it were a Container in
// this one: the lesson player sends options (a create body, src/engine/body.ts), the engine builds
// the spec and plan and runs them one step at a time (Nsx {Step, PauseAtExit}), and this class turns
// the engine's stream of runtime events back into events here and the player's answers into
// POST …/step. `nsx ps` in a second terminal shows the half-built container meanwhile.
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { NsxError } from '../runtime/errors.js';
import type { EventListener, RuntimeEvent } from '../runtime/events.js';
import type { RunResult } from '../runtime/runtime.js';
import type { VethFacts } from '../runtime/network.js';
import type { StepSummary } from '../runtime/events.js';
import type { EngineClient } from './client.js';
import { FrameDecoder } from './stream.js';
import type { CreateBody } from './validate.js';
import type { Created } from './verbs/create.js';

export interface RemoteHooks {
  beforeStep?: (step: StepSummary, index: number, container: RemoteContainer) => Promise<'apply' | 'quit'>;
}

export class RemoteContainer {
  readonly events = new EventEmitter();
  readonly applied = new Set<string>();
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  /** The process to look at now: the shim, then PID 1 once forked (as the engine reports it). */
  pid: number | undefined;
  /** The veth pair, once the engine made one (--network veth). */
  network: VethFacts | undefined;
  private aborted?: number;
  /** Resolves when the run is over for this side (aborted, or the engine's stream ended): a
   *  question still open then needs no answer. */
  private over!: () => void;
  private readonly overPromise = new Promise<'over'>((r) => (this.over = () => r('over')));

  private constructor(
    /** The engine it lives in (a shell inside it is an exec there: src/ui/shell.ts). */
    readonly client: EngineClient,
    readonly id: string,
    /** The plan's steps, as the engine made it at create. */
    readonly plan: StepSummary[],
    /** Its root filesystem (as the demos' {rootfs} names it). */
    readonly spec: { root: { path: string } },
  ) {}

  /** Creates the container, stepped and paused at its exit: the body's options (createBody) with
   *  Nsx.Step and Nsx.PauseAtExit, removed when it is over. Nothing runs until run(). */
  static async create(client: EngineClient, body: CreateBody, name?: string): Promise<RemoteContainer> {
    const stepped: CreateBody = {
      ...body,
      HostConfig: { ...body.HostConfig, AutoRemove: true },
      Nsx: { ...body.Nsx, Step: true, PauseAtExit: true },
    };
    const created = await client.call<Created>(
      'POST',
      `/containers/create${name ? `?name=${encodeURIComponent(name)}` : ''}`,
      stepped,
    );
    if (!created?.Nsx)
      throw new NsxError('the engine did not answer with the plan of a stepped container', {
        hint: 'an older nsxd runs: restart it (nsx engine stop; nsx engine start)',
      });
    return new RemoteContainer(client, created.Id, created.Nsx.Steps, { root: { path: created.Nsx.Rootfs } });
  }

  /** The steps applied so far, as the engine reported them. */
  private readonly appliedSteps: StepSummary[] = [];

  /** Whether a step that forks PID 1 is applied. */
  get forked(): boolean {
    return this.appliedSteps.some((s) => s.forks);
  }

  /** Whether a step that changes the root is applied: a shell must enter /proc/PID/root. */
  get rootChanged(): boolean {
    return this.appliedSteps.some((s) => s.changesRoot);
  }

  /** Whether the container's command has started (its exec step is applied). */
  get commandStarted(): boolean {
    return this.appliedSteps.some((s) => s.startsCommand);
  }

  on(listener: EventListener): this {
    this.events.on('event', listener);
    return this;
  }

  private path(what: string): string {
    return `/containers/${this.id}/${what}`;
  }

  /** Ctrl-C, or the player's time limit: the engine kills the container and cleans up (130: as nsx run's). */
  abort(exitCode = 130): void {
    this.aborted ??= exitCode;
    this.over();
    void this.client.call('POST', this.path(`step?action=abort&exit=${exitCode}`)).catch(() => {});
  }

  /** Asks the engine where the container stands: the process to enter now. */
  private async refresh(): Promise<void> {
    const info = await this.client
      .call<{ State: { Pid: number }; Nsx?: { Step?: { Pid: number; Network?: VethFacts } } }>('GET', this.path('json'))
      .catch(() => undefined);
    const pid = info?.Nsx?.Step?.Pid || info?.State.Pid;
    if (pid) this.pid = pid;
    if (info?.Nsx?.Step?.Network) this.network = info.Nsx.Step.Network;
  }

  async run(hooks: RemoteHooks = {}): Promise<RunResult> {
    const { socket, head } = await this.client.hijack(this.path('attach?stream=1&stdout=1&stderr=1'));
    const decoder = new FrameDecoder((s, d) => (s === 1 ? this.stdout : this.stderr).write(d));
    decoder.push(head);
    socket.on('data', (d: Buffer) => decoder.push(d));
    const waited = this.client.call<{ StatusCode: number }>('POST', this.path('wait?condition=removed'));
    let failure: Extract<RuntimeEvent, { type: 'step-failed' }>['error'] | undefined;
    let oomKilled = false;
    let queue = Promise.resolve();
    const answer = (action: string) => this.client.call('POST', this.path(`step?action=${action}`)).catch(() => {}); // gone: the stream ends
    const handle = async (e: RuntimeEvent) => {
      if (e.type === 'step-applied') {
        this.applied.add(e.step.id);
        this.appliedSteps.push(e.step);
      }
      if (e.type === 'step-applied' || e.type === 'step-started') await this.refresh();
      if (e.type === 'step-failed') failure = e.error;
      if (e.type === 'exited') oomKilled = e.oomKilled;
      this.events.emit('event', e);
      if (e.type === 'step-started' && hooks.beforeStep && this.aborted === undefined) {
        const choice = await Promise.race([hooks.beforeStep(e.step, e.index, this), this.overPromise]);
        if (choice !== 'over') await answer(choice);
      } else if (e.type === 'step-started') await answer(this.aborted === undefined ? 'apply' : 'quit');
      if (e.type === 'exited') await answer('apply'); // the listeners have read what they wanted: clean up
    };
    try {
      await this.client.call('POST', this.path('start'));
      if (this.aborted !== undefined) this.abort(this.aborted);
      const followed = await this.client.request(
        'GET',
        this.path('steps'),
        undefined,
        lines((e) => (queue = queue.then(() => handle(e)))),
      );
      if (followed.status >= 400) throw new NsxError(`the engine did not stream the steps: ${followed.body}`);
      this.over();
      await queue;
      const w = await waited;
      await new Promise<void>((r) => (socket.destroyed ? r() : socket.once('close', () => r())));
      const error = failure
        ? new NsxError(failure.message, {
            syscall: failure.syscall,
            errno: failure.errno,
            hint: failure.hint,
            exitCode: w?.StatusCode,
          })
        : undefined;
      return { exitCode: w?.StatusCode ?? 125, oomKilled, ...(error ? { error } : {}) };
    } finally {
      socket.destroy();
      this.stdout.end();
      this.stderr.end();
    }
  }
}

/** JSON lines from a streamed answer, one object each, as they arrive. */
export function lines(onLine: (e: RuntimeEvent) => void): (chunk: Buffer) => void {
  let rest = '';
  return (chunk) => {
    const parts = (rest + chunk.toString('utf8')).split('\n');
    rest = parts.pop() ?? '';
    for (const p of parts) if (p.trim()) onLine(JSON.parse(p) as RuntimeEvent);
  };
}
