// nsxd's answers to the rest of what the docker CLI asks: docker info, system df, volume ls, network
// ls, container prune and image tag where nsx has something true to say, and, for every endpoint the
// CLI's verbs reach that nsx does not implement, docker's error shape with the reason, never docker's
// bare "page not found" (docs.docker.com/reference/api/engine/ for the paths and shapes).
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { cpus, hostname, release, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { detectLayout } from '../runtime/cgroups/index.js';
import { apparmorEnabled } from '../runtime/lsm/apparmor.js';
import { NsxError } from '../runtime/errors.js';
import type { Engine } from './engine.js';
import { ApiError } from './errors.js';
import type { Http } from './images-api.js';
import { listShape } from './shapes.js';
import { duBytes, pruneContainers } from './verbs/prune.js';

type Handler = (req: IncomingMessage, res: ServerResponse, q: URLSearchParams, name: string) => Promise<void> | void;
type Route = [method: string, path: RegExp, handler: Handler];

const openStore = async () => new (await import('../image/store.js')).ImageStore();

/** docker's ?filters={"key":["value"]} (a JSON object of string arrays). */
export function filtersOf(q: URLSearchParams): Record<string, string[]> {
  const text = q.get('filters');
  if (!text) return {};
  try {
    const f = JSON.parse(text) as Record<string, string[] | Record<string, boolean>>;
    return Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Array.isArray(v) ? v : Object.keys(v)]));
  } catch {
    throw new ApiError(400, `invalid filters: ${text}`);
  }
}

/** The networks nsx knows: a container's network mode (nsx run --network none|host|veth). */
const NETWORKS = [
  { Name: 'none', Driver: 'null', about: 'a network namespace with only lo (the default)' },
  { Name: 'host', Driver: 'host', about: "the host's network namespace, shared" },
  { Name: 'veth', Driver: 'veth', about: 'a network namespace with a veth pair to the host' },
];

export function systemRoutes(engine: Engine, http: Http): Route[] {
  const { send } = http;
  return [
    ['GET', /^\/info$/, async (_req, res) => send(res, 200, await info(engine))],
    ['GET', /^\/system\/df$/, async (_req, res) => send(res, 200, await systemDf(engine))],
    [
      'GET',
      /^\/volumes$/,
      (_req, res) => send(res, 200, { Volumes: [], Warnings: [] }), // nsx has no volumes
    ],
    [
      'GET',
      /^\/networks$/,
      (_req, res) =>
        send(
          res,
          200,
          NETWORKS.map((n) => ({
            Name: n.Name,
            Id: createHash('sha256').update(`nsx-network-${n.Name}`).digest('hex'),
            Created: '0001-01-01T00:00:00Z',
            Scope: 'local',
            Driver: n.Driver,
            EnableIPv6: false,
            Internal: false,
            Attachable: false,
            Ingress: false,
            IPAM: { Driver: 'default', Config: [] },
            Containers: {},
            Options: {},
            Labels: { 'nsx.about': n.about },
          })),
        ),
    ],
    [
      'POST',
      /^\/containers\/prune$/,
      async (_req, res, q) => send(res, 200, await pruneContainers(engine, filtersOf(q))),
    ],
    [
      'POST',
      /^\/images\/(.+)\/tag$/,
      async (_req, res, q, name) => {
        const repo = q.get('repo');
        if (!repo) throw new ApiError(400, 'repository name (repo) not specified');
        const target = q.get('tag') ? `${repo}:${q.get('tag')}` : repo;
        const store = await openStore();
        try {
          store.tag(name, target);
        } catch (e) {
          if (e instanceof NsxError) {
            const message = e.message.replace(/^Error response from daemon: /, ''); // the CLI says that itself
            throw new ApiError(/no such|not found/i.test(message) ? 404 : 400, message, e.info.hint);
          }
          throw e;
        }
        send(res, 201);
      },
    ],
    ...unsupported(),
  ];
}

