// docker exec: a process started in a running container. It joins the container's cgroup, namespaces
// and security settings (buildExecPlan: runc exec's order); its streams have a Hub of their own.
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import type { LayeredView } from '../../image/rootfs.js';
import { NsxError } from '../../runtime/errors.js';
import { hostFacts } from '../../runtime/host.js';
import { specFromRunOptions } from '../../runtime/options.js';
import { buildExecPlan } from '../../runtime/plan.js';
import { Container } from '../../runtime/runtime.js';
import { compileForHost } from '../../runtime/seccomp-host.js';
import type { ContainerSpec } from '../../runtime/spec.js';
import type { EngineContainer, Exec, ExecRecord } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';
import { Hub } from '../hub.js';
import { refusal } from '../lifecycle.js';
import type { ExecBody } from '../validate.js';
import { imageRun, makeOptions } from './make.js';

/** docker exec (create): a process to start in a running container. */
export function createExec(engine: Engine, c: EngineContainer, body: ExecBody): ExecRecord {
  if (!body.Cmd?.length) throw new ApiError(400, 'No exec command specified', 'give "Cmd": ["program", "args"…]');
  if (!c.canExec()) throw c.status === 'paused' ? refusal.execPaused(c.id) : refusal.notRunning(c.id);
  const record: ExecRecord = {
    ID: randomBytes(32).toString('hex'),
    ContainerID: c.id,
    Running: false,
    ExitCode: null,
    Pid: 0,
    ProcessConfig: {
      tty: !!body.Tty,
      entrypoint: body.Cmd[0],
      arguments: body.Cmd.slice(1),
      user: body.User ?? '',
      privileged: !!body.Privileged,
    },
    OpenStdin: !!body.AttachStdin,
    Body: body,
  };
  c.execs.set(record.ID, { record, hub: new Hub(!!body.Tty, true) });
  engine.event(c, `exec_create: ${body.Cmd.join(' ')}`, { execID: record.ID }); // docker's action names
  return record;
}

/** docker exec (start). Resolves once it runs; `finished` when it has exited. */
export async function startExec(
  engine: Engine,
  c: EngineContainer,
  e: Exec,
  consoleSize?: [number, number],
): Promise<{ finished: Promise<void> }> {
  const id = e.record.ID;
  if (e.container) throw new ApiError(409, `Exec ${id} has already been started`);
  if (!c.canExec()) throw c.status === 'paused' ? refusal.execPaused(c.id) : refusal.notRunning(c.id);
  const r = c.record;
  const b = e.record.Body;
  let spec: ContainerSpec;
  let view: LayeredView | undefined;
  try {
    const image = r.Root ? await imageRun(engine.root, r.Image, r.Root) : undefined;
    view = image?.view;
    const base = {
      ...r,
      Config: {
        ...r.Config,
        Tty: !!b.Tty,
        Cmd: b.Cmd!,
        Entrypoint: [],
        Env: [...r.Config.Env, ...(b.Env ?? [])],
        WorkingDir: b.WorkingDir || r.Config.WorkingDir,
        User: b.User || r.Config.User,
      },
      HostConfig: { ...r.HostConfig, Privileged: r.HostConfig.Privileged || b.Privileged },
      Nsx: { ...r.Nsx, RunAs: undefined },
    }; // the engine's own process joins it
    spec = { ...specFromRunOptions(makeOptions(engine.root, base, undefined, image?.run)), id: r.Id };
  } catch (err) {
    if (err instanceof NsxError) {
      e.record.ExitCode = err.exitCode;
      throw new ApiError(
        err.exitCode === 127 || err.exitCode === 126 ? 400 : 500,
        `OCI runtime exec failed: ${err.message}`,
        err.info.hint,
      );
    }
    throw err;
  }
  // A container still being built is joined as it stands: what it has applied so far, no more.
  const half = c.halfBuilt();
  const plan = buildExecPlan(
    spec,
    hostFacts(spec.root.path, compileForHost, spec.root.overlay ? view : undefined),
    half?.pid ?? r.State.Pid,
    half?.applied,
  );
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
    spawned: (x) => {
      drained = e.hub.connect(x);
      if (consoleSize && consoleSize[0] > 0 && consoleSize[1] > 0) x.resize(consoleSize[0], consoleSize[1]);
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
  void started.then(() => engine.event(c, `exec_start: ${cmd}`, { execID: id }));
  void finished.then(() => engine.event(c, 'exec_die', { execID: id, exitCode: String(e.record.ExitCode) }));
  const first = await Promise.race([started.then(() => undefined), run]);
  if (first !== undefined && first.error) {
    await finished;
    throw new ApiError(
      first.exitCode === 126 || first.exitCode === 127 ? 400 : 500,
      `OCI runtime exec failed: ${first.error.message}`,
      first.error.info.hint,
    );
  }
  return { finished };
}

export function resizeExec(e: Exec, rows: number, cols: number): void {
  if (!e.container || !e.record.Running) throw new ApiError(409, `Exec ${e.record.ID} is not running`);
  e.container.resize(rows, cols);
}

/** The container's run is over: its execs go with it. An exec made while it was being built, before
 *  its fork, lives in the host's PID namespace (not killed with PID 1, pid_namespaces(7)); so are
 *  the processes its shell started. All of them share the session its pty made (setsid(2) in the
 *  shim's init), so every process of that session is killed (SIGKILL), the leader included. */
export function endExecs(c: EngineContainer): void {
  for (const e of c.execs.values()) {
    e.container?.abort();
    if (e.record.Pid) killSession(e.record.Pid);
  }
}

function killSession(sid: number): void {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p));
  } catch {
    return;
  }
  for (const p of pids) {
    try {
      // /proc/PID/stat: "pid (comm) state ppid pgrp session …", comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[3]) === sid) process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
  }
}
