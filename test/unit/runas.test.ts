// Who runs a lesson's container: the invoking user under sudo, yourself without it, or root in a
// user namespace of its own when there is nobody else — and the learner is told which.
import { describe, expect, it } from '@jest/globals';
import { containerUser } from '../../src/learn/runas.js';

const root = { uid: 0, gid: 0, root: true };

describe('containerUser', () => {
  it('leaves lessons that do not ask alone: the container runs as nsx does', () => {
    expect(containerUser(undefined, { SUDO_UID: '1000', SUDO_GID: '1000' }, root)).toEqual({ how: 'as-nsx' });
  });

  it('under sudo: the user sudo names, by number, with their gid', () => {
    const who = containerUser('invoking-user', { SUDO_UID: '1000', SUDO_GID: '1001' }, root);
    expect(who.how).toBe('invoking-user');
    expect(who.runAs).toEqual({ uid: 1000, gid: 1001 });
    expect(who.userns).toBeUndefined();
    expect(who.note).toMatch(/uid 1000, gid 1001/);
  });

  it('takes the uid for the gid when sudo left no SUDO_GID', () => {
    expect(containerUser('invoking-user', { SUDO_UID: '1234' }, root).runAs).toEqual({ uid: 1234, gid: 1234 });
  });

  it('root with nobody behind it (no SUDO_UID, SUDO_UID=0, or garbage): a private user namespace, said so', () => {
    for (const env of [{}, { SUDO_UID: '0', SUDO_GID: '0' }, { SUDO_UID: 'alice' }]) {
      const who = containerUser('invoking-user', env, root);
      expect(who.how).toBe('root-userns');
      expect(who.runAs).toBeUndefined();
      expect(who.userns).toBe('private');
      expect(who.note).toMatch(/--userns private/);
    }
  });

  it('not root: the learner is the invoking user already, nothing to switch', () => {
    const who = containerUser('invoking-user', { SUDO_UID: '1000' }, { uid: 1000, gid: 1000, root: false });
    expect(who.how).toBe('self');
    expect(who.runAs).toBeUndefined();
    expect(who.userns).toBeUndefined();
    expect(who.note).toMatch(/as you \(uid 1000\)/);
  });
});
