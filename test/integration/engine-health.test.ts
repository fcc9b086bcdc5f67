// docker's HEALTHCHECK in the engine (issue 14): Config.Healthcheck is run as an exec inside the
// running container every Interval; State.Health goes starting → unhealthy after Retries failures in a
// row → healthy at the first success, docker ps says so, and each change is a "health_status: …"
// event. The same from nsx run's --health-* flags; bad values refused at create in docker's words.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildAll, loadLayout, writeLayout } from '../../src/image/build.js';
import { ImageStore } from '../../src/image/store.js';
import { TestEngine, followEvents } from '../engine.js';
import { NSX, ROOT, TEST_ROOTFS, itRoot, nsx } from '../helpers.js';

const MS = 1e6;

describe('health checks', () => {
  const engine = new TestEngine();
  beforeAll(async () => {
    if (process.getuid?.() === 0) await engine.start();
  });
  afterAll(async () => {
    await engine.stop();
    rmSync(engine.dir, { recursive: true, force: true });
  });

  const health = async (id: string) => (await engine.api('GET', `/containers/${id}/json`)).body.State.Health;

  itRoot(
    'starting → unhealthy after Retries failures → healthy, in inspect, ps and events',
    async () => {
      const events = followEvents(engine.socket);
      await new Promise((r) => setTimeout(r, 200)); // subscribed before the container exists
      // The probe fails until the container's own command makes /tmp/ok, 3 s after its start.
      const id = await engine.run(TEST_ROOTFS, ['/bin/sh', '-c', 'sleep 3; touch /tmp/ok; sleep 60'], 'probed', {
        Healthcheck: { Test: ['CMD-SHELL', 'test -e /tmp/ok && echo fine'], Interval: 200 * MS, Retries: 2 },
      });
      const info = (await engine.api('GET', `/containers/${id}/json`)).body;
      expect(info.Config.Healthcheck).toEqual({
        Test: ['CMD-SHELL', 'test -e /tmp/ok && echo fine'],
        Interval: 200 * MS,
        Retries: 2,
      });
      expect(info.State.Health.Status).toBe('starting');

      let h: any;
      for (const end = Date.now() + 10000; Date.now() < end && (h = await health(id)).Status !== 'unhealthy';)
        await new Promise((r) => setTimeout(r, 100));
      expect(h.Status).toBe('unhealthy');
      expect(h.FailingStreak).toBeGreaterThanOrEqual(2);
      expect(h.Log.at(-1)).toEqual(expect.objectContaining({ ExitCode: 1, Output: '' }));
      const ps = await nsx(['ps'], { env: engine.env });
      expect(ps.stdout).toMatch(/Up .*\(unhealthy\) .* probed\n/);

      for (const end = Date.now() + 15000; Date.now() < end && (h = await health(id)).Status !== 'healthy';)
        await new Promise((r) => setTimeout(r, 100));
      expect(h).toEqual(expect.objectContaining({ Status: 'healthy', FailingStreak: 0 }));
      expect(h.Log.at(-1)).toEqual(expect.objectContaining({ ExitCode: 0, Output: 'fine\n' }));
      expect(h.Log.length).toBeLessThanOrEqual(5); // moby keeps the last five
      expect((await nsx(['ps'], { env: engine.env })).stdout).toMatch(/Up .*\(healthy\) .* probed\n/);

      events.stop();
      const changes = events.seen.filter((e) => e.id === id && e.Action.startsWith('health_status'));
      expect(changes.map((e) => e.Action)).toEqual(['health_status: unhealthy', 'health_status: healthy']);
      expect(events.seen.some((e) => e.id === id && e.Action.startsWith('exec_start: /bin/sh -c test -e'))).toBe(true);
      expect((await engine.api('DELETE', `/containers/${id}?force=true`)).status).toBe(204);
    },
    40000,
  );

  itRoot(
    'a probe past its Timeout is killed and counts as failed (exit -1)',
    async () => {
      const id = await engine.run(TEST_ROOTFS, ['/bin/sleep', '60'], 'slow-probe', {
        Healthcheck: { Test: ['CMD', '/bin/sleep', '5'], Interval: 100 * MS, Timeout: 300 * MS, Retries: 1 },
      });
      let h: any;
      for (const end = Date.now() + 10000; Date.now() < end && (h = await health(id)).Status !== 'unhealthy';)
        await new Promise((r) => setTimeout(r, 100));
      expect(h.Status).toBe('unhealthy');
      expect(h.Log[0]).toEqual(
        expect.objectContaining({ ExitCode: -1, Output: 'Health check exceeded timeout (0.3s)' }),
      );
      expect((await engine.api('DELETE', `/containers/${id}?force=true`)).status).toBe(204);
    },
    20000,
  );

  itRoot(
    "nsx run's --health-* flags make Config.Healthcheck as the docker CLI does",
    async () => {
      const r = await nsx(
        [
          'run',
          '-d',
          '--name',
          'flagged',
          '--health-cmd',
          'true',
          '--health-interval',
          '250ms',
          '--health-retries',
          '4',
          '--health-timeout',
          '1s',
          '--health-start-period',
          '1m30s',
          '--rootfs',
          TEST_ROOTFS,
          '/bin/sleep',
          '60',
        ],
        { env: engine.env, events: false },
      );
      expect([r.code, r.stderr]).toEqual([0, '']);
      const info = (await engine.api('GET', '/containers/flagged/json')).body;
      expect(info.Config.Healthcheck).toEqual({
        Test: ['CMD-SHELL', 'true'],
        Interval: 250 * MS,
        Timeout: 1000 * MS,
        StartPeriod: 90_000 * MS,
        Retries: 4,
      });
      let h: any;
      for (const end = Date.now() + 10000; Date.now() < end && (h = await health('flagged')).Status !== 'healthy';)
        await new Promise((r) => setTimeout(r, 100));
      expect(h.Status).toBe('healthy');
      const bad = await nsx(['run', '-d', '--health-interval', '2x', '--rootfs', TEST_ROOTFS, '/bin/true'], {
        env: engine.env,
        events: false,
      });
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/--health-interval 2x: invalid duration/);
      expect((await engine.api('DELETE', '/containers/flagged?force=true')).status).toBe(204);
    },
    30000,
  );

  itRoot("bad Healthcheck fields are refused at create in docker's words", async () => {
    const create = (Healthcheck: unknown) =>
      engine.api('POST', '/containers/create', { Rootfs: TEST_ROOTFS, Cmd: ['/bin/true'], Healthcheck });
    let r = await create({ Test: ['CMD-SHELL', 'true'], Interval: 5 });
    expect([r.status, r.body.message]).toEqual([400, 'Interval in Healthcheck cannot be less than 1ms']);
    r = await create({ Test: ['CMD-SHELL', 'true'], Retries: -1 });
    expect([r.status, r.body.message]).toEqual([400, 'Retries in Healthcheck cannot be negative']);
    r = await create({ Test: 'true' });
    expect([r.status, r.body.message]).toEqual([400, 'Healthcheck.Test must be an array of strings']);
    r = await create({ Test: ['NONE'] });
    expect(r.status).toBe(201);
    const info = (await engine.api('GET', `/containers/${r.body.Id}/json`)).body;
    expect(info.Config.Healthcheck).toBeUndefined();
    expect(info.State.Health).toBeUndefined();
    await engine.api('DELETE', `/containers/${r.body.Id}`);
  });
});

