// The run-flow lesson end to end on the real kernel: an empty store, a pull from the lab's registry
// on loopback (the manifest by tag, then the blobs), create and start through the engine, a second
// container from the same image, a program killed from the host ending its container (137) — and
// nothing left of the lab after it, whether it finished or was stopped with Ctrl-C half-way.
import { describe, expect } from '@jest/globals';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findLesson } from '../../src/learn/course.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { alive, until, useCheckEngine } from '../engine.js';
import { NSX, TEST_ROOTFS, itRoot, stripAnsi } from '../helpers.js';
import { leftovers } from '../leaks.js';
import { demoOutputs, playForTest, type Played, playTourUntil } from './play.js';
import { lessonInTerminal } from './terminal.js';

type Demo = Extract<PlayerEvent, { type: 'demo' }>;
const demos = (p: { events: PlayerEvent[] }) => p.events.filter((e): e is Demo => e.type === 'demo');

/** The rows of `nsx ps -a` (without its header), split at docker's column gaps. */
const rows = (ps: string) =>
  ps
    .split('\n')
    .slice(1)
    .filter(Boolean)
    .map((l) => l.split(/ {3,}/));

/** What a lab run left on the host: its directory, its engine, and its containers' traces. */
function leftBehind(events: PlayerEvent[], transcript: string) {
  const labDir = /\/tmp\/nsx-lab-[A-Za-z0-9]+/.exec(
    demos({ events })
      .map((d) => d.command.join(' ') + d.output)
      .join('\n'),
  )?.[0];
  const engine = Number(/nsxd, pid (\d+)/.exec(transcript)?.[1] ?? 0);
  const ids = demos({ events }).flatMap((d) => [...d.output.matchAll(/"Id":"([0-9a-f]{64})"/g)].map((m) => m[1]));
  const l = leftovers();
  const mine = (s: string) => ids.some((id) => s.includes(id)) || (!!labDir && s.includes(labDir));
  return {
    labDir,
    engine,
    ids,
    lab: !!labDir && existsSync(labDir),
    engineAlive: engine > 0 && alive(engine),
    left: [...l.cgroups, ...l.mounts, ...l.containers].filter(mine),
  };
}

