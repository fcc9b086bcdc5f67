// The network lesson end to end on the real kernel: a new namespace with only a down lo, lo up and a
// veth pair after the network step, the host pinging the container's address (inside a namespace the
// lesson's runtime made); and its check before and after a correct solution, by a named namespace
// and by a process's. The tests create only namespaces and veths they remove, and ping nothing.
import { afterEach, describe, expect } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { findLesson } from '../../src/learn/course.js';
import { countOnlyStartedSince } from '../../src/learn/kernel.js';
import type { PlayerEvent } from '../../src/learn/player.js';
import { itRoot } from '../helpers.js';
import { waitFor } from '../live.js';
import { commandOutput, demoOutputs, evidence, playForTest } from './play.js';

const sh = (cmd: string[]) =>
  execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const trySh = (cmd: string[]) => {
  try {
    return sh(cmd);
  } catch {
    return '';
  }
};

/** A /30 in 198.18.0.0/15 (RFC 2544, benchmarking) that no interface on this machine uses. */
function freeSubnet(): [string, string] {
  const used = sh(['ip', '-o', '-4', 'addr']);
  for (;;) {
    const b = randomBytes(2);
    const base = `198.${18 + (b[0] & 1)}.${b[1]}`;
    const x = (b[0] >> 2) * 4;
    if (!used.includes(` ${base}.`)) return [`${base}.${x + 1}`, `${base}.${x + 2}`];
  }
}

