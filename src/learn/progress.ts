// Progress: a small readable JSON file in the learner's XDG state dir — the invoking user's, also
// under sudo (and then owned by that user, so a later run without sudo can read and write it).
import { chownSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface LessonProgress {
  /** done: played to its end interactively (--auto and --print do not count: nobody answered). */
  status: 'started' | 'done';
  /** Shown to its end without a learner at the keys (--auto, --print). */
  watched?: boolean;
  /** Whether `nsx check` passed. */
  checked?: boolean;
  /** How many hints `nsx check --hint` has shown. */
  hints?: number;
  /** When the lesson last showed its try-it-yourself task (ISO 8601): `nsx check` counts only
   *  processes started after it, so that it never passes on someone else's. */
  taskShownAt?: string;
  updated: string;
}

export interface Progress {
  version: 1;
  lessons: Record<string, LessonProgress>;
}

/** The learner: under sudo, the user who ran sudo (SUDO_USER), not root. */
function learner(): { home: string; uid?: number; gid?: number } {
  const sudoUser = process.env.SUDO_USER;
  if (process.getuid?.() === 0 && sudoUser && sudoUser !== 'root') {
    try {
      const entry = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .map((l) => l.split(':'))
        .find((f) => f[0] === sudoUser);
      if (entry) return { home: entry[5], uid: Number(entry[2]), gid: Number(entry[3]) };
    } catch {
      /* fall through to this process's home */
    }
  }
  return { home: homedir() };
}

/** $NSX_PROGRESS, else $XDG_STATE_HOME/nsx/progress.json, else ~/.local/state/nsx/progress.json. */
export function progressPath(): string {
  if (process.env.NSX_PROGRESS) return process.env.NSX_PROGRESS;
  const who = learner();
  const state =
    process.env.SUDO_USER && who.uid !== undefined
      ? join(who.home, '.local', 'state')
      : process.env.XDG_STATE_HOME || join(who.home, '.local', 'state');
  return join(state, 'nsx', 'progress.json');
}

export function readProgress(path = progressPath()): Progress {
  try {
    const p = JSON.parse(readFileSync(path, 'utf8')) as Progress;
    if (p.version === 1 && p.lessons && typeof p.lessons === 'object') return p;
  } catch {
    /* none yet, or unreadable: start fresh (the file is rewritten on the next change) */
  }
  return { version: 1, lessons: {} };
}

/** Writes atomically, owned by the learner. */
export function writeProgress(p: Progress, path = progressPath()): void {
  const who = learner();
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(p, null, 2) + '\n');
  renameSync(tmp, path);
  if (who.uid !== undefined && !process.env.NSX_PROGRESS) {
    for (const p2 of [dirname(dirname(path)), dirname(path), path]) {
      try {
        chownSync(p2, who.uid, who.gid ?? who.uid);
      } catch {
        /* not ours to change */
      }
    }
  }
}

export function updateLesson(id: string, change: Partial<LessonProgress>, path = progressPath()): Progress {
  const p = readProgress(path);
  const before = p.lessons[id] ?? { status: 'started', updated: '' };
  p.lessons[id] = {
    ...before,
    ...change,
    status: change.status ?? (before.status === 'done' ? 'done' : 'started'),
    updated: new Date().toISOString(),
  };
  writeProgress(p, path);
  return p;
}

export function resetProgress(path = progressPath()): void {
  writeProgress({ version: 1, lessons: {} }, path);
}

/** How a lesson was played: in a terminal with a learner (interactive), or shown (auto, print). */
export interface PlayOutcome {
  mode: 'interactive' | 'auto' | 'print';
  completed: boolean;
  /** A variant of it: not the lesson itself, so nothing is marked. */
  variant?: string;
}

/** What a play changes in the lesson's progress: done only when a learner played it to its end;
 *  watched when it was shown to its end (projector, transcript); otherwise nothing (it is started). */
export function progressAfterPlay(o: PlayOutcome): Partial<LessonProgress> {
  if (!o.completed || o.variant !== undefined) return {};
  return o.mode === 'interactive' ? { status: 'done' } : { watched: true };
}

export function recordPlay(id: string, o: PlayOutcome, path = progressPath()): Progress {
  return updateLesson(id, progressAfterPlay(o), path);
}
