// Where the engine lives: its socket and its state directory. Root's engine is the machine's
// (/run/nsx, /var/lib/nsx/engine); a user's is theirs alone (under $XDG_RUNTIME_DIR and their
// state directory), as dockerd's rootless mode does. Tests point both elsewhere with env vars.
import { homedir } from 'node:os';
import { join } from 'node:path';

function rootful(): boolean {
  return process.getuid?.() === 0;
}

/** The engine's Unix socket: NSX_ENGINE_SOCKET, else /run/nsx/nsxd.sock (root) or
 *  $XDG_RUNTIME_DIR/nsx/nsxd.sock (a user; /run/user/UID when the variable is unset). */
export function socketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NSX_ENGINE_SOCKET) return env.NSX_ENGINE_SOCKET;
  if (rootful()) return '/run/nsx/nsxd.sock';
  return join(env.XDG_RUNTIME_DIR || `/run/user/${process.getuid?.()}`, 'nsx', 'nsxd.sock');
}

/** The engine's state directory (containers.json, one directory per container with its log):
 *  NSX_ENGINE_STATE, else /var/lib/nsx/engine (root) or $XDG_STATE_HOME/nsx/engine. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.NSX_ENGINE_STATE) return env.NSX_ENGINE_STATE;
  if (rootful()) return '/var/lib/nsx/engine';
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'nsx', 'engine');
}
