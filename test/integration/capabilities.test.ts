// Capabilities (capabilities(7)): what the kernel lets root inside the container do. Asserted twice:
// on the runtime's evidence (CapEff/CapBnd read from /proc/PID/status on the host) and on what the
// probe inside gets back from the kernel when it tries a privileged system call.
import { describe, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { capsToMask, decodeCapMask, DOCKER_DEFAULT_CAPS } from '../../src/runtime/capabilities.js';
import { parseStatus } from '../../src/runtime/observe.js';
import { eventsOf, evidenceAfter, itRoot, run, type NsxResult } from '../helpers.js';

/** Runs the command and returns the lines of /proc/self/status the container's process sees. */
const STATUS = ['/bin/grep', '-E', '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):', '/proc/self/status'];
function statusOf(r: NsxResult): Record<string, string> {
  return parseStatus(r.stdout);
}

/** Exit code and stderr together, so a failure shows nsx's own explanation. */
const outcome = (r: NsxResult) => ({ code: r.code, stderr: r.stderr });
const ok = { code: 0, stderr: '' };

describe('capabilities', () => {
  itRoot("gives Docker's 14 default capabilities: CapEff 00000000a80425fb inside", async () => {
    const r = await run([], STATUS);
    expect(outcome(r)).toEqual(ok);
    const st = statusOf(r);
    expect(st.CapEff).toBe('00000000a80425fb');
    expect(st.CapPrm).toBe('00000000a80425fb');
    expect(st.CapBnd).toBe('00000000a80425fb');
    expect(capsToMask(DOCKER_DEFAULT_CAPS)).toBe(0xa80425fbn);
    expect(decodeCapMask(st.CapEff).sort()).toEqual([...DOCKER_DEFAULT_CAPS].sort());
    expect(DOCKER_DEFAULT_CAPS).toHaveLength(14);
  });

  itRoot(
    'the capabilities step leaves exactly the 14 defaults (CAP_SYS_ADMIN only until the seccomp step loads its filter)',
    async () => {
      const r = await run([], ['/bin/true']);
      expect(outcome(r)).toEqual(ok);
      const defaults = [...DOCKER_DEFAULT_CAPS].sort();
      const afterCaps = evidenceAfter(r, 'capabilities')!;
      // The bounding set is final at once; the effective set keeps CAP_SYS_ADMIN because without
      // no_new_privs seccomp(2) needs it, and the step says so in its notes.
      expect([...afterCaps.process.capBnd].sort()).toEqual(defaults);
      expect([...afterCaps.process.capEff].sort()).toEqual([...defaults, 'CAP_SYS_ADMIN'].sort());
      const step = eventsOf(r, 'step-applied').find((e) => e.step.id === 'capabilities')!.step;
      expect(step.notes.join(' ')).toMatch(
        /CAP_SYS_ADMIN stays in the effective set until the seccomp filter is installed/,
      );
      // After the seccomp step the effective set is Docker's 14, no more.
      const afterSeccomp = evidenceAfter(r, 'seccomp')!;
      expect([...afterSeccomp.process.capEff].sort()).toEqual(defaults);
      expect(afterSeccomp.process.capEff).toHaveLength(14);
    },
  );

  itRoot('with no_new_privs the capabilities step itself leaves exactly the 14 defaults', async () => {
    const r = await run(['--security-opt', 'no-new-privileges'], ['/bin/true']);
    expect(outcome(r)).toEqual(ok);
    expect([...evidenceAfter(r, 'capabilities')!.process.capEff].sort()).toEqual([...DOCKER_DEFAULT_CAPS].sort());
  });

  itRoot('by default chown and raw sockets work (CAP_CHOWN, CAP_NET_RAW are defaults)', async () => {
    const r = await run([], ['/bin/sh', '-c', '/probe try chown; /probe try raw-socket']);
    expect(outcome(r)).toEqual(ok);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['ok', 'ok']);
  });

  itRoot('--cap-drop ALL: chown and raw sockets fail with EPERM, CapEff is 0', async () => {
    const r = await run(
      ['--cap-drop', 'ALL'],
      ['/bin/sh', '-c', '/probe try chown; /probe try raw-socket; grep CapEff: /proc/self/status'],
    );
    expect(outcome(r)).toEqual(ok);
    const [chown, raw] = r.stdout.split('\n');
    expect(chown).toBe('EPERM');
    expect(raw).toBe('EPERM');
    expect(statusOf(r).CapEff).toBe('0000000000000000');
    expect(evidenceAfter(r, 'seccomp')!.process.capEff).toEqual([]);
  });

  itRoot('--cap-drop NET_RAW: raw sockets fail with EPERM, chown still works', async () => {
    const r = await run(['--cap-drop', 'NET_RAW'], ['/bin/sh', '-c', '/probe try raw-socket; /probe try chown']);
    expect(outcome(r)).toEqual(ok);
    expect(r.stdout.split('\n').filter(Boolean)).toEqual(['EPERM', 'ok']);
    expect(evidenceAfter(r, 'seccomp')!.process.capEff).not.toContain('CAP_NET_RAW');
  });

  itRoot('without CAP_SYS_ADMIN sethostname is EPERM, and busybox hostname fails', async () => {
    const r = await run([], ['/bin/sh', '-c', '/probe try sethostname; hostname x; echo "hostname exit $?"']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n').filter(Boolean);
    expect(lines[0]).toBe('EPERM');
    expect(lines[1]).toMatch(/^hostname exit [1-9]/);
    expect(r.stderr).toMatch(/sethostname: Operation not permitted/);
  });

  itRoot(
    '--cap-add SYS_ADMIN: sethostname works (the default seccomp profile allows it with that capability)',
    async () => {
      const r = await run(
        ['--cap-add', 'SYS_ADMIN'],
        ['/bin/sh', '-c', '/probe try sethostname; grep -E "^(CapEff|Seccomp):" /proc/self/status'],
      );
      expect(outcome(r)).toEqual(ok);
      expect(r.stdout.split('\n')[0]).toBe('ok');
      const st = statusOf(r);
      expect(st.Seccomp).toBe('2');
      expect(decodeCapMask(st.CapEff)).toContain('CAP_SYS_ADMIN');
    },
  );

  itRoot('--privileged: every capability this kernel has (that nsx itself holds), and no seccomp filter', async () => {
    const lastCap = Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
    const kernelAll = (1n << BigInt(lastCap + 1)) - 1n;
    // Nothing can grant a capability outside the runtime's own bounding set (Docker's privileged
    // set is "all capabilities available in the current environment"). On an ordinary host the
    // bounding set is full and this is simply every capability: cap_last_cap + 1 of them.
    const ownBounding = BigInt('0x' + parseStatus(readFileSync('/proc/self/status', 'utf8')).CapBnd);
    const expected = kernelAll & ownBounding;
    if (expected !== kernelAll)
      console.warn(
        `this machine's bounding set lacks ${decodeCapMask(kernelAll & ~ownBounding).join(', ')}: --privileged can only grant the rest`,
      );
    const r = await run(['--privileged'], STATUS);
    expect(outcome(r)).toEqual(ok);
    const st = statusOf(r);
    expect(BigInt('0x' + st.CapEff)).toBe(expected);
    expect(BigInt('0x' + st.CapBnd)).toBe(expected);
    if (expected === kernelAll) expect(decodeCapMask(st.CapEff)).toHaveLength(lastCap + 1);
    expect(st.Seccomp).toBe('0');
    expect(eventsOf(r, 'step-skipped').map((e) => e.step.id)).toContain('seccomp');
  });
});
