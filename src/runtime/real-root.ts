// Whether nsx runs as the host's root. Its own module, with nothing else of host.ts (cgroups, LSMs,
// capabilities), because every nsx run asks it before choosing how to talk to the engine.
import { readFileSync } from 'node:fs';

/** Root in the initial user namespace (not merely uid 0 inside some container): uid 0 mapped to 0
 *  over the whole range of ids, 4294967295 of them (user_namespaces(7), /proc/PID/uid_map). */
export function isRealRoot(): boolean {
  if (process.getuid?.() !== 0) return false;
  const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
  return map[0] === '0' && map[1] === '0' && map[2] === '4294967295';
}
