// nsx run and nsx create: docker's way, through the engine. The container is the engine's (it
// outlives this command, shows in nsx ps -a with its exit code and logs until nsx rm or --rm,
// restarts by its policy); this command is a client: create, attach, start, wait — as the docker
// CLI does. nsx runtime run (handler.ts) runs one in this process instead, as runc does under docker.
import { EngineClient, engineClient } from '../../engine/client.js';
import { createBody } from '../../engine/body.js';
import type { CreateBody } from '../../engine/validate.js';
import type { HostConfig } from '../../engine/state.js';
import { NsxError } from '../../runtime/errors.js';
import { checkContainerName, checkHostname, checkPidsLimit } from '../../runtime/validate.js';
import { lines } from '../../engine/remote.js';
import type { RuntimeEvent } from '../../runtime/events.js';
import { consoleSize, runSession } from '../engine/session.js';
import { eventWriter } from './events.js';
import { containerFlags } from './flags.js';
import { healthcheck } from './health.js';
import type { RunArgs } from './index.js';

const enc = encodeURIComponent;

/** docker's --restart: no | always | unless-stopped | on-failure[:max-retries]. */
export function parseRestart(v: string | undefined): HostConfig['RestartPolicy'] | undefined {
  if (v === undefined || v === '' || v === 'no') return undefined;
  const [name, max, ...extra] = v.split(':');
  if (
    extra.length ||
    !['always', 'unless-stopped', 'on-failure'].includes(name) ||
    (max !== undefined && name !== 'on-failure')
  ) {
    throw new NsxError(`--restart ${v}: invalid restart policy`, {
      hint: 'use no, always, unless-stopped, on-failure or on-failure:N (N: how many times)',
    });
  }
  if (max === undefined) return { Name: name };
  if (!/^\d+$/.test(max))
    throw new NsxError(`--restart ${v}: maximum retry count must be a whole number`, {
      hint: 'e.g. --restart on-failure:2',
    });
  return { Name: name, MaximumRetryCount: Number(max) };
}

/** What a client that leaves at once cannot do: follow the steps (nsx run -d, nsx create). */
const FOLLOWS = ['trace', 'events'] as const;

/** docker run's options → the engine's create request (docker's ContainerCreateRequest). --step
 *  reaches here only with -d, -i, -t, --restart or nsx create (engine-step.ts makes its own). */
export function createRequest(a: RunArgs, command: string[], creating = false): { body: CreateBody; name?: string } {
  if (a.step)
    throw new NsxError('--step cannot be used with -d, -i, -t, --restart or nsx create', {
      hint: '--step answers every step from this command: leave out -d, -i, -t and --restart (or --step)',
    });
  for (const k of FOLLOWS) {
    if (a[k] && (a.detach || creating))
      throw new NsxError(`--${k} cannot be used with ${creating ? 'nsx create' : '-d'}`, {
        hint: `--${k} follows the container's steps from this command: ${creating ? 'use nsx run' : 'leave out -d'} (or --${k})`,
      });
  }
  // What the engine would refuse in its own words, refused here in the runtime's (as nsx runtime run does).
  if (a.name !== undefined) checkContainerName(a.name);
  if (a.hostname !== undefined) checkHostname(a.hostname);
  if (a['pids-limit'] !== undefined) checkPidsLimit(a['pids-limit']);
  if (a.rm && a.restart && a.restart !== 'no')
    throw new NsxError('conflicting options: cannot specify both --restart and --rm', {
      hint: 'a container removed when it exits cannot be restarted: choose one',
    });
  if (a.rootfs !== undefined && a.pull !== undefined)
    throw new NsxError('--pull applies to an image, and --rootfs runs a directory', {
      hint: 'leave out --pull, or give an image instead of --rootfs',
    });
  let image: string | undefined;
  let cmd = command;
  if (a.rootfs === undefined) {
    if (!cmd.length)
      throw new NsxError('"nsx run" requires an image (or --rootfs DIR)', {
        hint: 'e.g. nsx run busybox echo hello, or nsx run --rootfs sandbox/rootfs/busybox /bin/sh',
      });
    if (/^[./]/.test(cmd[0]))
      throw new NsxError(`"${cmd[0]}": invalid reference format (a path is not an image name)`, {
        hint: 'nsx run IMAGE [COMMAND…] runs an image (busybox, localhost:5000/x:1); to run a directory, give --rootfs DIR, e.g. nsx run --rootfs sandbox/rootfs/busybox /bin/sh',
      });
    [image, ...cmd] = cmd;
  }
  const body = createBody({
    image,
    rootfs: a.rootfs,
    command: cmd,
    ...containerFlags(a),
    rm: a.rm,
    restart: parseRestart(a.restart),
    tty: a.tty,
    interactive: a.interactive,
    detach: a.detach,
    observe: !!(a.trace || a.events),
    ...(a.tty && consoleSize() ? { consoleSize: consoleSize() } : {}),
  });
  const health = healthcheck(a);
  return { body: health ? { ...body, Healthcheck: health } : body, name: a.name };
}

