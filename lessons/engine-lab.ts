// The lab of the lessons about the engine (run-flow, engine-cli): a private engine (nsxd on its own
// socket and state directory), a private, empty image store, and optionally a private registry on
// loopback serving the sandbox image dockerinaction/hello_world (built here, offline, from
// busybox-static: sandbox/images/). Nothing of the machine's own engine or store is touched, and the
// teardown removes it all: the engine (which stops its containers, their cgroups and processes with
// it), the registry, and the one temporary directory everything else lives in.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient, startEngine } from '../src/engine/client.js';
import { buildAll, type BuiltImage } from '../src/image/build.js';
import { packageRoot } from '../src/paths.js';
import { processRuns } from '../src/learn/kernel.js';
import type { CheckResult, TourLab } from '../src/learn/lesson.js';

/** The image the lab's registry serves (the seed's `docker run dockerinaction/hello_world`). */
export const LAB_IMAGE = 'dockerinaction/hello_world';

export interface LabRegistry {
  host: string;
  close(): Promise<void>;
}

/** A lab registry's two ways to answer a request: `answer` (the Distribution API's version header,
 *  no body for HEAD) and `notFound` (its error shape: {"errors": [{code, message}]}), each appending
 *  "METHOD PATH STATUS" to `log`. */
export function registryReplies(req: IncomingMessage, res: ServerResponse, path: string, log: string) {
  const answer = (status: number, body: Buffer | string = '', headers: Record<string, string> = {}) => {
    writeFileSync(log, `${req.method} ${path} ${status}\n`, { flag: 'a' });
    res.writeHead(status, {
      'Docker-Distribution-API-Version': 'registry/2.0',
      'Content-Length': String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const notFound = (code: string) =>
    answer(404, JSON.stringify({ errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] }), {
      'Content-Type': 'application/json',
    });
  return { answer, notFound };
}

/** A registry in a few lines, read-only: the Distribution API's GET /v2/, manifests by tag or
 *  digest and blobs by digest (the OCI distribution spec's pull endpoints), every request appended
 *  to `log` as "METHOD PATH STATUS". Enough for `nsx pull`; nothing is downloaded from anywhere. */
export async function serveImage(repo: string, image: BuiltImage, log: string): Promise<LabRegistry> {
  const tag = image.ref.split(':').pop()!;
  const blobs = new Map([image.manifestBlob, image.configBlob, ...image.layers].map((b) => [b.digest, b.bytes]));
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const { answer, notFound } = registryReplies(req, res, path, log);
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405, '');
    if (path === '/v2/' || path === '/v2') return answer(200, '{}', { 'Content-Type': 'application/json' });
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    if (!m || m[1] !== repo) return notFound('NAME_UNKNOWN');
    if (m[2] === 'manifests') {
      if (m[3] !== tag && m[3] !== image.manifestBlob.digest) return notFound('MANIFEST_UNKNOWN');
      return answer(200, image.manifestBlob.bytes, {
        'Content-Type': image.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
        'Docker-Content-Digest': image.manifestBlob.digest,
      });
    }
    const blob = blobs.get(m[3]);
    if (!blob) return notFound('BLOB_UNKNOWN');
    return answer(200, blob, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': m[3] });
  });
  return listenOnLoopback(server);
}

/** A lab registry's server, listening on a free port of 127.0.0.1 (loopback only: nothing outside
 *  the machine can reach it), and how to close it with its connections. */