describe('lesson: run-flow', () => {
  itRoot(
    'checks the store, pulls from the registry, creates and starts through the engine, twice, sees a killed program end its container, and leaves nothing',
    async () => {
      const p: Played = await playForTest('run-flow');
      expect(p.completed).toBe(true);
      expect(p.exitCode).toBe(0);
      const out = (stop: string) => demoOutputs(p, stop, 'host');

      // The store is empty: the table's header and no row.
      expect(out('store')).toEqual(['REPOSITORY   TAG   IMAGE ID   CREATED   SIZE']);

      // The registry: looked up (the manifest by tag), downloaded (two blobs: config and layer), stored.
      const [pull, log, images] = out('registry');
      expect(pull).toMatch(/latest: Pulling from dockerinaction\/hello_world/);
      expect(pull).toMatch(/Pull complete/);
      expect(pull).toMatch(/Status: Downloaded newer image for 127\.0\.0\.1:\d+\/dockerinaction\/hello_world:latest/);
      const requests = log.split('\n');
      expect(requests[0]).toBe('GET /v2/dockerinaction/hello_world/manifests/latest 200');
      expect(requests.slice(1).map((r) => r.replace(/sha256:[0-9a-f]{64}/, 'D'))).toEqual([
        'GET /v2/dockerinaction/hello_world/blobs/D 200',
        'GET /v2/dockerinaction/hello_world/blobs/D 200',
      ]);
      expect(rows(images).map((r) => r.slice(0, 2))).toEqual([
        [expect.stringMatching(/^127\.0\.0\.1:\d+\/dockerinaction\/hello_world$/), 'latest'],
      ]);

      // Create: 201 from the engine, a container in state Created.
      const [created, psCreated] = out('create');
      expect(created).toMatch(/> POST \/containers\/create\?name=first HTTP\/1\.0/);
      expect(created).toMatch(/< HTTP\/1\.1 201 Created/);
      expect(rows(psCreated).map((r) => [r[1], r.at(-1), r.some((c) => c === 'Created')])).toEqual([
        ['dockerinaction/hello_world', 'first', true],
      ]);

      // Start: the image's command ran and exited 0.
      const [started, psStarted] = out('start');
      expect(started).toBe('hello world');
      expect(psStarted).toMatch(/Exited \(0\)/);

      // Twice: two containers from one image.
      const twice = out('twice');
      expect(twice[1]).toBe('hello world');
      expect(
        rows(twice[2])
          .map((r) => [r[1], r.at(-1)])
          .sort(),
      ).toEqual([
        ['dockerinaction/hello_world', 'first'],
        ['dockerinaction/hello_world', 'second'],
      ]);

      // One program: killed from the host, the container ended with it (128 + SIGKILL).
      const program = demos(p).filter((d) => d.after === 'program');
      const kill = program.find((d) => d.command[0] === 'kill')!;
      expect(kill.command).toEqual(['kill', '-KILL', expect.stringMatching(/^\d+$/)]);
      expect(kill.status).toBe(0);
      expect(program.find((d) => d.command.join(' ') === 'nsx wait lasting')!.output.trim()).toBe('137');
      expect(program.at(-1)!.output).toMatch(/Exited \(137\)[^\n]*lasting/);
      expect(alive(Number(kill.command[2]))).toBe(false);

      // Removed: none left in the engine, and nothing of the lab on the host.
      expect(out('remove')[1].split('\n')).toHaveLength(1);
      const left = leftBehind(p.events, p.transcript);
      expect(left.ids).toHaveLength(3);
      expect(left.labDir).toBeDefined();
      // The registry is gone with the lab: its port no longer answers.
      const registry = /for (127\.0\.0\.1:\d+)\//.exec(pull)![1];
      await expect(fetch(`http://${registry}/v2/`)).rejects.toThrow();
      expect([left.lab, left.engineAlive, left.left]).toEqual([false, false, []]);
      expect(p.transcript).toContain('Rule: docker run is pull-if-missing, create, start');
    },
    120000,
  );

  itRoot(
    'Ctrl-C with a container running: the container, its engine, registry and lab are all gone',
    async () => {
      let program = 0;
      const r = await playTourUntil('run-flow', (e) => {
        // The moment the lasting container's program is known: Ctrl-C, as nsx lesson does on SIGINT.
        if (!(e.type === 'demo' && e.command.join(' ') === 'nsx top lasting')) return false;
        program = Number(e.output.split('\n')[1]?.trim().split(/\s+/)[1]);
        return true;
      });
      const events = r.events;
      const transcript = r.transcript;
      expect([r.completed, r.exitCode]).toEqual([false, 130]);
      expect(program).toBeGreaterThan(0);
      expect(demos({ events }).some((d) => d.command[0] === 'kill')).toBe(false); // nothing ran after Ctrl-C
      const left = leftBehind(events, stripAnsi(transcript));
      expect([left.labDir, left.ids.length]).toEqual([expect.any(String), 3]); // first, second, lasting
      expect(await until(() => !alive(program), 5000)).toBe(true);
      expect([left.lab, left.engineAlive, left.left]).toEqual([false, false, []]);
      expect(transcript).toMatch(/Stopped\. Everything the lesson started is removed/);
    },
    120000,
  );

  itRoot(
    'in a terminal: Enter runs a stop, e explains more, Ctrl-C at a prompt stops and removes the lab',
    async () => {
      const term = lessonInTerminal('run-flow', 20000);
      const { waitFor, atTourPrompt, stopped } = term;
      try {
        await waitFor('[1/7]');
        await atTourPrompt('\r');
        await waitFor('REPOSITORY   TAG'); // nsx images ran
        await waitFor('[2/7]');
        await atTourPrompt('e');
        await waitFor('Distribution API'); // the deeper paragraph
        await atTourPrompt('\r');
        await waitFor('Pull complete');
        await waitFor('[3/7]');
        await atTourPrompt('\x03');
        expect(await stopped()).toBe(130);
      } finally {
        term.close();
      }
      const labDir = /\/tmp\/nsx-lab-[A-Za-z0-9]+/.exec(term.screen)![0];
      expect(term.screen).toContain(`cleaning up: removed ${labDir}`);
      expect(existsSync(labDir)).toBe(false);
      const engine = Number(/nsxd, pid (\d+)/.exec(term.screen)![1]);
      expect(alive(engine)).toBe(false);
    },
    60000,
  );

  itRoot(
    "nsx lesson run-flow and SIGINT to its process group while a container runs (a terminal's Ctrl-C): exit 130, nothing left",
    async () => {
      const child = spawn(process.execPath, [NSX, 'lesson', 'run-flow', '--print'], {
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        env: { ...process.env, NSX_PROGRESS: join(tmpdir(), `nsx-progress-${process.pid}.json`) },
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
      try {
        expect(await until(() => /sleep 300\n/.test(out.split('host$ nsx top lasting')[1] ?? ''), 30000)).toBe(true);
        const program = Number(out.split('host$ nsx top lasting')[1].split('\n')[2].trim().split(/\s+/)[1]);
        process.kill(-child.pid!, 'SIGINT');
        expect(await exited).toBe(130);
        const labDir = /\/tmp\/nsx-lab-[A-Za-z0-9]+/.exec(out)![0];
        expect(existsSync(labDir)).toBe(false);
        expect(await until(() => !alive(program), 5000)).toBe(true);
        expect(alive(Number(/nsxd, pid (\d+)/.exec(out)![1]))).toBe(false);
      } finally {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
        rmSync(join(tmpdir(), `nsx-progress-${process.pid}.json`), { force: true });
      }
    },
    60000,
  );

  describe('nsx check run-flow', () => {
    const engine = useCheckEngine();

    itRoot(
      'says when no engine answers, then passes once two containers of one root filesystem have run',
      async () => {
        const { check } = findLesson('run-flow').lesson;
        const none = await check();
        expect(none.ok).toBe(false);
        expect(none.message).toMatch(/No engine answers on .*nsxd\.sock/);
        await engine.start();
        expect((await check()).message).toMatch(/no containers yet/);
        await engine.run(TEST_ROOTFS, ['/bin/true'], 'one');
        const once = await check();
        expect(once.ok).toBe(false);
        await engine.run(TEST_ROOTFS, ['/bin/true'], 'two');
        const r = await check();
        expect(r.ok).toBe(true);
        expect(r.message).toMatch(/2 containers ran from .* \((one, two|two, one)\)/);
        for (const n of ['one', 'two']) {
          await engine.api('POST', `/containers/${n}/wait`);
          await engine.api('DELETE', `/containers/${n}?force=1`);
        }
      },
      60000,
    );
  });
});
