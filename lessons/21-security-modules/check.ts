// The security-modules lesson's task, checked against the live kernel: a process the learner started
// after the task was shown, refused a write by a security module. The check makes the write as that
// very process (shim/nsx-tryas, through ptrace(2)): a Landlock domain cannot be read from outside
// (landlock(7): no /proc field, no /proc/PID/attr file), and a write made by the check itself, or by
// a child of the check, would be judged by the check's own domain, not the learner's.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmdirSync, statSync } from 'node:fs';
import type { CheckResult } from '../../src/learn/lesson.js';
import { countingSince, inNsxContainer, newestFirst, processes, statusField } from '../../src/learn/kernel.js';
import { activeLsms } from '../../src/doctor/env.js';
import { tryasTool } from './lab.js';

/** Where the check tries the write: mode 1777 (Debian's /var/tmp), so that permission bits let
 *  every user create a directory there, and a refusal can only come from elsewhere. */
export const PROBE_DIR = '/var/tmp';

/** The process's AppArmor label (proc(5), /proc/PID/attr; the AppArmor-specific file since Linux 5.8),
 *  or undefined where AppArmor gives none. */
export function apparmorLabel(
  pid: number,
  read: (p: string) => string | undefined = readOrUndefined,
): string | undefined {
  for (const f of [`/proc/${pid}/attr/apparmor/current`, `/proc/${pid}/attr/current`]) {
    const text = read(f)?.replace(/\0/g, '').trim();
    if (text) return text;
  }
  return undefined;
}

/** A label that confines: not "unconfined" (apparmor(7): a profile's mode is shown after its name). */
export const confining = (label: string | undefined): boolean => !!label && label !== 'unconfined';

/** Which module refused, in words, from what the kernel shows of the process and the modules it runs
 *  (securityfs's lsm file, Documentation/admin-guide/LSM/index.rst). */
export function whoRefused(label: string | undefined, lsms: string[] | undefined): string {
  if (confining(label)) return `its AppArmor profile, ${label}`;
  const list = lsms ? ` (this kernel runs ${lsms.join(',')})` : '';
  if (lsms && !lsms.includes('landlock')) return `a security module other than AppArmor${list}`;
  return `a security module other than AppArmor, which gives it no profile: Landlock, the one a process sets on itself${list}`;
}

/** Processes worth asking: the learner's (started after the task was shown, or with a terminal when
 *  no time is known), outside nsx's containers, and able to be in a Landlock domain or an AppArmor
 *  profile: landlock_restrict_self(2) requires no_new_privs unless the caller has CAP_SYS_ADMIN in
 *  its user namespace, so a Landlock sandbox is a no_new_privs process unless root made it without
 *  (nsx-landlock sets it). Only these are asked: the check stops each one it asks for a moment. */
function candidates(): { pid: number; comm: string }[] {
  const self = process.pid;
  return newestFirst(
    processes().filter((p) => {
      if (p.pid === self || p.comm === 'nsx-tryas' || inNsxContainer(p.pid)) return false;
      const state = statusField(p.pid, 'State') ?? '';
      if (/^[ZTtX]/.test(state)) return false; // gone, or stopped: asking would resume it
      if (countingSince() === undefined && ttyOf(p.pid) === 0) return false;
      return statusField(p.pid, 'NoNewPrivs') === '1' || confining(apparmorLabel(p.pid));
    }),
  ).slice(0, 8);
}

/** The result of nsx-tryas: "ok", an errno name, or undefined when it could not ask. */
export function tryWriteAs(pid: number, path: string): { result?: string; why: string } {
  const r = spawnSync(tryasTool(), [String(pid), path], { encoding: 'utf8', timeout: 10000 });
  if (r.error) return { why: `${tryasTool()}: ${r.error.message} (run npm ci in nsx's folder to build it)` };
  if (r.status !== 0) return { why: (r.stderr || `exit ${r.status}`).trim() };
  return { result: r.stdout.trim(), why: '' };
}

export async function checkTask(): Promise<CheckResult> {
  if (process.getuid?.() !== 0)
    return {
      ok: false,
      message: 'The check makes a write as your process through ptrace: run it as root (sudo nsx check).',
    };
  const mode = statSync(PROBE_DIR).mode & 0o7777;
  if (mode !== 0o1777)
    return {
      ok: false,
      message: `${PROBE_DIR} has mode ${mode.toString(8)}, not 1777: the check needs a directory everyone may write.`,
    };
  const found = candidates();
  if (found.length === 0) {
    return {
      ok: false,
      message:
        'No process of yours is under a security module yet: none started since the task was shown has no_new_privs set (landlock_restrict_self(2) requires it unless the caller has CAP_SYS_ADMIN) or an AppArmor profile.',
    };
  }
  const allowed: string[] = [];
  for (const p of found) {
    const path = `${PROBE_DIR}/nsx-check-${p.pid}-${randomBytes(4).toString('hex')}`;
    const { result, why } = tryWriteAs(p.pid, path);
    if (result === 'ok') {
      try {
        rmdirSync(path);
      } catch {
        /* gone already */
      }
      allowed.push(`${p.pid} (${p.comm}): created`);
      continue;
    }
    if (result === 'EACCES') {
      return {
        ok: true,
        message: `Process ${p.pid} (${p.comm}) was refused a write as itself: mkdir ${path} failed with EACCES, though ${PROBE_DIR} (mode 1777) lets every user create there. The refusal came from ${whoRefused(apparmorLabel(p.pid), activeLsms())}.`,
      };
    }
    if (result) allowed.push(`${p.pid} (${p.comm}): ${result}`);
    else allowed.push(`${p.pid} (${p.comm}): not asked, ${why}`);
  }
  return {
    ok: false,
    message: `No process of yours was refused the write: mkdir in ${PROBE_DIR}, made as each of them, gave ${allowed.join('; ')}. Restrict one so that ${PROBE_DIR} is not writable for it.`,
  };
}

/** tty_nr, field 7 of /proc/PID/stat (proc(5)): 0 for a process without a controlling terminal. */
function ttyOf(pid: number): number {
  const stat = readOrUndefined(`/proc/${pid}/stat`) ?? '';
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[4] ?? 0);
}

function readOrUndefined(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}
