// Where the engine lives: its socket and its state directory. Root's engine is the machine's
// (/run/nsx, /var/lib/nsx/engine); a user's is theirs alone (under $XDG_RUNTIME_DIR and their
// state directory), as dockerd's rootless mode does. Tests point both elsewhere with env vars.
import { existsSync, lstatSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NsxError } from '../runtime/errors.js';

function rootful(): boolean {
  return process.getuid?.() === 0;
}

/** A user's runtime directory: $XDG_RUNTIME_DIR; else /run/user/UID when a login session made it
 *  (pam_systemd); else, as podman does without one (`su learner`, cron), a directory of the user's
 *  own under /tmp, made mode 0700 by the engine (see privateDir). */
export function runtimeDir(env: NodeJS.ProcessEnv = process.env, exists = existsSync): string {
  if (env.XDG_RUNTIME_DIR) return env.XDG_RUNTIME_DIR;
  const uid = process.getuid?.();
  const run = `/run/user/${uid}`;
  return exists(run) ? run : `/tmp/nsx-run-${uid}`;
}

/** The engine's Unix socket: NSX_ENGINE_SOCKET, else /run/nsx/nsxd.sock (root) or
 *  RUNTIME_DIR/nsx/nsxd.sock (a user: see runtimeDir). */
export function socketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NSX_ENGINE_SOCKET) return env.NSX_ENGINE_SOCKET;
  if (rootful()) return '/run/nsx/nsxd.sock';
  return join(runtimeDir(env), 'nsx', 'nsxd.sock');
}

/** Makes dir (and its parents) and checks that it is this user's alone: a real directory, owned by
 *  the caller, writable by nobody else (the socket in it is mode 0600; others may traverse). Under /tmp anyone could have made it first (a symlink,
 *  or a directory of theirs to catch the socket): then refuse, and say how to fix it. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    throw new NsxError(
      `${dir} is not a directory of this user's alone (owner ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`,
      {
        hint: `the engine keeps its socket there: remove it (rm -r ${dir}) or set XDG_RUNTIME_DIR to a directory of your own`,
      },
    );
  }
}

/** The engine's state directory (containers.json, one directory per container with its log):
 *  NSX_ENGINE_STATE, else /var/lib/nsx/engine (root) or $XDG_STATE_HOME/nsx/engine. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NSX_ENGINE_STATE) return env.NSX_ENGINE_STATE;
  if (rootful()) return '/var/lib/nsx/engine';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'nsx', 'engine');
}
