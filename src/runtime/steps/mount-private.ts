// mount-private: mount propagation shares mount events between peer mounts of different namespaces;
// a private mount neither sends nor receives them (mount_namespaces(7), "Shared subtrees").
import { has, mount, mountHint, MS } from './common.js';
import type { Step } from './step.js';

export const mountPrivate: Step<'mount-private'> = {
  id: 'mount-private',
  title: 'Make every mount private',
  syscalls: ['mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)'],
  shell: 'mount --make-rprivate /',
  manPage: 'mount_namespaces(7)',
  why: "A new mount namespace starts with a copy of the caller's mounts, and with systemd they are shared: making them private stops mounts propagating between host and container (in a user namespace the kernel already turns shared into slave).",
  needsCap: 'CAP_SYS_ADMIN',

  build(spec) {
    if (!has(spec, 'mount')) return { skip: 'no mount namespace' };
    return { actions: [mount({ source: '', target: '/', flags: MS.REC | MS.PRIVATE })] };
  },

  hint: mountHint,
};
