// Writes files as another host user: for a container run on an unprivileged user's behalf (the
// lesson player, as root, running a lesson rootless for the user who typed `sudo nsx learn`).
// The id maps must then be written by that user too, so the kernel applies the unprivileged
// rules of user_namespaces(7): one line mapping the writer's own id, setgroups denied first.
import { spawnSync } from 'node:child_process';
import type { HostUser } from './shim.js';

/** Run by a child node process as the user: writes each (path, text) in order, stops at the first
 *  failure and reports its errno name as JSON. */
const WRITER = `
const fs = require('fs');
const args = process.argv.slice(1);
for (let i = 0; i < args.length; i += 2) {
  try { fs.writeFileSync(args[i], args[i + 1]); }
  catch (e) { process.stdout.write(JSON.stringify({ path: args[i], code: e.code || 'EIO' })); process.exit(1); }
}
`;

/** Writes the files in order as `user`; the first failure, or undefined when all were written. */
export function writeFilesAs(
  user: HostUser,
  writes: [path: string, text: string][],
): { path: string; code: string } | undefined {
  const r = spawnSync(process.execPath, ['-e', WRITER, ...writes.flat()], {
    uid: user.uid,
    gid: user.gid,
    encoding: 'utf8',
    env: {},
    timeout: 10000,
  });
  if (r.status === 0) return undefined;
  try {
    return JSON.parse(r.stdout) as { path: string; code: string };
  } catch {
    return { path: writes[0]?.[0] ?? '?', code: r.error ? ((r.error as NodeJS.ErrnoException).code ?? 'EIO') : 'EIO' };
  }
}
