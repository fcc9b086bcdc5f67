// The engine-cli lesson end to end on the real kernel: hostname's system calls (where strace is
// installed), the engine's socket and one HTTP exchange on it, the CLI's connect(2), Docker's own CLI
// asking the same engine (where installed), the process
// tree nsxd → nsx-shim → the container's PID 1, the container's namespaces and cgroup against the
// engine's — and nothing of its lab left after it.
import { describe, expect } from '@jest/globals';
import { existsSync } from 'node:fs';
import { findLesson } from '../../src/learn/course.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { installed } from '../../src/learn/tour.js';
import { alive, ppidOf, useCheckEngine } from '../engine.js';
import { TEST_ROOTFS, itRoot } from '../helpers.js';
import { leftovers } from '../leaks.js';
import { playForTest } from './play.js';

type Demo = Extract<PlayerEvent, { type: 'demo' }>;

describe('lesson: engine-cli', () => {
  itRoot(
    "shows system calls, the HTTP on the engine's socket, the container under the engine, its namespaces and cgroup, and leaves nothing",
    async () => {
      const p = await playForTest('engine-cli');
      expect(p.completed).toBe(true);
      const demos = p.events.filter((e): e is Demo => e.type === 'demo');
      const by = (cmd: string) => demos.find((d) => d.command.join(' ').startsWith(cmd))!;

      // System calls: uname(2) gives the name, write(2) prints it — or the reason strace was not run.
      const strace = by('strace hostname');
      if (installed('strace')) {
        expect(strace.status).toBe(0);
        expect(strace.output).toMatch(/^execve\("[^"]*hostname"/m);
        expect(strace.output).toMatch(/^uname\(\{sysname="Linux", nodename="[^"]*"/m);
        expect(strace.output).toMatch(/^write\(1, "/m);
      } else expect(strace.output).toMatch(/not run: strace is not installed here; it is Debian's strace package/);

      // The engine, its socket (mode 0600, a socket file), and one exchange on it.
      const engine = Number(by('ps -o pid,ppid,user,args -p').command.at(-1));
      const socket = by('ls -l').command.at(-1)!;
      expect(by('ls -l').output).toMatch(/^srw------- 1 root root/);
      const http = by('engine-api GET /containers/json').output;
      expect(http).toContain(`* connect(unix:${socket})`);
      expect(http).toMatch(/> GET \/containers\/json HTTP\/1\.0\n> Host: nsxd\n>\n< HTTP\/1\.1 200 OK\n/);
      expect(http.trim().split('\n').at(-1)).toBe('[]');
      const quoted = socket.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      if (installed('strace'))
        expect(by('strace -f').output).toMatch(
          new RegExp(`connect\\(\\d+, \\{sa_family=AF_UNIX, sun_path="${quoted}"\\}, \\d+\\) = 0`),
        );

      // Docker's own CLI asked the same engine (through docker-log's proxy): its table, then what it
      // sent — the ping, then the versioned list — each answered 200 by nsxd; or how to install it.
      const docker = by('docker-log docker ps -a');
      if (installed('docker')) {
        expect(docker.status).toBe(0);
        expect(docker.output).toMatch(/^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$/m);
        expect(docker.output).toContain(
          `-- sent by docker (2 requests, 1 connection), via the proxy, to\n-- unix:${socket}\n`,
        );
        expect(docker.output).toMatch(
          /\n> HEAD \/_ping HTTP\/1\.1\n> Host: api\.moby\.localhost\n> User-Agent: Docker-Client\/\S+ \(linux\)\n(> .*\n)*< HTTP\/1\.1 200 OK\n> GET \/v1\.\d+\/containers\/json\?all=1 HTTP\/1\.1\n(> .*\n)*< HTTP\/1\.1 200 OK\n?$/,
        );
      } else
        expect(docker.output).toMatch(
          /not run: docker is not installed here; it is Docker's own CLI, not part of nsx: on Debian 13 the docker-cli package/,
        );

      // The tree: nsxd → nsx-shim → sleep 300.
      const top = by('nsx top sleeper').output.split('\n')[1].trim().split(/\s+/);
      const [program, supervisor] = [Number(top[1]), Number(top[2])];
      const tree = by('ps --forest')
        .output.trim()
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/));
      expect(tree.map((r) => [Number(r[0]), Number(r[1])])).toEqual([
        [engine, expect.any(Number)],
        [supervisor, engine],
        [program, supervisor],
      ]);
      expect(tree[0].slice(2).join(' ')).toMatch(/node .*nsxd\.m?js$/);
      expect(tree[1].slice(2).join(' ')).toMatch(/nsx-shim$/);
      expect(tree[2].slice(2).join(' ')).toMatch(/\\_ sleep 300$/);

      // Namespaces: new ones for the container but its user namespace; its cgroup is nsx/<id>.
      const [ofEngine, ofContainer] = demos
        .filter((d) => d.command[0] === 'readlink')
        .map((d) => d.output.trim().split('\n'));
      expect(ofEngine.map((l) => l.split(':')[0])).toEqual(['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup', 'user']);
      const same = ofEngine.map((l, i) => l === ofContainer[i]);
      expect(same).toEqual([false, false, false, false, false, false, true]);
      const id = /"Id":"([0-9a-f]{64})"/.exec(by('engine-api POST').output)![1];
      expect(by('cat /proc/').output).toContain(`/nsx/${id}`);

      // Nothing left: no lab directory, engine, container process, cgroup or mount.
      const labDir = /\/tmp\/nsx-lab-[A-Za-z0-9]+/.exec(socket)![0];
      expect(existsSync(labDir)).toBe(false);
      expect([alive(engine), alive(supervisor), alive(program)]).toEqual([false, false, false]);
      const l = leftovers();
      expect([...l.cgroups, ...l.mounts, ...l.containers].filter((s) => s.includes(id) || s.includes(labDir))).toEqual(
        [],
      );
      expect(p.transcript).toContain('Rule: the engine and the CLI are ordinary programs');
    },
    120000,
  );

  describe('nsx check engine-cli', () => {
    const engine = useCheckEngine();

    itRoot(
      'fails with no running container, and traces a running one back to the engine',
      async () => {
        const { check } = findLesson('engine-cli').lesson;
        expect((await check()).message).toMatch(/No engine answers/);
        const nsxd = await engine.start();
        const none = await check();
        expect(none.ok).toBe(false);
        expect(none.message).toMatch(/no running container/);
        await engine.run(TEST_ROOTFS, ['sleep', '60'], 'lasting');
        const r = await check();
        expect(r.ok).toBe(true);
        const pid1 = (await engine.api('GET', '/containers/lasting/json')).body.State.Pid;
        expect(r.message).toBe(
          `lasting is running, the engine's descendant: node (${nsxd.pid}) → nsx-shim (${ppidOf(pid1)}) → sleep (${pid1}).`,
        );
        await engine.api('DELETE', '/containers/lasting?force=1');
      },
      60000,
    );
  });
});
