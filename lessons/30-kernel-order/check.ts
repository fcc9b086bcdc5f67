// The kernel-order lesson's task, checked against the live processes: a half-built container of the
// learner's own (nsx run --step) paused right after the pivot-root step — its root is no longer the
// host's, and nothing of the later steps has happened yet: no masked or read-only /proc path
// mounted, no no_new_privs, no seccomp filter.
import { statSync } from 'node:fs';
import type { CheckResult } from '../../src/learn/lesson.js';
import { mountInfo, processes, statusField } from '../../src/learn/kernel.js';
import { DOCKER_MASKED_PATHS, DOCKER_READONLY_PATHS } from '../../src/runtime/spec.js';

/** Whether pid's root directory is the host's own (same device and inode as this process's "/"). */
function hasHostRoot(pid: number): boolean {
  try {
    const a = statSync(`/proc/${pid}/root`);
    const b = statSync('/');
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return true; // gone, or not ours to look at: not a candidate
  }
}

/** What the steps after pivot-root would have changed in pid, in words (empty: none of it yet). */
function laterSteps(pid: number): string[] {
  const out: string[] = [];
  const guarded = new Set([...DOCKER_MASKED_PATHS, ...DOCKER_READONLY_PATHS]);
  const masked = mountInfo(pid).find((m) => guarded.has(m.mountPoint));
  if (masked) out.push(`mask-paths has already covered ${masked.mountPoint}`);
  if (statusField(pid, 'NoNewPrivs') === '1') out.push('no_new_privs is already set');
  if ((statusField(pid, 'Seccomp') ?? '0') !== '0') out.push('a seccomp filter is already loaded');
  return out;
}

export async function checkTask(): Promise<CheckResult> {
  // Before exec, every process of a half-built container is the shim (the supervisor, and PID 1).
  const shims = processes().filter((p) => p.comm === 'nsx-shim');
  if (shims.length === 0) {
    return {
      ok: false,
      message: 'No half-built container is waiting: build one step by step with nsx run and leave it at a prompt.',
    };
  }
  const switched = shims.filter((p) => !hasHostRoot(p.pid));
  if (switched.length === 0) {
    return {
      ok: false,
      message: `A half-built container is waiting (process ${shims[shims.length - 1].pid}), but its root is still the host's: pivot-root has not been applied yet.`,
    };
  }
  let past: CheckResult | undefined;
  for (const p of switched) {
    const later = laterSteps(p.pid);
    if (later.length === 0) {
      return {
        ok: true,
        message: `Process ${p.pid} is paused right after pivot-root: its root is no longer the host's, and nothing after that step has happened yet.`,
      };
    }
    past ??= {
      ok: false,
      message: `Process ${p.pid} has gone past pivot-root: ${later.join(', ')}. Stop one step earlier.`,
    };
  }
  return past!;
}