/** docker info: real numbers of this engine and machine. */
async function info(engine: Engine): Promise<Record<string, unknown>> {
  const all = engine.all();
  const count = (s: string[]) => all.filter((c) => s.includes(c.status)).length;
  let images = 0;
  try {
    images = (await openStore()).list().length;
  } catch {
    /* no store yet */
  }
  let cgroupVersion = '';
  let layout: ReturnType<typeof detectLayout> | undefined;
  try {
    layout = detectLayout();
    cgroupVersion = layout.version === 'v2' ? '2' : '1'; // hybrid: docker says 1 (the v1 controllers rule)
  } catch {
    /* no cgroup filesystem */
  }
  const security = ['name=seccomp,profile=builtin'];
  if (apparmorEnabled()) security.unshift('name=apparmor');
  if (!engine.root) security.push('name=rootless');
  const kernel = release();
  return {
    ID: createHash('sha256').update(`nsx-${hostname()}`).digest('hex').slice(0, 36),
    Containers: all.length,
    // moby's daemon/info.go counts by status: running, paused, and all the others as stopped.
    ContainersRunning: count(['running']),
    ContainersPaused: count(['paused']),
    ContainersStopped: all.length - count(['running', 'paused']),
    Images: images,
    Driver: 'overlay2',
    DriverStatus: [['Backing Filesystem', 'nsx image store (overlayfs, or a copy where overlay is refused)']],
    Plugins: { Volume: [], Network: NETWORKS.map((n) => n.Driver), Log: ['json-file'] },
    MemoryLimit: !!layout && (!!layout.v1.memory || layout.unifiedControllers.includes('memory')),
    SwapLimit: false,
    CpuCfsPeriod: !!layout && (!!layout.v1.cpu || layout.unifiedControllers.includes('cpu')),
    CpuCfsQuota: !!layout && (!!layout.v1.cpu || layout.unifiedControllers.includes('cpu')),
    PidsLimit: !!layout && (!!layout.v1.pids || layout.unifiedControllers.includes('pids')),
    OomKillDisable: false,
    IPv4Forwarding: readText('/proc/sys/net/ipv4/ip_forward') === '1',
    Debug: false,
    NFd: 0,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs', // nsx writes /sys/fs/cgroup itself, not through systemd
    CgroupVersion: cgroupVersion,
    NEventsListener: engine.events.listenerCount('event'),
    KernelVersion: kernel,
    OperatingSystem: osName(),
    OSVersion: '',
    OSType: 'linux',
    Architecture: process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch,
    IndexServerAddress: 'https://index.docker.io/v1/',
    NCPU: cpus().length,
    MemTotal: totalmem(),
    DockerRootDir: engine.dir,
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: '0.1.0 (nsx)',
    Runtimes: { nsx: { path: 'nsx-shim' } },
    DefaultRuntime: 'nsx',
    Swarm: { LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    SecurityOptions: security,
    Warnings: cgroupVersion ? [] : ['WARNING: no cgroup filesystem: nsx runs containers without limits'],
  };
}

/** docker system df: the store's images, the containers' writable layers, no volumes, no build cache. */
async function systemDf(engine: Engine): Promise<Record<string, unknown>> {
  const store = await openStore();
  let images: Record<string, unknown>[] = [];
  let layers = 0;
  try {
    const { imageSummaries } = await import('./images-api.js');
    const rows = store.list();
    images = imageSummaries(
      rows.map((row) => ({ row, names: store.namesOf(row.manifestDigest), labels: {} })),
    ) as unknown as Record<string, unknown>[];
    layers = rows.reduce((a, r) => a + (r.size ?? 0), 0);
  } catch {
    /* no store yet */
  }
  const inUse = (ref: string) => engine.all().filter((c) => c.record.Image === ref).length;
  for (const i of images) {
    const tags = (i.RepoTags as string[] | undefined) ?? [];
    i.Containers = tags.reduce((a, t) => a + inUse(t), 0);
    i.SharedSize = 0;
  }
  const containers = engine.all().map((c) => {
    const dir = c.rootDir();
    const upper = c.record.Root?.overlay?.upper ?? dir;
    return { ...listShape(c.record, undefined), SizeRw: upper ? duBytes(upper) : 0, SizeRootFs: 0 };
  });
  return { LayersSize: layers, Images: images, Containers: containers, Volumes: [], BuildCache: [] };
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function osName(): string {
  const text = readText('/etc/os-release') ?? '';
  return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(text)?.[1] ?? 'Linux';
}

/** A sentence for an endpoint nsx does not implement: 501, docker's shape, and why. */
const no = (verb: string, why: string, hint?: string): Handler => {
  return async (req) => {
    // A build's context or a load's tar is read off (and dropped) before the answer: answered
    // mid-upload, the connection would be closed under a client still writing (EPIPE, not the sentence).
    if (!req.complete)
      await new Promise<void>((done) => {
        req.once('end', done).once('error', done).once('close', done);
        req.resume();
      });
    // The docker CLI prints only the message: what to do instead belongs in it.
    throw new ApiError(501, `nsx does not implement ${verb}: ${why}${hint ? `; ${hint}` : ''}`);
  };
};

/** Every endpoint the docker CLI's other verbs reach, with the reason nsx leaves it out. */
function unsupported(): Route[] {
  return [
    [
      'POST',
      /^\/session$/,
      no(
        'docker build with BuildKit',
        "nsx's builder is the legacy one (no BuildKit session): DOCKER_BUILDKIT=0 docker build",
      ),
    ],
    [
      'POST',
      /^\/volumes\/create$/,
      no('docker volume create', 'nsx has no volumes: a container sees its own root filesystem only'),
    ],
    [
      'POST',
      /^\/networks\/create$/,
      no(
        'docker network create',
        'nsx has three fixed network modes (none, host, veth: nsx run --network), no user-defined networks',
      ),
    ],
  ];
}

/** The answer for any other path: docker's 404 shape, and what nsx's engine does speak. */
export function noSuchEndpoint(method: string, path: string): ApiError {
  return new ApiError(
    404,
    `nsx's engine has no ${method} ${path}: it implements the Docker Engine API's containers, exec, images ` +
      '(list, pull, inspect, remove, tag, history, prune, commit, build), login, info, events and version, and answers the rest of what the docker CLI asks with why not',
    'docs.docker.com/reference/api/engine/ describes the whole API; nsx --help lists what nsx does',
  );
}
