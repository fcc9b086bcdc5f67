// The network namespace (network_namespaces(7)) and the three --network modes: none (only lo, up),
// host (the host's interfaces, no namespace) and veth (eth0 inside, paired with nsxh… on the host).
import { describe, expect } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { TEST_ROOTFS, evidenceAfter, eventsOf, itRoot, run } from '../helpers.js';
import { readOr, HOLD, waitFor, live } from '../live.js';

/** Interface names from `ip -o link` output ("2: eth0@if6: <…>" → "eth0"). */
const linkNames = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1].trim().split('@')[0]);
const hostLinks = () => linkNames(execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }));

/** ping from the host: iputils if installed, else the static busybox of the test rootfs (run on the host). */
function pingOnce(address: string) {
  const args = ['-c', '1', '-W', '2', address];
  const sys = spawnSync('ping', args, { encoding: 'utf8', timeout: 10000 });
  if (!(sys.error && (sys.error as NodeJS.ErrnoException).code === 'ENOENT')) return sys;
  return spawnSync(join(TEST_ROOTFS, 'bin', 'busybox'), ['ping', ...args], { encoding: 'utf8', timeout: 10000 });
}

describe('network namespace', () => {
  itRoot('--network none: only lo, and it is up', async () => {
    const r = await run(['--network', 'none'], ['/bin/sh', '-c', 'ip -o link']);
    expect(r.code).toBe(0);
    expect(linkNames(r.stdout)).toEqual(['lo']);
    expect(r.stdout).toMatch(/^1: lo: <[^>]*\bUP\b[^>]*>/);
    expect(evidenceAfter(r, 'namespaces')!.inside!.links).toEqual(['lo:down']); // a new namespace's lo is down
    const ev = evidenceAfter(r, 'network')!;
    expect(ev.inside!.links).toEqual(['lo:up']);
    expect(ev.process.ns.net).not.toBe(ev.host.ns.net);
  });

  itRoot("--network host: no namespace, the host's interfaces are there", async () => {
    const before = hostLinks().filter((n) => !n.startsWith('nsx')); // other containers' veths may come and go
    const r = await run(['--network', 'host'], ['/bin/sh', '-c', 'ip -o link']);
    expect(r.code).toBe(0);
    const inside = linkNames(r.stdout);
    for (const name of before) expect(inside).toContain(name);
    expect(eventsOf(r, 'step-skipped').map((e) => e.step.id)).toContain('network');
    const ev = evidenceAfter(r, 'fork')!;
    expect(ev.process.ns.net).toBe(ev.host.ns.net);
    expect(ev.process.ns.uts).not.toBe(ev.host.ns.uts); // only the network is shared
  });

  itRoot(
    '--network veth: eth0 with a 10.213.x.y/30 inside, which the host can ping; the pair is gone after',
    async () => {
      const script = `ip -o -4 addr show eth0 > /tmp/addr.tmp && mv /tmp/addr.tmp /tmp/addr; ${HOLD}`;
      const { r, value } = await live(['--network', 'veth'], ['/bin/sh', '-c', script], async (init) => {
        const file = `/proc/${init}/root/tmp/addr`;
        await waitFor(() => readOr(file) !== '');
        const shown = readOr(file); // what `ip` inside the container says about its eth0
        const address = /inet (10\.213\.\d+\.\d+)\/30 /.exec(shown)?.[1];
        if (!address) throw new Error(`no 10.213.x.y/30 on eth0 inside: ${JSON.stringify(shown)}`);
        // Only an address that `ip` inside the container's namespace reported, and that no host interface has.
        const hostAddrs = execFileSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' });
        if (hostAddrs.includes(` ${address}/`)) throw new Error(`${address} is a host address, not the container's`);
        const ping = pingOnce(address);
        return { shown, address, hostAddrs, ping: { status: ping.status, out: `${ping.stdout}${ping.stderr}` } };
      });
      expect(r.code).toBe(0);
      expect(value.shown).toMatch(/^\d+: eth0\s+inet 10\.213\.\d+\.\d+\/30 /);
      expect(value.ping).toEqual({ status: 0, out: expect.stringMatching(/\b1 (packets )?received/) });

      const id = eventsOf(r, 'created')[0].id;
      const hostIf = `nsxh${id.slice(0, 8)}`;
      // While it ran, the host end held the other address of the same /30.
      const [a, b, c, d] = value.address.split('.').map(Number);
      expect(value.hostAddrs).toMatch(new RegExp(`^\\d+: ${hostIf}\\s+inet ${a}\\.${b}\\.${c}\\.${d - 1}/30 `, 'm'));
      const ev = evidenceAfter(r, 'network')!;
      expect(ev.inside!.links).toEqual(expect.arrayContaining(['lo:up', 'eth0:up']));
      expect(ev.inside!.links).toHaveLength(2);
      // Gone: deleted by nsx, or by the kernel with the container's network namespace (veth(4)).
      expect(hostLinks()).not.toContain(hostIf);
    },
  );
});
