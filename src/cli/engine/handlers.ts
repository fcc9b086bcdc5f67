// The engine verbs' work: each is a client of nsxd (src/engine/client.ts), printing docker's shapes.
import { NsxError } from '../../runtime/errors.js';
import { FrameDecoder } from '../../engine/stream.js';
import { consoleSize, runSession } from './session.js';
import { apiError, EngineClient, engineClient, startEngine } from '../../engine/client.js';
import {
  STATS_HEADER,
  engineMessages,
  eventLine,
  psTable,
  statsRow,
  table,
  type PsRow,
  type StatsSample,
} from './messages.js';

const out = (s: string) => process.stdout.write(s);
const err = (s: string) => process.stderr.write(s);
const enc = encodeURIComponent;

export async function engineStart(): Promise<number> {
  const client = new EngineClient();
  if (await client.ping()) {
    const v = await client.call<{ Pid?: number }>('GET', '/version');
    err(engineMessages.alreadyRunning(v?.Pid, client.socket) + '\n');
    return 0;
  }
  err(engineMessages.started(await startEngine(client)) + '\n');
  return 0;
}

export async function engineStop(): Promise<number> {
  const client = new EngineClient();
  if (!(await client.ping())) {
    err(engineMessages.notRunning(client.socket) + '\n');
    return 0;
  }
  const v = await client.call<{ Pid?: number }>('GET', '/version');
  if (!v?.Pid) throw new NsxError('the engine did not say its pid', { hint: 'stop it by hand: kill the nsxd process' });
  process.kill(v.Pid, 'SIGTERM');
  for (let i = 0; i < 300 && (await client.ping().catch(() => false)); i++)
    await new Promise((r) => setTimeout(r, 100));
  err(engineMessages.stopped(v.Pid) + '\n');
  return 0;
}

export async function engineStatus(): Promise<number> {
  const client = new EngineClient();
  if (!(await client.ping())) {
    out(engineMessages.notRunning(client.socket) + '\n');
    return 1;
  }
  const v = await client.call<{ Pid?: number }>('GET', '/version');
  const all = (await client.call<PsRow[]>('GET', '/containers/json?all=1')) ?? [];
  const running = (await client.call<PsRow[]>('GET', '/containers/json')) ?? [];
  out(engineMessages.status(v?.Pid, client.socket, all.length, running.length) + '\n');
  return 0;
}

export async function ps(a: { all?: boolean; quiet?: boolean; 'no-trunc'?: boolean }): Promise<number> {
  const client = engineClient();
  const rows = (await client.call<PsRow[]>('GET', `/containers/json${a.all ? '?all=1' : ''}`)) ?? [];
  if (a.quiet) out(rows.map((r) => (a['no-trunc'] ? r.Id : r.Id.slice(0, 12)) + '\n').join(''));
  else out(psTable(rows, Date.now(), !a['no-trunc']));
  return 0;
}

export async function logs(a: { container: string; follow?: boolean }): Promise<number> {
  const client = engineClient();
  const r = await client.request(
    'GET',
    `/containers/${enc(a.container)}/logs?stdout=1&stderr=1${a.follow ? '&follow=1' : ''}`,
    undefined,
    await streamWriter(client, a.container),
  );
  if (r.status >= 400) throw apiError(r);
  return 0;
}

/** For verbs on several containers, docker's way: each one's result (or error) in turn; status 1 if any failed. */
export async function each(
  containers: string[],
  fn: (client: EngineClient, c: string) => Promise<void>,
): Promise<number> {
  const client = engineClient();
  let status = 0;
  for (const c of containers) {
    try {
      await fn(client, c);
    } catch (e) {
      if (!(e instanceof NsxError)) throw e;
      err(`${e.message}\n`);
      status = 1;
    }
  }
  return status;
}

export const wait = (a: { containers: string[] }) =>
  each(a.containers, async (client, c) => {
    const r = await client.call<{ StatusCode: number }>('POST', `/containers/${enc(c)}/wait`);
    out(`${r?.StatusCode}\n`);
  });

