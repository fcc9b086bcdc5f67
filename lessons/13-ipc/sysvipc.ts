// The System V IPC objects of another process's IPC namespace, as listed by /proc/sysvipc/* when
// read by a process in that namespace (ipc_namespaces(7)): nsenter -i, then cat. Needs root.
import { execFileSync } from 'node:child_process';

export interface SysvObject {
  /** The key, as ipcs prints it (0x…). */
  key: string;
  id: number;
}

/** The rows of a /proc/sysvipc file: key (decimal) and id are its first two columns. */
export function parseSysvipc(text: string): SysvObject[] {
  return text
    .trim()
    .split('\n')
    .slice(1)
    .filter((l) => l.trim())
    .map((l) => {
      const [key, id] = l.trim().split(/\s+/);
      return { key: `0x${(Number(key) >>> 0).toString(16).padStart(8, '0')}`, id: Number(id) };
    });
}

/** Message queues, shared memory segments and semaphore sets of pid's IPC namespace. */
export function sysvObjectsIn(pid: number): Record<'msg' | 'shm' | 'sem', SysvObject[]> {
  const list = (kind: string) => {
    try {
      return parseSysvipc(
        execFileSync('nsenter', ['-t', String(pid), '-i', 'cat', `/proc/sysvipc/${kind}`], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      );
    } catch {
      return [];
    }
  };
  return { msg: list('msg'), shm: list('shm'), sem: list('sem') };
}
