// --network veth: a virtual ethernet pair, one end in the host's network namespace, the other
// (eth0) in the container's; see veth(4) and network_namespaces(7). Set up with iproute2.
import { execFileSync } from 'node:child_process';
import { NsxError } from './errors.js';

export interface VethFacts {
  hostIf: string;
  containerIf: string;
  hostAddress: string;
  containerAddress: string;
  prefix: number;
}

function ip(args: string[], netnsPid?: number): string {
  const [cmd, full] =
    netnsPid === undefined ? ['ip', args] : ['nsenter', ['-t', String(netnsPid), '-n', 'ip', ...args]];
  try {
    return execFileSync(cmd, full, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { code?: string; stderr?: string };
    if (err.code === 'ENOENT')
      throw new NsxError(`${cmd} not found`, {
        hint: 'install iproute2 and util-linux (apt-get install iproute2 util-linux)',
      });
    throw new NsxError(`ip ${args.join(' ')}: ${(err.stderr ?? '').trim()}`, {
      syscall: 'netlink',
      hint: 'creating a veth pair needs root (CAP_NET_ADMIN in the host namespace)',
    });
  }
}

/** A /30 from 10.213.0.0/16 that no interface on the host uses yet (the container's own little link). */
function freeSubnet(id: string): [string, string] {
  const used = ip(['-o', '-4', 'addr', 'show']);
  const seed = parseInt(id.slice(0, 4), 16);
  for (let i = 0; i < 16384; i++) {
    const block = (seed + i) % 16384;
    const base = block * 4;
    const a = `10.213.${base >> 8}.${(base & 0xff) + 1}`;
    const b = `10.213.${base >> 8}.${(base & 0xff) + 2}`;
    if (!used.includes(` ${a}/`) && !used.includes(` ${b}/`)) return [a, b];
  }
  throw new NsxError('no free address for a veth pair in 10.213.0.0/16', {
    hint: 'remove leftover nsxh* interfaces (ip link del …)',
  });
}

export function hostIfName(id: string): string {
  return `nsxh${id.slice(0, 8)}`;
}

/** Creates the pair with eth0 directly inside the namespace of `pid`, addresses both ends, brings them up. */
export function setupVeth(id: string, pid: number): VethFacts {
  const hostIf = hostIfName(id);
  const [hostAddress, containerAddress] = freeSubnet(id);
  ip(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(pid)]);
  ip(['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
  ip(['link', 'set', hostIf, 'up']);
  ip(['addr', 'add', `${containerAddress}/30`, 'dev', 'eth0'], pid);
  ip(['link', 'set', 'eth0', 'up'], pid);
  ip(['route', 'add', 'default', 'via', hostAddress], pid);
  return { hostIf, containerIf: 'eth0', hostAddress, containerAddress, prefix: 30 };
}

/** Deleting one end deletes both; the kernel also does it when the container's namespace goes. */
export function removeVeth(id: string): boolean {
  try {
    execFileSync('ip', ['link', 'del', hostIfName(id)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
