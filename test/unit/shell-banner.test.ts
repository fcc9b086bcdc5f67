// What the `s` shell's banner says it has of the container (src/ui/shell.ts shellHas): the steps
// applied so far, in nsx exec's order, and what this container never gets.
import { describe, expect, it } from '@jest/globals';
import { shellHas } from '../../src/ui/shell.js';

describe('the shell banner', () => {
  it("names the host's namespaces and root's capabilities before the container has its own", () => {
    expect(shellHas({ applied: new Set(['devices']), rootChanged: false }, undefined)).toBe(
      "the host's namespaces, all capabilities (none dropped yet), no seccomp yet",
    );
  });

  it('names what has been applied, in exec order, with the capability count', () => {
    const applied = new Set(['cgroup', 'namespaces', 'fork', 'pivot-root', 'no-new-privs', 'capabilities']);
    expect(shellHas({ applied, rootChanged: true }, 12)).toBe(
      'cgroup, namespaces, root, user, no_new_privs, capabilities (12), no seccomp yet',
    );
    expect(shellHas({ applied, skipped: new Set(['seccomp']), rootChanged: true }, 12)).toMatch(
      /capabilities \(12\), no seccomp \(none for this container\)$/,
    );
    expect(shellHas({ applied: new Set([...applied, 'seccomp']), rootChanged: true }, 12)).toMatch(/, seccomp$/);
  });
});