/** The image, into the store now (docker's --pull rules), so the engine finds it there. */
async function ensurePulled(ref: string, policy: string | undefined, root: boolean): Promise<void> {
  const { imageForRun, parsePullPolicy } = await import('./image.js');
  const image = await imageForRun(ref, parsePullPolicy(policy), !root);
  image.remove(); // nothing was prepared: only the pull and the unpacking were wanted
}

/** The request made (and checked) before the engine is asked anything: bad options change nothing. */
async function create(client: EngineClient, { body, name }: ReturnType<typeof createRequest>): Promise<string> {
  try {
    const created = await client.call<{ Id: string }>(
      'POST',
      `/containers/create${name ? `?name=${enc(name)}` : ''}`,
      body,
    );
    return created!.Id;
  } catch (e) {
    throw runError(e);
  }
}

/** docker run's exit status for what the engine refused: 127 a command not found, 126 one that
 *  cannot be executed, 125 anything else (docker's "Exit status" rules). */
export function runError(e: unknown): unknown {
  if (!(e instanceof NsxError)) return e;
  const code = /executable file not found/.test(e.message)
    ? 127
    : /permission denied|not executable|argument list too long/i.test(e.message)
      ? 126
      : 125;
  return new NsxError(e.message, { ...e.info, exitCode: code });
}

/** nsx create: the container, not started; prints its id. */
export async function createContainer(a: RunArgs, command: string[], root: boolean): Promise<number> {
  const request = createRequest(a, command, true);
  const client = engineClient();
  if (request.body.Image) await ensurePulled(request.body.Image, a.pull, root);
  process.stdout.write(`${await create(client, request)}\n`);
  return 0;
}

/** The grace a container has to end by a signal nsx passed on before nsx kills it: a PID 1 without
 *  a handler never sees SIGINT or SIGTERM (the kernel drops them for a namespace's init,
 *  pid_namespaces(7)), as docker's without --init; a second signal kills it at once. */
export const SIGNAL_GRACE_MS = 2000;

const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** nsx run: docker run's way — create, attach, start, wait. Returns the exit status: -d 0 once
 *  started; attached, the container's own (docker's). --trace and --events follow the runtime's
 *  events over GET …/steps (the container is made with Nsx.Observe). */
export async function runThroughEngine(a: RunArgs, command: string[], root: boolean): Promise<number> {
  const events = a.events ? eventWriter(a.events) : undefined; // a bad path changes nothing: opened first
  try {
    return await attachedRun(a, command, root, events);
  } finally {
    events?.close();
  }
}

