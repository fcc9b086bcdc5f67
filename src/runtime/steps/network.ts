// network: a network namespace has its own devices, addresses, routes and firewall; a new one has
// only a loopback device, down (network_namespaces(7), ip-netns(8)).
import { NsxError } from '../errors.js';
import { shim, type Action } from '../actions.js';
import { has } from './common.js';
import type { Step } from './step.js';

export const network: Step<'network'> = {
  id: 'network',
  title: 'Bring up the network',
  syscalls: ['ioctl(SIOCSIFFLAGS, "lo", IFF_UP)'],
  shell: 'ip link set lo up',
  manPage: 'network_namespaces(7)',
  why: 'A network namespace has its own devices, addresses and routes; a new one has only a loopback device, and it is down (see ip-netns(8)).',
  needsCap: 'CAP_NET_ADMIN',

  build(spec, host) {
    if (spec.nsx.network === 'host' || !has(spec, 'network'))
      return { skip: "--network host: the host's network stack is shared" };
    const actions: Action[] = [shim({ op: 'loopback_up' })];
    if (spec.nsx.network === 'veth') {
      if (!host.root)
        throw new NsxError('--network veth needs root', {
          hint: 'creating a veth pair in the host namespace needs CAP_NET_ADMIN there: run with sudo, or use --network none',
        });
      actions.push({ kind: 'host', op: 'veth' });
      return {
        actions,
        syscalls: ['ioctl(SIOCSIFFLAGS, "lo", IFF_UP)', 'RTM_NEWLINK veth (netlink)', 'RTM_NEWADDR'],
        shell: 'ip link set lo up; ip link add nsxh… type veth peer name eth0 netns PID',
      };
    }
    return { actions };
  },

  hint: (f) =>
    f.errnoName === 'EPERM'
      ? "bringing up lo needs CAP_NET_ADMIN in the network namespace's owning user namespace"
      : undefined,
};
