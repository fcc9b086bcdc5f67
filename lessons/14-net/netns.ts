// The network namespaces on the machine other than the host's — those processes run in and the named
// ones in /run/netns (ip-netns(8): a bind mount keeps a namespace alive with no process in it) — and
// their interfaces, read with iproute2's JSON output. Needs root for other processes' namespaces.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import {
  hostNamespaces,
  inNewNamespace,
  namespaceMadeSinceTask,
  namespacesBeforeTask,
} from '../../src/learn/kernel.js';

export interface NetLink {
  ifindex: number;
  name: string;
  /** Administratively up (IFF_UP). */
  up: boolean;
  /** "veth", "bridge", … (undefined for lo and plain devices). */
  kind?: string;
  /** For a veth: the peer's ifindex, in the peer's namespace. */
  peerIndex?: number;
  /** Addresses of global scope, "10.0.0.1/24". */
  addresses: string[];
}

interface IpJson {
  ifindex: number;
  ifname: string;
  flags?: string[];
  link_index?: number;
  linkinfo?: { info_kind?: string };
  addr_info?: { local?: string; prefixlen?: number; scope?: string }[];
}

/** `ip -j -d addr` → the interfaces. */
export function parseIpAddrJson(text: string): NetLink[] {
  const rows = JSON.parse(text || '[]') as IpJson[];
  return rows.map((r) => ({
    ifindex: r.ifindex,
    name: r.ifname,
    up: (r.flags ?? []).includes('UP'),
    ...(r.linkinfo?.info_kind ? { kind: r.linkinfo.info_kind } : {}),
    ...(r.link_index !== undefined ? { peerIndex: r.link_index } : {}),
    addresses: (r.addr_info ?? [])
      .filter((a) => a.scope === 'global' && a.local)
      .map((a) => `${a.local}/${a.prefixlen}`),
  }));
}

export interface NetnsCandidate {
  /** "network namespace lab (/run/netns/lab)" or "the network namespace of process 1234 (sleep)". */
  label: string;
  /** "net:[4026532177]" */
  ns: string;
  /** Runs `ip ARGS` inside it. */
  ip: (args: string[]) => string;
}

function ipRun(argv: string[]): string {
  try {
    return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return '';
  }
}

/** Every network namespace but the host's, once each: named ones first, then those of processes.
 *  Only the learner's count (kernel.ts): those of processes started since the task was shown and
 *  named ones bound since, and of either none that a process older than the task is in, so another
 *  container's or a service's namespace never passes, not even when a new process enters it. */
export function networkNamespaces(): NetnsCandidate[] {
  const host = hostNamespaces().net;
  const out: NetnsCandidate[] = [];
  const seen = new Set<string>([...(host ? [host] : []), ...namespacesBeforeTask('net')]);
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    /* no named namespaces */
  }
  for (const name of names) {
    let ns: string;
    try {
      ns = `net:[${statSync(`/run/netns/${name}`).ino}]`;
    } catch {
      continue;
    }
    if (seen.has(ns) || !namespaceMadeSinceTask(`/run/netns/${name}`)) continue;
    seen.add(ns);
    out.push({
      label: `network namespace ${name} (/run/netns/${name})`,
      ns,
      ip: (args) => ipRun(['ip', '-n', name, ...args]),
    });
  }
  for (const p of inNewNamespace('net')) {
    const ns = p.ns.net!;
    if (seen.has(ns) || !namespaceMadeSinceTask(`/proc/${p.pid}/ns/net`)) continue;
    seen.add(ns);
    out.push({
      label: `the network namespace of process ${p.pid} (${p.comm})`,
      ns,
      ip: (args) => ipRun(['nsenter', '-t', String(p.pid), '-n', 'ip', ...args]),
    });
  }
  return out;
}

export const linksIn = (c: Pick<NetnsCandidate, 'ip'>): NetLink[] => parseIpAddrJson(c.ip(['-j', '-d', 'addr']));
export const hostLinks = (): NetLink[] => parseIpAddrJson(ipRun(['ip', '-j', '-d', 'addr']));

export interface VethLink {
  inside: NetLink;
  host: NetLink;
}

/** A veth end inside, up with an address, whose peer is a veth on the host, up with an address. */
export function vethToHost(inside: NetLink[], host: NetLink[]): VethLink | undefined {
  for (const i of inside) {
    if (i.kind !== 'veth' || !i.up || !i.addresses.length) continue;
    const h = host.find((x) => x.ifindex === i.peerIndex && x.kind === 'veth' && x.peerIndex === i.ifindex);
    if (h && h.up && h.addresses.length) return { inside: i, host: h };
  }
  return undefined;
}