export const stop = (a: { containers: string[]; time?: number }) =>
  each(a.containers, async (client, c) => {
    await client.call('POST', `/containers/${enc(c)}/stop${a.time !== undefined ? `?t=${a.time}` : ''}`);
    out(`${c}\n`);
  });

export const kill = (a: { containers: string[]; signal?: string }) =>
  each(a.containers, async (client, c) => {
    await client.call('POST', `/containers/${enc(c)}/kill${a.signal ? `?signal=${enc(a.signal)}` : ''}`);
    out(`${c}\n`);
  });

export const rm = (a: { containers: string[]; force?: boolean }) =>
  each(a.containers, async (client, c) => {
    await client.call('DELETE', `/containers/${enc(c)}${a.force ? '?force=1' : ''}`);
    out(`${c}\n`);
  });

export async function inspect(a: { containers: string[] }): Promise<number> {
  const found: unknown[] = [];
  const status = await each(a.containers, async (client, c) => {
    found.push(await client.call('GET', `/containers/${enc(c)}/json`));
  });
  out(JSON.stringify(found, null, 4) + '\n');
  return status;
}

/** docker top: the container's processes with their host PIDs. */
export async function top(a: { container: string }): Promise<number> {
  const client = engineClient();
  const t = await client.call<{ Titles: string[]; Processes: string[][] }>(
    'GET',
    `/containers/${enc(a.container)}/top`,
  );
  out(table(t!.Titles, t!.Processes, 20));
  return 0;
}

/** docker stats: CPU, memory and pids of running containers (all of them without names), read from
 *  their cgroups; refreshed every second, or once with --no-stream. */