export async function listenOnLoopback(server: Server): Promise<LabRegistry> {
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Stops an engine: SIGTERM (it stops its containers first, as dockerd does without live-restore),
 *  SIGKILL after 15 s (its supervisors then kill the containers: their socket to it closed). */
async function stopEngine(pid: number): Promise<void> {
  if (!processRuns(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 150 && processRuns(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (!processRuns(pid)) return;
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 50 && processRuns(pid); i++) await new Promise((r) => setTimeout(r, 100));
}

/** The children of process ppid (an engine's: the shim's supervisors of its running containers). */
function childrenOf(ppid: number): number[] {
  const r = spawnSync('ps', ['-o', 'pid=', '--ppid', String(ppid)], { encoding: 'utf8' });
  return (r.stdout ?? '')
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

/** The machine's engine, for a lesson's check (run-flow, engine-cli): a client if it answers its
 *  ping, else the check's failure — it refused this check in (not root), or nothing answers on its
 *  socket. `then` ends the "start it" advice with what to do once it runs. */
export async function reachEngine(then = ''): Promise<{ client: EngineClient } | { fail: CheckResult }> {
  const client = new EngineClient();
  let up = false;
  try {
    up = await client.ping();
  } catch (e) {
    return {
      fail: {
        ok: false,
        message: `The engine is there but did not let this check in (${(e as Error).message}): run the check with sudo.`,
      },
    };
  }
  if (!up)
    return {
      fail: { ok: false, message: `No engine answers on ${client.socket}: start it (sudo nsx engine start)${then}.` },
    };
  return { client };
}

/** Starts the lab. `registry`: also a registry with the sandbox image, and the store's search list
 *  pointing at it (so `nsx pull dockerinaction/hello_world` finds it there, as the VM's does). */
export async function startLab(opts: { registry: boolean }): Promise<TourLab> {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-lab-'));
  chmodSync(dir, 0o700);
  const bin = join(dir, 'bin');
  const store = join(dir, 'store');
  const state = join(dir, 'engine');
  const socket = join(dir, 'nsxd.sock');
  let registry: LabRegistry | undefined;
  const engines = new Set<number>();
  const removed: string[] = [];

  const teardown = async (): Promise<string[]> => {
    // The engine we started, and any a CLI verb started again on the lab's socket (nsxd.pid).
    try {
      engines.add(Number(readFileSync(join(state, 'nsxd.pid'), 'utf8').trim()));
    } catch {
      /* it removed its pid file: stopped already */
    }
    for (const pid of engines) {
      if (!(pid > 0) || !processRuns(pid)) continue;
      const supervisors = childrenOf(pid);
      await stopEngine(pid);
      // A supervisor outlives its engine only while it kills its container: wait for that.
      for (let i = 0; i < 50 && supervisors.some(processRuns); i++) await new Promise((r) => setTimeout(r, 100));
      removed.push(`stopped the lab's engine (nsxd, pid ${pid}) and its containers`);
    }
    if (registry) {
      await registry.close();
      registry = undefined;
      removed.push("stopped the lab's registry");
    }
    rmSync(dir, { recursive: true, force: true });
    removed.push(`removed ${dir} (the lab's store, engine state and socket)`);
    return removed.splice(0);
  };

  try {
    mkdirSync(bin);
    // `nsx`, `engine-api` and `docker-log` on the commands' PATH, run by this very node (sudo's PATH may have none).
    const wrapper = (name: string, script: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\nexec '${process.execPath}' '${script}' "$@"\n`, { mode: 0o755 });
    };
    wrapper('nsx', join(packageRoot(), 'bin', 'nsx.cjs'));
    wrapper('engine-api', join(packageRoot(), 'dist', 'lessons', 'engine-api.js'));
    wrapper('docker-log', join(packageRoot(), 'dist', 'lessons', 'docker-log.js'));
    const env: Record<string, string> = {
      PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}`,
      NSX_ROOT: store,
      NSX_ENGINE_SOCKET: socket,
      NSX_ENGINE_STATE: state,
      NO_COLOR: '1',
    };
    const vars: Record<string, string> = { dir, socket, state, store };
    if (opts.registry) {
      const images = await buildAll(join(packageRoot(), 'sandbox', 'images', 'images.json'));
      const image = images.find((i) => i.ref === `docker.io/${LAB_IMAGE}:latest`);
      if (!image) throw new Error(`sandbox/images/images.json has no ${LAB_IMAGE}`);
      registry = await serveImage(LAB_IMAGE, image, join(dir, 'registry.log'));
      const config = join(dir, 'registries.json');
      writeFileSync(config, JSON.stringify({ unqualifiedSearchRegistries: [registry.host] }) + '\n');
      env.NSX_REGISTRIES_CONFIG = config;
      vars.registry = registry.host;
      vars.registryLog = join(dir, 'registry.log');
      writeFileSync(vars.registryLog, '');
    }
    const pid = await startEngine(new EngineClient(socket), { ...process.env, ...env });
    engines.add(pid);
    vars.engine = String(pid);
    return { vars, env, teardown };
  } catch (e) {
    await teardown();
    throw e;
  }
}
