// nsx run -d|-i|-t|--restart and nsx create: docker's way, through the engine. The container is the
// engine's (it outlives this command, shows in nsx ps, restarts by its policy); this command is a
// client: create, attach, start, wait — as the docker CLI does.
import { EngineClient, engineClient } from '../../engine/client.js';
import { createBody } from '../../engine/body.js';
import type { CreateBody } from '../../engine/validate.js';
import type { HostConfig } from '../../engine/state.js';
import { NsxError } from '../../runtime/errors.js';
import { consoleSize, runSession } from '../engine/session.js';
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

/** The options nsx run handles only in its own process (stepping and tracing show the runtime's
 *  events as they happen; the engine's containers run without them). */
const IN_PROCESS_ONLY = ['step', 'trace', 'events', 'unsafe-chroot'] as const;

/** docker run's options → the engine's create request (docker's ContainerCreateRequest). */
export function createRequest(a: RunArgs, command: string[]): { body: CreateBody; name?: string } {
  for (const k of IN_PROCESS_ONLY) {
    if (a[k])
      throw new NsxError(`--${k} cannot be used with -d, -i, -t, --restart or nsx create`, {
        hint: `--${k} runs the container in this process: leave out -d, -i, -t and --restart (or --${k})`,
      });
  }
  if (a.rm && a.restart && a.restart !== 'no')
    throw new NsxError('conflicting options: cannot specify both --restart and --rm', {
      hint: 'a container removed when it exits cannot be restarted: choose one',
    });
  let image: string | undefined;
  let cmd = command;
  if (a.rootfs === undefined) {
    if (!cmd.length)
      throw new NsxError('"nsx run" requires an image (or --rootfs DIR)', {
        hint: 'e.g. nsx run -d busybox sleep 100',
      });
    [image, ...cmd] = cmd;
  }
  const body = createBody({
    image,
    rootfs: a.rootfs,
    command: cmd,
    entrypoint: a.entrypoint,
    env: a.env,
    hostname: a.hostname,
    workdir: a.workdir,
    user: a.user,
    memory: a.memory,
    pidsLimit: a['pids-limit'],
    cpus: a.cpus,
    capAdd: a['cap-add'],
    capDrop: a['cap-drop'],
    privileged: a.privileged,
    securityOpt: a['security-opt'],
    network: a.network,
    userns: a.userns,
    rm: a.rm,
    restart: parseRestart(a.restart),
    tty: a.tty,
    interactive: a.interactive,
    detach: a.detach,
    ...(a.tty && consoleSize() ? { consoleSize: consoleSize() } : {}),
  });
  return { body, name: a.name };
}

/** The image, into the store now (docker's --pull rules), so the engine finds it there. */
async function ensurePulled(ref: string, policy: string | undefined, root: boolean): Promise<void> {
  const { imageForRun, parsePullPolicy } = await import('./image.js');
  const image = await imageForRun(ref, parsePullPolicy(policy), !root);
  image.remove(); // nothing was prepared: only the pull and the unpacking were wanted
}

async function create(client: EngineClient, a: RunArgs, command: string[], root: boolean): Promise<string> {
  const { body, name } = createRequest(a, command);
  if (body.Image) await ensurePulled(body.Image, a.pull, root);
  else if (a.pull !== undefined)
    throw new NsxError('--pull applies to an image, and --rootfs runs a directory', {
      hint: 'leave out --pull, or give an image instead of --rootfs',
    });
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
  const client = await engineClient();
  process.stdout.write(`${await create(client, a, command, root)}\n`);
  return 0;
}

/** nsx run with -d, -i, -t or --restart. Returns the exit status: -d 0 once started; attached, the
 *  container's own (docker's). */
export async function runThroughEngine(a: RunArgs, command: string[], root: boolean): Promise<number> {
  const client = await engineClient();
  const id = await create(client, a, command, root);
  const c = enc(id);
  if (a.detach) {
    await client.call('POST', `/containers/${c}/start`).catch((e) => Promise.reject(runError(e)));
    process.stdout.write(`${id}\n`);
    return 0;
  }
  // Attached: the stream and the wait first, so nothing it writes and no quick exit is missed.
  const { socket, head } = await client.hijack(
    `/containers/${c}/attach?stream=1&stdout=1&stderr=1${a.interactive ? '&stdin=1' : ''}`,
  );
  const waited = client.call<{ StatusCode: number; Error?: { Message: string } | null }>(
    'POST',
    `/containers/${c}/wait?condition=${a.rm ? 'removed' : 'next-exit'}`,
  );
  const session = runSession(socket, head, {
    tty: !!a.tty,
    stdin: !!a.interactive,
    resize: (h, w) => client.call('POST', `/containers/${c}/resize?h=${h}&w=${w}`),
  });
  // Without a terminal, docker proxies the signals nsx gets to the container (--sig-proxy).
  const proxy = (sig: NodeJS.Signals) =>
    void client.call('POST', `/containers/${c}/kill?signal=${sig}`).catch(() => {});
  const signals: NodeJS.Signals[] = a.tty ? [] : ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, proxy);
  try {
    try {
      await client.call('POST', `/containers/${c}/start`);
    } catch (e) {
      socket.destroy();
      if (a.rm) await client.call('DELETE', `/containers/${c}?force=1`).catch(() => {});
      throw runError(e);
    }
    const [w] = await Promise.all([waited, session]);
    if (w?.Error?.Message) process.stderr.write(`nsx: ${w.Error.Message}\n`);
    return w?.StatusCode ?? 0;
  } finally {
    for (const s of signals) process.off(s, proxy);
  }
}
