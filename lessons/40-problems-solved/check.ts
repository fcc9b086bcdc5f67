// The problems-solved lesson's task, checked against the live processes: two versions of the sandbox
// server (nsx-sandbox/server:1 and :2) serving at once, each in a network namespace of its own, both
// on port 8080. Found from /proc, whoever started them: every busybox httpd listening on 8080 (the
// image's `server --serve`), its version read through its own root (/proc/PID/root, proc(5)).
import { readFileSync, readlinkSync } from 'node:fs';
import type { CheckResult } from '../../src/learn/lesson.js';
import { processes } from '../../src/learn/kernel.js';

interface Server {
  pid: number;
  version: string;
  netns: string;
}

function servers(): Server[] {
  const out: Server[] = [];
  for (const p of processes()) {
    if (p.comm !== 'httpd') continue;
    try {
      const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
      const port = argv[argv.indexOf('-p') + 1];
      if (!argv.includes('-p') || port !== '8080') continue;
      const version = readFileSync(`/proc/${p.pid}/root/usr/lib/server/VERSION`, 'utf8').trim();
      out.push({ pid: p.pid, version, netns: readlinkSync(`/proc/${p.pid}/ns/net`) });
    } catch {
      /* gone, or not the sandbox server */
    }
  }
  return out;
}

export async function checkTask(): Promise<CheckResult> {
  const found = servers();
  if (found.length === 0)
    return { ok: false, message: 'No sandbox server is serving on port 8080 yet (no `server --serve` is running).' };
  const versions = new Set(found.map((s) => s.version));
  const nets = new Set(found.map((s) => s.netns));
  const list = found.map((s) => `pid ${s.pid}: version ${s.version}, ${s.netns}`).join('; ');
  if (versions.size < 2)
    return {
      ok: false,
      message: `Serving: ${list}. Only version ${[...versions].join()} so far: the other version must serve at the same time.`,
    };
  if (nets.size < 2)
    return {
      ok: false,
      message: `Serving: ${list}. Both versions share one network namespace: each needs its own (a container each).`,
    };
  return {
    ok: true,
    message: `Versions ${[...versions].sort().join(' and ')} both serve on port 8080, in ${nets.size} network namespaces: ${list}.`,
  };
}