describe('lesson: net', () => {
  itRoot('shows a fresh namespace with a down lo, then a veth pair the host pings across', async () => {
    const p = await playForTest('net');
    expect(p.completed).toBe(true);
    expect(evidence(p, 'namespaces')!.inside!.links).toEqual(['lo:down']);
    expect(demoOutputs(p, 'namespaces')[0]).toMatch(/^lo\s+DOWN/);
    expect(evidence(p, 'network')!.inside!.links).toEqual(expect.arrayContaining(['lo:up', 'eth0:up']));
    const ping = p.events.find(
      (e): e is Extract<PlayerEvent, { type: 'demo' }> => e.type === 'demo' && e.command[0] === 'ping',
    )!;
    const containerAddress = ping.command[ping.command.length - 1];
    expect(containerAddress).toMatch(/^10\.213\.\d+\.\d+$/);
    expect(ping.status).toBe(0);
    expect(ping.output).toMatch(/2 received, 0% packet loss/);
    const [addr, route] = demoOutputs(p, 'network');
    expect(addr).toMatch(new RegExp(`^eth0@\\S+\\s+UP\\s+${containerAddress.replace(/\./g, '\\.')}/30`, 'm'));
    const hostAddress = /^default via (\S+) dev eth0/m.exec(route)?.[1];
    const [hostEnd] = demoOutputs(p, 'network', 'host');
    expect(hostEnd).toMatch(new RegExp(`^nsxh[0-9a-f]{8}@\\S+\\s+UP\\s+${hostAddress!.replace(/\./g, '\\.')}/30`));
    expect(commandOutput(p)).toMatch(/^eth0\nlo\n/);
    // The pair is gone with the container.
    const hostIf = hostEnd.split('@')[0];
    expect(trySh(['ip', 'link', 'show', hostIf])).toBe('');
  });

  describe('nsx check net', () => {
    const cleanups: (() => void)[] = [];
    afterEach(() => {
      countOnlyStartedSince(undefined);
      for (const c of cleanups.splice(0).reverse()) c();
    });
    const check = () => findLesson('net').lesson.check();

    itRoot('fails before the task is done, says what is missing, and passes with a named namespace', async () => {
      expect((await check()).ok).toBe(false);
      const tag = randomBytes(3).toString('hex');
      const [name, hostIf, inIf] = [`nsxt-${tag}`, `nsxt${tag}`, `eth-${tag}`];
      const [a, b] = freeSubnet();
      sh(['ip', 'netns', 'add', name]);
      cleanups.push(() => void trySh(['ip', 'netns', 'del', name]));
      let r = await check();
      expect(r.ok).toBe(false);
      expect(r.message).toContain(`network namespace ${name} (/run/netns/${name}) has lo down`);
      sh(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', inIf, 'netns', name]);
      cleanups.push(() => void trySh(['ip', 'link', 'del', hostIf]));
      sh(['ip', 'addr', 'add', `${a}/30`, 'dev', hostIf]);
      sh(['ip', 'link', 'set', hostIf, 'up']);
      sh(['ip', '-n', name, 'addr', 'add', `${b}/30`, 'dev', inIf]);
      expect((await check()).ok).toBe(false); // the inside end is still down
      sh(['ip', '-n', name, 'link', 'set', inIf, 'up']);
      r = await check();
      expect(r.ok).toBe(true);
      expect(r.message).toBe(
        `In network namespace ${name} (/run/netns/${name}), ${inIf} is up with ${b}/30, and its peer ${hostIf} on the host is up with ${a}/30.`,
      );
    });

    itRoot('a connected namespace made before the task was shown does not pass, not even entered anew', async () => {
      // Someone else's: a named namespace with a working pair, as a container engine would leave.
      const tag = randomBytes(3).toString('hex');
      const [name, hostIf, inIf] = [`nsxt-${tag}`, `nsxt${tag}`, `eth-${tag}`];
      const [a, b] = freeSubnet();
      sh(['ip', 'netns', 'add', name]);
      cleanups.push(() => void trySh(['ip', 'netns', 'del', name]));
      sh(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', inIf, 'netns', name]);
      cleanups.push(() => void trySh(['ip', 'link', 'del', hostIf]));
      sh(['ip', 'addr', 'add', `${a}/30`, 'dev', hostIf]);
      sh(['ip', 'link', 'set', hostIf, 'up']);
      sh(['ip', '-n', name, 'addr', 'add', `${b}/30`, 'dev', inIf]);
      sh(['ip', '-n', name, 'link', 'set', inIf, 'up']);
      expect((await check()).ok).toBe(true); // no task shown: everything counts
      // A process that stays in it from before the task (the engine's container).
      const old: ChildProcess = spawn('ip', ['netns', 'exec', name, 'sleep', '60'], { stdio: 'ignore' });
      cleanups.push(() => old.kill('SIGKILL'));
      await waitFor(() => trySh(['ip', 'netns', 'pids', name]).trim() !== '');
      await new Promise((r) => setTimeout(r, 1_100)); // proc(5)'s start times are as coarse as btime's second
      countOnlyStartedSince(Date.now() + 1_000); // the task is shown after all that
      await new Promise((r) => setTimeout(r, 1_100));
      let r = await check();
      expect(r.ok).toBe(false);
      expect(r.message).not.toContain(name);
      // A new process in that old namespace (docker exec, a health check) does not make it the learner's.
      const entered: ChildProcess = spawn('ip', ['netns', 'exec', name, 'sleep', '60'], { stdio: 'ignore' });
      cleanups.push(() => entered.kill('SIGKILL'));
      await waitFor(() => trySh(['ip', 'netns', 'pids', name]).trim().split('\n').length === 2);
      r = await check();
      expect(r.ok).toBe(false);
      expect(r.message).not.toContain(name);
      // The same, bound under /run/netns while no old process is in it: the bind's time tells.
      old.kill('SIGKILL');
      entered.kill('SIGKILL');
      await waitFor(() => trySh(['ip', 'netns', 'pids', name]).trim() === '');
      r = await check();
      expect(r.ok).toBe(false);
      expect(r.message).not.toContain(name);
    });

    itRoot("passes with a process's own namespace (unshare --net)", async () => {
      const tag = randomBytes(3).toString('hex');
      const [hostIf, inIf] = [`nsxt${tag}`, `eth-${tag}`];
      const [a, b] = freeSubnet();
      const shown = Date.now() - 1_000; // proc(5) start times are as coarse as btime's second, hence the margin
      const proc: ChildProcess = spawn('unshare', ['--net', 'sleep', '60'], { stdio: 'ignore' });
      cleanups.push(() => proc.kill('SIGKILL'));
      cleanups.push(() => void trySh(['ip', 'link', 'del', hostIf])); // the kernel also removes it with the namespace
      // unshare execs sleep in its new namespace: wait until the process's namespace is no longer ours.
      const own = trySh(['readlink', '/proc/self/ns/net']);
      await waitFor(
        () =>
          trySh(['readlink', `/proc/${proc.pid}/ns/net`]) !== own &&
          trySh(['cat', `/proc/${proc.pid}/comm`]).trim() === 'sleep',
      );
      sh(['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', inIf, 'netns', String(proc.pid)]);
      sh(['ip', 'addr', 'add', `${a}/30`, 'dev', hostIf]);
      sh(['ip', 'link', 'set', hostIf, 'up']);
      sh(['nsenter', '-t', String(proc.pid), '-n', 'ip', 'addr', 'add', `${b}/30`, 'dev', inIf]);
      sh(['nsenter', '-t', String(proc.pid), '-n', 'ip', 'link', 'set', inIf, 'up']);
      let r = await check();
      expect(r.ok).toBe(true);
      expect(r.message).toContain(`the network namespace of process ${proc.pid} (sleep), ${inIf} is up with ${b}/30`);
      // Still the learner's with the task shown before it started.
      countOnlyStartedSince(shown);
      r = await check();
      expect(r.ok).toBe(true);
      expect(r.message).toContain(`the network namespace of process ${proc.pid} (sleep)`);
    });
  });
});