async function attachedRun(
  a: RunArgs,
  command: string[],
  root: boolean,
  events: ReturnType<typeof eventWriter> | undefined,
): Promise<number> {
  const request = createRequest(a, command);
  const render = a.trace ? await import('../../render/terminal.js') : undefined;
  // Without a terminal, docker proxies the signals nsx gets to the container (--sig-proxy). One its
  // PID 1 does not end by gets SIGKILL after SIGNAL_GRACE_MS (or at a second signal), and the exit
  // status is 128 + the signal, as nsx runtime run's. Before the container exists nothing is left
  // to stop (nsx exits); while it is being made or started, the signal waits for it.
  let phase: 'before' | 'making' | 'running' = 'before';
  let pending: NodeJS.Signals | undefined;
  let proxy: (sig: NodeJS.Signals) => void = () => {};
  const onSignal = (sig: NodeJS.Signals) => {
    if (phase === 'before') process.exit(SIGNAL_EXIT[sig]);
    if (phase === 'making') pending ??= sig;
    else proxy(sig);
  };
  const signals: NodeJS.Signals[] = a.tty ? [] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, onSignal);
  let grace: NodeJS.Timeout | undefined;
  try {
    const client = engineClient();
    if (request.body.Image) await ensurePulled(request.body.Image, a.pull, root);
    phase = 'making';
    const id = await create(client, request);
    const c = enc(id);
    if (pending) {
      await client.call('DELETE', `/containers/${c}?force=1`).catch(() => {});
      return SIGNAL_EXIT[pending]!;
    }
    if (a.detach) {
      await client.call('POST', `/containers/${c}/start`).catch((e) => Promise.reject(runError(e)));
      process.stdout.write(`${id}\n`);
      return 0;
    }
    // Attached: the stream, the wait and the steps first, so nothing it writes and no quick exit is missed.
    const { socket, head } = await client.hijack(
      `/containers/${c}/attach?stream=1&stdout=1&stderr=1${a.interactive ? '&stdin=1' : ''}`,
    );
    const waited = client.call<{ StatusCode: number; Error?: { Message: string } | null }>(
      'POST',
      `/containers/${c}/wait?condition=${a.rm ? 'removed' : 'next-exit'}`,
    );
    const followed = events || render ? followSteps(client, c, events, render) : Promise.resolve();
    const session = runSession(socket, head, {
      tty: !!a.tty,
      stdin: !!a.interactive,
      resize: (h, w) => client.call('POST', `/containers/${c}/resize?h=${h}&w=${w}`),
    });
    const abort = (sig: NodeJS.Signals) =>
      void client.call('POST', `/containers/${c}/step?action=abort&exit=${SIGNAL_EXIT[sig]}`).catch(() => {});
    proxy = (sig) => {
      if (grace) return abort(sig);
      void client.call('POST', `/containers/${c}/kill?signal=${sig}`).catch(() => {});
      grace = setTimeout(() => abort(sig), SIGNAL_GRACE_MS);
    };
    try {
      await client.call('POST', `/containers/${c}/start`);
    } catch (e) {
      socket.destroy();
      await Promise.race([followed, new Promise((r) => setTimeout(r, 2000))]); // the failed step's events
      if (a.rm) await client.call('DELETE', `/containers/${c}?force=1`).catch(() => {});
      throw runError(e);
    }
    phase = 'running';
    if (pending) proxy(pending);
    const [w] = await Promise.all([waited, session, followed]);
    if (w?.Error?.Message) process.stderr.write(`nsx: ${w.Error.Message}\n`);
    if (w?.StatusCode === 137 && !a.rm) await sayOomKilled(client, c);
    return w?.StatusCode ?? 0;
  } finally {
    clearTimeout(grace);
    for (const s of signals) process.off(s, onSignal);
  }
}

/** A SIGKILL the kernel's OOM killer sent (State.OOMKilled) is said, as nsx runtime run says it. */
async function sayOomKilled(client: EngineClient, c: string): Promise<void> {
  const info = await client
    .call<{ State: { OOMKilled: boolean }; HostConfig: { Memory?: number } }>('GET', `/containers/${c}/json`)
    .catch(() => undefined);
  if (!info?.State.OOMKilled) return;
  const limit = info.HostConfig.Memory;
  process.stderr.write(
    `nsx: the container was killed by the kernel's OOM killer${limit ? ` (memory limit ${limit} bytes)` : ''}\n`,
  );
}

/** --trace and --events: the runtime's events of the run as the engine streams them (GET …/steps,
 *  asked before the start: the engine keeps them for the run to come), rendered and written as
 *  nsx runtime run does in its own process. Ends with the run's last event (cleaned-up). */
async function followSteps(
  client: EngineClient,
  c: string,
  events: ReturnType<typeof eventWriter> | undefined,
  render: typeof import('../../render/terminal.js') | undefined,
): Promise<void> {
  const chalk = render?.makeChalk(process.stderr);
  let total = 0;
  const onEvent = (e: RuntimeEvent) => {
    if (e.type === 'created') total = e.steps.length;
    events?.write(e);
    if (render && chalk)
      process.stderr.write(
        render
          .renderEvent(e, total, chalk)
          .map((l) => l + '\n')
          .join(''),
      );
  };
  try {
    const r = await client.request('GET', `/containers/${c}/steps`, undefined, lines(onEvent));
    if (r.status >= 400) process.stderr.write(`nsx: the engine did not stream the steps: ${r.body.trim()}\n`);
  } catch (e) {
    process.stderr.write(`nsx: the engine's stream of steps broke off: ${(e as Error).message}\n`);
  }
}
