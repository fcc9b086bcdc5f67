// The real docker CLI (v28, /usr/local/bin/docker) drives nsxd (issue 12): the container verbs pause,
// unpause, restart, rename and update, container prune, info, volume ls, network ls, system df, and
// the verbs nsx does not implement, each answered with why (diff, cp, export, save and load:
// docker-cli-fs.test.ts). It talks to the suite's engine
// (NSX_ENGINE_SOCKET, test/global-setup.ts) through DOCKER_HOST, negotiating the API version as it
// does with docker's daemon. What the CLI prints and exits with is compared to docker's.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectLayout } from '../../src/runtime/cgroups/index.js';
import { TestEngine } from '../engine.js';
import { TEST_ROOTFS, isRoot, nsx } from '../helpers.js';

const DOCKER = '/usr/local/bin/docker';
const haveDocker = existsSync(DOCKER);
const why = !isRoot
  ? 'needs root: the suite engine runs only as root'
  : !haveDocker
    ? `needs the docker CLI at ${DOCKER} (it is not installed here)`
    : '';
if (why) console.log(`docker-cli.test.ts: skipped: ${why}`);
const itDocker: typeof it = ((name: string, fn: any, t?: number) =>
  why ? it.skip(`${name} [skipped: ${why}]`, fn, t) : it(name, fn, t)) as any;