// The real docker CLI (v28) against an engine of this test's own, with busybox in its store.
const DOCKER = '/usr/local/bin/docker';
const noDocker = !existsSync(DOCKER) ? `needs the docker CLI at ${DOCKER}` : '';
if (noDocker) console.log(`engine-health.test.ts: docker CLI test skipped: ${noDocker}`);

describe('health checks through the docker CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-health-docker-'));
  const env = {
    ...process.env,
    NSX_ROOT: join(dir, 'store'),
    NSX_ENGINE_SOCKET: join(dir, 'nsxd.sock'),
    NSX_ENGINE_STATE: join(dir, 'state'),
    DOCKER_HOST: `unix://${join(dir, 'nsxd.sock')}`,
    DOCKER_CONFIG: join(dir, 'docker-config'),
  };
  const docker = (args: string[]) => spawnSync(DOCKER, args, { env, encoding: 'utf8', timeout: 30000 });
  afterAll(() => {
    try {
      process.kill(Number(readFileSync(join(dir, 'state', 'nsxd.pid'), 'utf8')), 'SIGTERM');
    } catch {
      /* not started */
    }
    spawnSync('sleep', ['1']);
    rmSync(dir, { recursive: true, force: true });
  });

  (noDocker ? it.skip : itRoot)(
    'docker run --health-cmd …, docker inspect --format {{.State.Health.Status}}, docker ps',
    async () => {
      const images = await buildAll(join(ROOT, 'sandbox', 'images', 'images.json'));
      const busybox = images.find((i) => i.ref === 'docker.io/library/busybox:latest')!;
      writeLayout(join(dir, 'busybox'), busybox);
      await loadLayout(new ImageStore(env.NSX_ROOT), join(dir, 'busybox'));
      expect(spawnSync(process.execPath, [NSX, 'engine', 'start'], { env }).status).toBe(0);
      const run = docker([
        'run',
        '-d',
        '--name',
        'hc',
        '--health-cmd',
        'test -e /tmp/ok',
        '--health-interval',
        '300ms',
        '--health-retries',
        '2',
        'busybox',
        'sh',
        '-c',
        'sleep 3; touch /tmp/ok; sleep 60',
      ]);
      expect([run.status, run.stderr]).toEqual([0, '']);
      const status = () => docker(['inspect', '--format', '{{.State.Health.Status}}', 'hc']).stdout.trim();
      let s = status();
      for (let i = 0; i < 50 && s !== 'unhealthy'; i++) s = (spawnSync('sleep', ['0.1']), status());
      expect(s).toBe('unhealthy');
      expect(docker(['ps', '--format', '{{.Status}}']).stdout).toMatch(/^Up .* \(unhealthy\)\n$/);
      for (let i = 0; i < 100 && s !== 'healthy'; i++) s = (spawnSync('sleep', ['0.1']), status());
      expect(s).toBe('healthy');
      expect(docker(['inspect', '--format', '{{json .Config.Healthcheck}}', 'hc']).stdout.trim()).toBe(
        '{"Test":["CMD-SHELL","test -e /tmp/ok"],"Interval":300000000,"Retries":2}',
      );
      expect(docker(['rm', '-f', 'hc']).status).toBe(0);
    },
    60000,
  );
});
