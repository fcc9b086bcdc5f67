import type { Lesson } from '../../src/learn/lesson.js';
import { hostLinks, linksIn, networkNamespaces, vethToHost, type NetLink } from './netns.js';

const describeLinks = (links: NetLink[]) =>
  links
    .map((l) => `${l.name} ${l.up ? 'up' : 'down'}${l.addresses.length ? ` ${l.addresses.join(' ')}` : ''}`)
    .join(', ') || 'no interfaces';

const net: Lesson = {
  id: 'net',
  title: 'Network namespace: a network stack of its own',
  minutes: 7,
  needsRoot: true,
  manPages: ['network_namespaces(7)', 'veth(4)', 'ip-netns(8)', 'ip-link(8)'],
  run: { options: { network: 'veth' }, command: ['/bin/sh', '-c', 'ls /sys/class/net; netstat -rn'] },
  focus: ['namespaces', 'network'],
  demos: [
    {
      after: 'namespaces',
      command: ['ip', '-br', 'link'],
      notice: "The new namespace has one device, lo, and it is down. The host's devices stayed behind.",
    },
    {
      after: 'network',
      command: ['ip', '-br', 'addr'],
      notice: "lo is up now, and eth0 — the container's end of the veth pair — is up with one address of a /30.",
    },
    {
      after: 'network',
      command: ['ip', 'route'],
      notice: "Its only routes: the /30 on eth0, and a default route via the host's end.",
    },
    {
      after: 'network',
      onHost: true,
      command: ['ip', '-br', 'addr', 'show', '{hostIf}'],
      notice: "The host's end of the pair, with the other address of the /30.",
    },
    {
      after: 'network',
      onHost: true,
      command: ['ping', '-c', '2', '-W', '2', '{containerAddress}'],
      notice: "The host reaches the container's address through the pair: the container's kernel stack answers.",
    },
  ],
  async check() {
    const host = hostLinks().filter((l) => !l.name.startsWith('nsxh')); // nsx's own containers don't count
    let closest: string | undefined;
    for (const c of networkNamespaces()) {
      const links = linksIn(c);
      const pair = vethToHost(links, host);
      if (pair) {
        return {
          ok: true,
          message: `In ${c.label}, ${pair.inside.name} is up with ${pair.inside.addresses.join(' ')}, and its peer ${pair.host.name} on the host is up with ${pair.host.addresses.join(' ')}.`,
        };
      }
      const plugged = links.some((l) => l.name !== 'lo');
      if (!closest || plugged) closest = `${c.label} has ${describeLinks(links)}`;
    }
    if (!closest)
      return {
        ok: false,
        message:
          'No network namespace of your own exists yet (no process started since the task was shown runs in one, and /run/netns names none made since).',
      };
    return {
      ok: false,
      message: `Not connected yet: ${closest}; a veth end inside and its peer on the host must both be up with an address.`,
    };
  },
  hints: [
    'ip-netns(8) makes named network namespaces; unshare(1) runs a process in a new one.',
    'veth(4) shows how a pair is made with one end in another namespace.',
    'Each end is configured where it lives: ip -n NAME (or nsenter -n) runs ip inside.',
  ],
  quiz: [
    {
      question: 'Right after unshare(CLONE_NEWNET), the process runs ping 127.0.0.1. What happens?',
      choices: [
        'It gets an answer, as always',
        'It fails: lo exists but is down (Network is unreachable)',
        "It reaches the host's 127.0.0.1",
      ],
      answer: 1,
      why: 'The evidence after the namespaces step showed lo:down: a new network namespace has its own loopback device, down, and nothing else. ping then fails with "connect: Network is unreachable"; after "ip link set lo up" it answers — which is what the network step does first (network_namespaces(7), ip-link(8)).',
    },
    {
      question: "A server in the container listens on port 80 while the host's web server holds port 80. What happens?",
      choices: [
        'bind fails with EADDRINUSE',
        'Both run: port numbers belong to each network namespace',
        "The container's server takes the port over",
      ],
      answer: 1,
      why: "network_namespaces(7) lists port numbers (sockets) among what each namespace has its own of. The host reaches the container's server only through the container's address, here across the veth pair (docker run -p adds a forwarding rule for this).",
    },
  ],
};

export default net;
