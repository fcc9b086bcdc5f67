// A shell inside a container as it stands: nsenter into all of PID's namespaces (and its root and
// working directory once pivot_root is done), the terminal handed over until the shell exits.
import { spawn, spawnSync } from 'node:child_process';

export function nsenterArgs(pid: number, pivoted: boolean, command: string[]): string[] {
  const args = ['-t', String(pid), '--all'];
  if (pivoted) args.push('-r', '-w');
  return [...args, ...command];
}

/** The interactive shell (no job control: a job-control shell takes the terminal's foreground
 *  process group and, from inside the PID namespace, cannot hand it back to nsx). */
export function openShell(pid: number, pivoted: boolean, onError: (message: string) => void): Promise<void> {
  const args = nsenterArgs(pid, pivoted, ['/bin/sh', '+m']);
  return new Promise<void>((resolve) => {
    const child = spawn('nsenter', args, { stdio: 'inherit', env: { ...process.env, PS1: 'inside# ' } });
    child.on('error', (e) => {
      onError(`cannot start nsenter: ${e.message} (install util-linux)`);
      resolve();
    });
    child.on('exit', () => resolve());
  });
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