export async function stats(a: { containers?: string[]; stream?: boolean }): Promise<number> {
  const client = engineClient();
  for (;;) {
    const names = a.containers?.length
      ? a.containers
      : ((await client.call<PsRow[]>('GET', '/containers/json')) ?? []).map((r) => r.Id);
    const samples = await Promise.all(
      names.map((c) => client.call<StatsSample>('GET', `/containers/${enc(c)}/stats?stream=0`)),
    );
    const text = table(
      STATS_HEADER,
      samples.map((s) => statsRow(s!)),
    );
    if (a.stream === false) {
      out(text);
      return 0;
    }
    out(`\x1b[2J\x1b[H${text}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** docker events: what happens to containers, a line each, as it happens (until Ctrl-C). */
export async function events(): Promise<number> {
  const client = engineClient();
  let buf = '';
  const r = await client.request('GET', '/events', undefined, (chunk) => {
    buf += chunk.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      out(eventLine(JSON.parse(buf.slice(0, nl))) + '\n');
      buf = buf.slice(nl + 1);
    }
  });
  if (r.status >= 400) throw apiError(r);
  return 0;
}

/** docker start [-a]: starts created or exited containers; with -a, follows the output and exits
 *  with the container's code. */
export async function start(a: { containers: string[]; attach?: boolean }): Promise<number> {
  if (a.attach && a.containers.length > 1)
    throw new NsxError('you cannot start and attach multiple containers at once', {
      hint: 'nsx start -a one container; nsx start several without -a',
      exitCode: 1,
    });
  if (!a.attach) {
    return each(a.containers, async (client, c) => {
      await client.call('POST', `/containers/${enc(c)}/start`);
      out(`${c}\n`);
    });
  }
  const client = engineClient();
  const c = enc(a.containers[0]);
  await client.call('POST', `/containers/${c}/start`);
  const r = await client.request(
    'GET',
    `/containers/${c}/logs?stdout=1&stderr=1&follow=1`,
    undefined,
    await streamWriter(client, a.containers[0]),
  );
  if (r.status >= 400) throw apiError(r);
  const w = await client.call<{ StatusCode: number }>('POST', `/containers/${c}/wait`);
  return w?.StatusCode ?? 0;
}

/** Output as the engine sends it: a terminal's raw stream as it is; otherwise docker's multiplexed
 *  frames, stdout to stdout and stderr to stderr. */
async function streamWriter(client: EngineClient, container: string): Promise<(d: Buffer) => void> {
  const info = await client.call<{ Config?: { Tty?: boolean } }>('GET', `/containers/${enc(container)}/json`);
  if (info?.Config?.Tty) return (d) => process.stdout.write(d);
  const decoder = new FrameDecoder((s, d) => (s === 1 ? process.stdout : process.stderr).write(d));
  return (d) => decoder.push(d);
}

/** docker exec: create the exec, start it attached (or -d), exit with its code. */
export async function exec(a: {
  container?: string;
  command: string[];
  detach?: boolean;
  interactive?: boolean;
  tty?: boolean;
  env?: string[];
  workdir?: string;
  user?: string;
  privileged?: boolean;
}): Promise<number> {
  if (!a.container || !a.command.length)
    throw new NsxError('"nsx exec" requires a container and a command', {
      hint: 'e.g. nsx exec web ps, or nsx exec -it web sh',
      exitCode: 1,
    });
  const client = engineClient();
  const body = {
    Cmd: a.command,
    Tty: !!a.tty,
    AttachStdin: !!a.interactive && !a.detach,
    AttachStdout: !a.detach,
    AttachStderr: !a.detach,
    ...(a.env ? { Env: a.env.filter((e) => e.includes('=')) } : {}),
    ...(a.workdir ? { WorkingDir: a.workdir } : {}),
    ...(a.user ? { User: a.user } : {}),
    ...(a.privileged ? { Privileged: true } : {}),
  };
  const created = await client.call<{ Id: string }>('POST', `/containers/${enc(a.container)}/exec`, body);
  const id = created!.Id;
  try {
    if (a.detach) {
      await client.call('POST', `/exec/${id}/start`, { Detach: true });
      return 0;
    }
    const { socket, head } = await client.hijack(`/exec/${id}/start`, {
      Detach: false,
      Tty: !!a.tty,
      ...(a.tty && consoleSize() ? { ConsoleSize: consoleSize() } : {}),
    });
    await runSession(socket, head, {
      tty: !!a.tty,
      stdin: !!a.interactive,
      resize: (h, w) => client.call('POST', `/exec/${id}/resize?h=${h}&w=${w}`),
    });
  } catch (e) {
    // docker's exit codes for a command that cannot run: 127 not found, 126 not executable.
    if (e instanceof NsxError && /executable file not found|no such file/i.test(e.message))
      throw new NsxError(e.message, { ...e.info, exitCode: 127 });
    if (e instanceof NsxError && /permission denied|not executable|argument list too long/i.test(e.message))
      throw new NsxError(e.message, { ...e.info, exitCode: 126 });
    throw e;
  }
  const info = await client.call<{ ExitCode: number | null }>('GET', `/exec/${id}/json`);
  return info?.ExitCode ?? 0;
}

/** docker attach: this terminal to a running container until it exits; its exit code. */
export async function attach(a: { container: string; 'no-stdin'?: boolean }): Promise<number> {
  const client = engineClient();
  const c = enc(a.container);
  const info = await client.call<{ State: { Running: boolean }; Config: { Tty?: boolean; OpenStdin?: boolean } }>(
    'GET',
    `/containers/${c}/json`,
  );
  if (!info?.State.Running)
    throw new NsxError('You cannot attach to a stopped container, start it first', {
      hint: `nsx start -a ${a.container}`,
      exitCode: 1,
    });
  const stdin = !!info.Config.OpenStdin && !a['no-stdin'];
  const { socket, head } = await client.hijack(
    `/containers/${c}/attach?stream=1&stdout=1&stderr=1${stdin ? '&stdin=1' : ''}`,
  );
  const tty = !!info.Config.Tty;
  const size = tty ? consoleSize() : undefined; // this terminal's size, as docker attach sends it
  if (size) await client.call('POST', `/containers/${c}/resize?h=${size[0]}&w=${size[1]}`).catch(() => {});
  await runSession(socket, head, {
    tty,
    stdin,
    resize: (h, w) => client.call('POST', `/containers/${c}/resize?h=${h}&w=${w}`),
  });
  const w = await client.call<{ StatusCode: number }>('POST', `/containers/${c}/wait`);
  return w?.StatusCode ?? 0;
}