const socket = () => process.env.NSX_ENGINE_SOCKET!;
const config = mkdtempSync(join(tmpdir(), 'nsx-docker-config-')); // the CLI's ~/.docker, not root's

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `docker ARGS` against the suite's engine. */
function docker(args: string[], opts: { cwd?: string; input?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(DOCKER, args, {
      cwd: opts.cwd,
      env: { PATH: process.env.PATH, DOCKER_HOST: `unix://${socket()}`, DOCKER_CONFIG: config, HOME: config },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      { socketPath: socket(), agent: false, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: any;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

const created: string[] = [];

/** A container of the test rootfs, started; a shell loop that burns CPU unless told otherwise. */
async function running(name: string, cmd = ['/bin/sh', '-c', 'while :; do :; done']): Promise<string> {
  const c = await api('POST', `/containers/create?name=${name}`, { Rootfs: TEST_ROOTFS, Cmd: cmd });
  if (c.status !== 201) throw new Error(`create: ${c.status} ${c.text}`);
  created.push(c.body.Id);
  const s = await api('POST', `/containers/${c.body.Id}/start`);
  if (s.status !== 204) throw new Error(`start: ${s.status} ${s.text}`);
  return c.body.Id;
}

const inspect = async (id: string) => (await api('GET', `/containers/${id}/json`)).body;

/** utime + stime of a process, in clock ticks (proc(5) /proc/PID/stat fields 14 and 15). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(f[11]) + Number(f[12]);
}

/** docker ps's row of one container: "NAME STATUS". */
async function psRow(name: string): Promise<string | undefined> {
  const ps = await docker(['ps', '--format', '{{.Names}} {{.Status}}']);
  return ps.stdout.split('\n').find((l) => l.startsWith(`${name} `));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The container's cgroup directories that exist now, in every hierarchy. */
function cgroupDirs(id: string): string[] {
  const layout = detectLayout();
  const mounts = new Set([...Object.values(layout.v1), ...(layout.unified ? [layout.unified] : [])]);
  return [...mounts].map((m) => join(m, 'nsx', id)).filter((d) => existsSync(d));
}

/** Where the freezer says whether it is frozen: v1 freezer.state, else cgroup2's cgroup.events. */
function frozenNow(id: string): boolean {
  const layout = detectLayout();
  if (layout.v1.freezer)
    return readFileSync(join(layout.v1.freezer, 'nsx', id, 'freezer.state'), 'utf8').trim() === 'FROZEN';
  return /^frozen 1$/m.test(readFileSync(join(layout.unified!, 'nsx', id, 'cgroup.events'), 'utf8'));
}

describe('the docker CLI drives nsxd', () => {
  beforeAll(async () => {
    if (why) return;
    expect((await api('GET', '/_ping')).status).toBe(200);
  });
  afterAll(async () => {
    if (!why) for (const id of created) await api('DELETE', `/containers/${id}?force=1`);
    rmSync(config, { recursive: true, force: true });
  });

  itDocker('docker pause freezes every process (their CPU time stops), ps says (Paused), unpause thaws', async () => {
    const id = await running('dc-pause');
    const pid = (await inspect(id)).State.Pid;
    const pause = await docker(['pause', 'dc-pause']);
    expect(pause).toEqual({ code: 0, stdout: 'dc-pause\n', stderr: '' });
    expect(frozenNow(id)).toBe(true);
    const before = cpuTicks(pid);
    await sleep(600);
    expect(cpuTicks(pid)).toBe(before); // a busy loop that does not run
    expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^State:\s+D /m); // frozen: uninterruptible
    expect(await psRow('dc-pause')).toMatch(/^dc-pause Up .* \(Paused\)$/);
    const state = await docker(['inspect', '-f', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}', 'dc-pause']);
    expect(state.stdout).toBe('paused true true\n');
    // docker's refusals of a paused container, in its words.
    const again = await docker(['pause', 'dc-pause']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`is already paused`);
    const exec = await docker(['exec', 'dc-pause', 'true']);
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toContain('is paused, unpause the container before exec');
    const rm = await docker(['rm', 'dc-pause']);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain('container is paused and must be unpaused first');

    const unpause = await docker(['unpause', 'dc-pause']);
    expect(unpause).toEqual({ code: 0, stdout: 'dc-pause\n', stderr: '' });
    expect(frozenNow(id)).toBe(false);
    const thawed = cpuTicks(pid);
    await sleep(600);
    expect(cpuTicks(pid)).toBeGreaterThan(thawed);
    expect(await psRow('dc-pause')).toMatch(/^dc-pause Up [^(]*$/);
    const twice = await docker(['unpause', 'dc-pause']);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('is not paused');
  });

  itDocker('docker kill of a paused container kills it and leaves no cgroup', async () => {
    const id = await running('dc-kill-paused');
    expect((await docker(['pause', 'dc-kill-paused'])).code).toBe(0);
    expect(cgroupDirs(id).length).toBeGreaterThan(0);
    const kill = await docker(['kill', 'dc-kill-paused']);
    expect(kill).toEqual({ code: 0, stdout: 'dc-kill-paused\n', stderr: '' });
    const wait = await docker(['wait', 'dc-kill-paused']);
    expect(wait.stdout).toBe('137\n');
    expect((await inspect(id)).State).toEqual(expect.objectContaining({ Status: 'exited', Paused: false, Pid: 0 }));
    expect(cgroupDirs(id)).toEqual([]);
  });

  itDocker('docker rm -f of a paused container removes it, its processes and its cgroup', async () => {
    const id = await running('dc-rm-paused');
    const pid = (await inspect(id)).State.Pid;
    expect((await docker(['pause', 'dc-rm-paused'])).code).toBe(0);
    const rm = await docker(['rm', '-f', 'dc-rm-paused']);
    expect(rm).toEqual({ code: 0, stdout: 'dc-rm-paused\n', stderr: '' });
    expect((await api('GET', `/containers/${id}/json`)).status).toBe(404);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
  });

  itDocker('docker stop of a paused container stops it (SIGTERM, then thawed)', async () => {
    // PID 1 of a PID namespace ignores a signal it has no handler for: this one has one, exit 3.
    const id = await running('dc-stop-paused', ['/bin/sh', '-c', 'trap "exit 3" TERM; while :; do sleep 0.1; done']);
    expect((await docker(['pause', 'dc-stop-paused'])).code).toBe(0);
    const t0 = Date.now();
    const stop = await docker(['stop', '-t', '20', 'dc-stop-paused']);
    expect(stop).toEqual({ code: 0, stdout: 'dc-stop-paused\n', stderr: '' });
    const s = (await inspect(id)).State;
    expect(s.Status).toBe('exited');
    expect(s.ExitCode).toBe(3); // its trap ran: the SIGTERM reached it once thawed, no SIGKILL needed
    expect(Date.now() - t0).toBeLessThan(15000);
    expect(cgroupDirs(id)).toEqual([]);
  });

  itDocker('docker rename: a new name, docker name rules, a 409 on a taken name', async () => {
    const id = await running('dc-rename-a', ['/bin/sleep', '1000']);
    await running('dc-rename-taken', ['/bin/sleep', '1000']);
    const ok = await docker(['rename', 'dc-rename-a', 'dc-rename-b']);
    expect(ok).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await inspect(id)).Name).toBe('/dc-rename-b');
    expect(await psRow('dc-rename-b')).toMatch(/^dc-rename-b Up /);
    const taken = await docker(['rename', 'dc-rename-b', 'dc-rename-taken']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('Conflict. The container name "/dc-rename-taken" is already in use by container');
    const bad = await docker(['rename', 'dc-rename-b', 'no spaces']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Invalid container name (no spaces)');
    const api409 = await api('POST', `/containers/${id}/rename?name=dc-rename-taken`);
    expect(api409.status).toBe(409);
  });

  itDocker(
    'docker update --memory 64m --pids-limit 50 --cpus 0.5: inspect shows it, the live cgroup holds it',
    async () => {
      const id = await running('dc-update', ['/bin/sleep', '1000']);
      const up = await docker(['update', '--memory', '64m', '--pids-limit', '50', '--cpus', '0.5', 'dc-update']);
      expect(up).toEqual({ code: 0, stdout: 'dc-update\n', stderr: '' });
      const h = (await inspect(id)).HostConfig;
      expect([h.Memory, h.PidsLimit, h.NanoCpus]).toEqual([64 * 1024 * 1024, 50, 5e8]);
      const layout = detectLayout();
      const mem = layout.v1.memory
        ? join(layout.v1.memory, 'nsx', id, 'memory.limit_in_bytes')
        : join(layout.unified!, 'nsx', id, 'memory.max');
      expect(readFileSync(mem, 'utf8').trim()).toBe(String(64 * 1024 * 1024));
      const pids = join(layout.v1.pids ?? layout.unified!, 'nsx', id, 'pids.max');
      expect(readFileSync(pids, 'utf8').trim()).toBe('50');
      const cpu = layout.v1.cpu
        ? readFileSync(join(layout.v1.cpu, 'nsx', id, 'cpu.cfs_quota_us'), 'utf8').trim()
        : readFileSync(join(layout.unified!, 'nsx', id, 'cpu.max'), 'utf8')
            .trim()
            .split(' ')[0];
      expect(cpu).toBe('50000');
      // Raised again (v1: memsw first, or the kernel refuses): the file follows.
      expect((await docker(['update', '-m', '128m', 'dc-update'])).code).toBe(0);
      expect(readFileSync(mem, 'utf8').trim()).toBe(String(128 * 1024 * 1024));
      // A limit nsx does not set is refused, saying which ones it does.
      const blkio = await docker(['update', '--blkio-weight', '300', 'dc-update']);
      expect(blkio.code).toBe(1);
      expect(blkio.stderr).toContain("nsx's update does not change BlkioWeight");
      const api200 = await api('POST', `/containers/${id}/update`, { Memory: 96 * 1024 * 1024 });
      expect([api200.status, api200.body]).toEqual([200, { Warnings: [] }]);
    },
  );

  itDocker('docker restart: stopped and started again, a new PID 1', async () => {
    const id = await running('dc-restart', ['/bin/sleep', '1000']);
    const first = (await inspect(id)).State;
    const r = await docker(['restart', '-t', '1', 'dc-restart']);
    expect(r).toEqual({ code: 0, stdout: 'dc-restart\n', stderr: '' });
    const now = (await inspect(id)).State;
    expect(now.Status).toBe('running');
    expect(now.Pid).not.toBe(first.Pid);
    expect(existsSync(`/proc/${first.Pid}`)).toBe(false);
    expect(Date.parse(now.StartedAt)).toBeGreaterThan(Date.parse(first.StartedAt));
  });

  itDocker('docker container prune -f removes the stopped containers, not the running one', async () => {
    const live = await running('dc-prune-live', ['/bin/sleep', '1000']);
    const done = await running('dc-prune-done', ['/bin/true']);
    await api('POST', `/containers/${done}/wait`);
    const p = await docker(['container', 'prune', '-f']);
    expect(p.code).toBe(0);
    expect(p.stdout).toContain(`Deleted Containers:\n`);
    expect(p.stdout).toContain(`${done}\n`);
    expect(p.stdout).toMatch(/Total reclaimed space: \d/);
    expect(p.stdout).not.toContain(live);
    expect((await api('GET', `/containers/${done}/json`)).status).toBe(404);
    expect((await inspect(live)).State.Status).toBe('running');
  });

  itDocker('docker info, volume ls, network ls and system df answer with real numbers', async () => {
    const id = await running('dc-info', ['/bin/sleep', '1000']);
    expect((await docker(['pause', 'dc-info'])).code).toBe(0);
    const info = await docker(['info']);
    expect(info.code).toBe(0);
    const all = (await api('GET', '/containers/json?all=1')).body as { State: string }[];
    expect(info.stdout).toContain(` Containers: ${all.length}\n`);
    expect(info.stdout).toContain(`  Paused: ${all.filter((c) => c.State === 'paused').length}\n`);
    expect(info.stdout).toMatch(/ {2}Paused: [1-9]/);
    expect(info.stdout).toContain(` Kernel Version: ${release()}\n`);
    expect(info.stdout).toContain(` Cgroup Version: ${detectLayout().version === 'v2' ? 2 : 1}\n`);
    expect(info.stdout).toContain(' Cgroup Driver: cgroupfs\n');
    expect(info.stdout).toMatch(/Security Options:\n(.|\n)*seccomp/);
    expect(await docker(['unpause', 'dc-info'])).toEqual(expect.objectContaining({ code: 0 }));
    expect((await inspect(id)).State.Paused).toBe(false);

    const volumes = await docker(['volume', 'ls']);
    expect(volumes).toEqual({ code: 0, stdout: 'DRIVER    VOLUME NAME\n', stderr: '' });
    const networks = await docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Scope}}']);
    expect(networks.code).toBe(0);
    expect(networks.stdout.trim().split('\n').sort()).toEqual([
      'host host local',
      'none null local',
      'veth veth local',
    ]);
    const df = await docker(['system', 'df']);
    expect(df.code).toBe(0);
    expect(df.stdout).toMatch(/^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE\n/);
    expect(df.stdout).toMatch(/\nContainers +\d+ +\d+ /);
  });

  itDocker('the verbs nsx does not implement say so, and why, and exit non-zero', async () => {
    await running('dc-unsupported', ['/bin/sleep', '1000']);
    const build = mkdtempSync(join(tmpdir(), 'nsx-build-'));
    writeFileSync(join(build, 'Dockerfile'), 'FROM busybox\n');
    const verbs: [string[], string][] = [[['volume', 'create', 'nsx-test-volume'], 'docker volume create']];
    try {
      for (const [args, verb] of verbs) {
        const r = await docker(args, { cwd: build, input: 'p\n' });
        expect({ args, code: r.code }).toEqual({ args, code: 1 });
        expect(r.stderr).toContain(`Error response from daemon: nsx does not implement ${verb}: `);
      }
    } finally {
      rmSync(build, { recursive: true, force: true });
    }
  });

  itDocker('API: docker error shapes, never "page not found"', async () => {
    const unknown = await api('GET', '/v1.43/swarm');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toMatch(/^nsx's engine has no GET \/swarm: /);
    expect(unknown.text).not.toContain('page not found');
    const changes = await api('GET', '/v1.43/containers/x/changes');
    expect(changes.status).toBe(404);
    expect(changes.body).toEqual({ message: 'No such container: x' });
    const created = await api('POST', '/containers/create?name=dc-api-created', { Rootfs: TEST_ROOTFS, Cmd: ['true'] });
    const id = created.body.Id;
    const pause = await api('POST', `/containers/${id}/pause`);
    expect(pause.status).toBe(409);
    expect(pause.body.message).toBe(`Container ${id} is not running`);
    const bad = await api('POST', `/containers/${id}/update`, { KernelMemory: 1 });
    expect(bad.status).toBe(400);
    const badT = await api('POST', `/containers/${id}/restart?t=soon`);
    expect(badT.status).toBe(400);
    expect((await api('DELETE', `/containers/${id}`)).status).toBe(204);
  });

  itDocker(
    "nsx's own pause, unpause, update, rename, restart and container prune print what docker prints",
    async () => {
      const id = await running('dc-nsx', ['/bin/sleep', '1000']);
      expect(await nsx(['pause', 'dc-nsx'])).toEqual(expect.objectContaining({ code: 0, stdout: 'dc-nsx\n' }));
      expect((await inspect(id)).State.Paused).toBe(true);
      expect((await nsx(['ps'])).stdout).toMatch(/dc-nsx/);
      expect(await nsx(['unpause', 'dc-nsx'])).toEqual(expect.objectContaining({ code: 0, stdout: 'dc-nsx\n' }));
      expect(await nsx(['update', '-m', '64m', 'dc-nsx'])).toEqual(
        expect.objectContaining({ code: 0, stdout: 'dc-nsx\n' }),
      );
      expect((await inspect(id)).HostConfig.Memory).toBe(64 * 1024 * 1024);
      expect(await nsx(['rename', 'dc-nsx', 'dc-nsx2'])).toEqual(expect.objectContaining({ code: 0, stdout: '' }));
      expect(await nsx(['restart', '-t', '1', 'dc-nsx2'])).toEqual(
        expect.objectContaining({ code: 0, stdout: 'dc-nsx2\n' }),
      );
      expect(await nsx(['stop', '-t', '1', 'dc-nsx2'])).toEqual(expect.objectContaining({ code: 0 }));
      const prune = await nsx(['container', 'prune', '-f']);
      expect(prune.code).toBe(0);
      expect(prune.stdout).toContain(`Deleted Containers:\n`);
      expect(prune.stdout).toContain(id);
      const none = await nsx(['update', 'dc-nsx2']);
      expect(none.code).toBe(125);
      expect(none.stderr).toContain('you must provide one or more flags');
    },
  );
});

describe('a paused container when its engine dies', () => {
  const engine = new TestEngine();
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  itDocker('SIGKILL on the engine: the next engine thaws what the supervisor killed, and nothing is left', async () => {
    await engine.start();
    const id = await engine.run(TEST_ROOTFS, ['/bin/sleep', '600'], 'frozen-when-engine-died');
    const pid = (await engine.api('GET', `/containers/${id}/json`)).body.State.Pid as number;
    expect((await engine.api('POST', `/containers/${id}/pause`)).status).toBe(204);
    await engine.stop('SIGKILL');
    // v1: a frozen task does not die of its supervisor's SIGKILL until it is thawed.
    await engine.start();
    const s = (await engine.api('GET', `/containers/${id}/json`)).body.State;
    expect(s).toEqual(expect.objectContaining({ Status: 'exited', Paused: false, ExitCode: 137 }));
    for (let i = 0; i < 100 && (existsSync(`/proc/${pid}`) || cgroupDirs(id).length); i++) await sleep(100);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(cgroupDirs(id)).toEqual([]);
    expect((await engine.api('DELETE', `/containers/${id}`)).status).toBe(204);
  });
});
