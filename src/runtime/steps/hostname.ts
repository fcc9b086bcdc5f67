// hostname: a UTS namespace has its own hostname and NIS domain name, set with sethostname(2) and
// setdomainname(2) (uts_namespaces(7)).
import { NsxError } from '../errors.js';
import { shim, type Action } from '../actions.js';
import { has } from './common.js';
import type { Step } from './step.js';

export const hostname: Step<'hostname'> = {
  id: 'hostname',
  title: 'Set the hostname',
  syscalls: ['sethostname(name)', 'setdomainname(name)'],
  shell: 'hostname NAME; domainname NAME',
  manPage: 'uts_namespaces(7)',
  why: "In its own UTS namespace the container can have its own hostname and NIS domain name; the host's are untouched.",
  needsCap: 'CAP_SYS_ADMIN',

  build(spec) {
    if (!spec.hostname && !spec.domainname) return { skip: 'no hostname in the spec' };
    if (!has(spec, 'uts'))
      throw new NsxError('setting the hostname requires the UTS namespace', {
        hint: 'without one, sethostname would rename the host',
      });
    const actions: Action[] = [];
    if (spec.hostname) actions.push(shim({ op: 'sethostname', name: spec.hostname }));
    if (spec.domainname) actions.push(shim({ op: 'setdomainname', name: spec.domainname }));
    return { actions };
  },

  hint: (f) =>
    f.errnoName === 'EPERM'
      ? 'sethostname needs CAP_SYS_ADMIN in the user namespace that owns the UTS namespace'
      : undefined,
};
