// A shell inside a container as it stands, for the lessons' `s` and nsx run --step's: the engine
// execs /bin/sh into the half-built container (POST /containers/{id}/exec while it is paused before a
// step), joining only what the container has applied so far, in docker exec's order (its cgroup, its
// namespaces, its root, then its user, no_new_privs, capabilities and seccomp filter once it has
// them: buildExecPlan's `applied`). The shell gets a terminal of its own (-t: a pty from the shim,
// its own session and controlling terminal), so this terminal is in raw mode meanwhile and Ctrl-C is
// a byte that the pty's line discipline turns into SIGINT for the shell's foreground job only
// (termios(3), ISIG), never for nsx. The engine kills the shell's whole session when the container's
// run ends (endExecs), so nothing it started outlives the lesson.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import type { EngineClient } from '../engine/client.js';
import { consoleSize, runSession } from '../cli/engine/session.js';
import { decodeCapMask } from '../runtime/capabilities.js';

export function nsenterArgs(pid: number, pivoted: boolean, command: string[]): string[] {
  const args = ['-t', String(pid), '--all'];
  if (pivoted) args.push('-r', '-w');
  return [...args, ...command];
}

/** What a shell opened now has of the container: the steps applied so far, the root, and the
 *  container process's effective capabilities (counted from /proc/PID/status, as the table shows). */
export interface ShellState {
  applied: ReadonlySet<string>;
  /** The steps this container skips (e.g. seccomp=unconfined): it will never have them. */
  skipped?: ReadonlySet<string>;
  rootChanged: boolean;
  /** The container's process now (the shim, or PID 1 once forked). */
  pid?: number;
}

/** The banner's list: "cgroup, namespaces, root, user, capabilities (12), no seccomp yet". */
export function shellHas(s: ShellState, capCount = capsOf(s.pid)): string {
  const has = (id: string) => s.applied.has(id);
  const parts: string[] = [];
  if (has('cgroup')) parts.push('cgroup');
  parts.push(has('userns') || has('namespaces') ? 'namespaces' : "the host's namespaces");
  if (s.rootChanged) parts.push('root');
  if (has('capabilities')) parts.push('user');
  if (has('no-new-privs')) parts.push('no_new_privs');
  parts.push(
    has('capabilities')
      ? `capabilities${capCount === undefined ? '' : ` (${capCount})`}`
      : 'all capabilities (none dropped yet)',
  );
  parts.push(
    has('seccomp') ? 'seccomp' : s.skipped?.has('seccomp') ? 'no seccomp (none for this container)' : 'no seccomp yet',
  );
  return parts.join(', ');
}

function capsOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? decodeCapMask(m[1]).length : undefined;
  } catch {
    return undefined;
  }
}

/** /bin/sh in the engine's container `id` as it stands, on a terminal of its own, until it exits
 *  (exit, Ctrl-D). Resolves with its exit code; throws the engine's refusal as an NsxError. */
export async function engineShell(client: EngineClient, id: string): Promise<number | null> {
  const enc = encodeURIComponent;
  const tty = !!process.stdin.isTTY;
  const created = await client.call<{ Id: string }>('POST', `/containers/${enc(id)}/exec`, {
    Cmd: ['/bin/sh'],
    Tty: tty,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Env: ['PS1=inside# ', `TERM=${process.env.TERM ?? 'xterm'}`],
  });
  const exec = created!.Id;
  const size = consoleSize();
  const { socket, head } = await client.hijack(`/exec/${exec}/start`, {
    Detach: false,
    Tty: tty,
    ...(tty && size ? { ConsoleSize: size } : {}),
  });
  await runSession(socket, head, {
    tty,
    stdin: true,
    resize: (h, w) => client.call('POST', `/exec/${exec}/resize?h=${h}&w=${w}`),
  });
  const info = await client.call<{ ExitCode: number | null }>('GET', `/exec/${exec}/json`).catch(() => undefined);
  return info?.ExitCode ?? null;
}

/** Runs a command inside the container and returns what it printed (for demos and checks). */
export function runInside(
  pid: number,
  pivoted: boolean,
  command: string[],
  timeoutMs = 10000,
): { output: string; status: number | null } {
  const r = spawnSync('nsenter', nsenterArgs(pid, pivoted, command), {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { output: (r.stdout ?? '') + (r.stderr ?? ''), status: r.status };
}
