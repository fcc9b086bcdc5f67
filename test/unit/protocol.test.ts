// The shim's wire format, the CLI's rule for where the command starts, and the evidence diff.
import { describe, expect, it } from '@jest/globals';
import { markCommandStart } from '../../src/cli/run/index.js';
import { changedFacts, parseInside, parseStatus, type Evidence } from '../../src/runtime/observe.js';
import { decodeMessages, encodeMessage } from '../../src/runtime/shim.js';

describe('shim wire format', () => {
  it('round-trips fields, including empty ones and any bytes but NUL', () => {
    const msgs = [['mount', '', '/x', 'tmpfs', '0', 'mode=755'], ['exec', '2', 'sh', '-c', 'echo "a\nb"'], ['ok']];
    const wire = Buffer.concat(msgs.map(encodeMessage));
    expect(decodeMessages(wire)).toEqual({ messages: msgs, rest: Buffer.alloc(0) });
  });
  it('keeps a partial message for later', () => {
    const wire = encodeMessage(['sethostname', 'box']);
    const { messages, rest } = decodeMessages(wire.subarray(0, 7));
    expect(messages).toEqual([]);
    expect(decodeMessages(Buffer.concat([rest, wire.subarray(7)])).messages).toEqual([['sethostname', 'box']]);
  });
});

describe('markCommandStart', () => {
  it('ends the options at the first word that is not one, as docker run does', () => {
    expect(markCommandStart(['run', '--rootfs', 'r', '-m', '64m', 'sh', '-c', 'ls -l'])).toEqual([
      'run',
      '--rootfs',
      'r',
      '-m',
      '64m',
      '--',
      'sh',
      '-c',
      'ls -l',
    ]);
    expect(markCommandStart(['run', '--step', '--rootfs=r', 'ps', '-ef'])).toEqual([
      'run',
      '--step',
      '--rootfs=r',
      '--',
      'ps',
      '-ef',
    ]);
    expect(markCommandStart(['run', '--rootfs', 'r', '--', 'ps'])).toEqual(['run', '--rootfs', 'r', '--', 'ps']);
    expect(markCommandStart(['doctor', '--json'])).toEqual(['doctor', '--json']);
  });

  it('does the same for nsx runtime run (the in-process runtime)', () => {
    expect(markCommandStart(['runtime', 'run', '--rootfs', 'r', '-m', '64m', 'sh', '-c', 'ls -l'])).toEqual([
      'runtime',
      'run',
      '--rootfs',
      'r',
      '-m',
      '64m',
      '--',
      'sh',
      '-c',
      'ls -l',
    ]);
  });
});

describe('evidence', () => {
  it('parses /proc/PID/status', () => {
    const st = parseStatus('Name:\tsh\nNSpid:\t4242\t1\nCapEff:\t00000000a80425fb\nNoNewPrivs:\t1\n');
    expect(st.NSpid).toBe('4242\t1');
    expect(st.NoNewPrivs).toBe('1');
  });
  it('parses what the shim reports from inside', () => {
    expect(parseInside(['1', '0', '0', '0', 'box', '(none)', '/', 'lo:up,eth0:down'])).toEqual({
      pid: 1,
      ppid: 0,
      uid: 0,
      gid: 0,
      hostname: 'box',
      domainname: '(none)',
      cwd: '/',
      links: ['lo:up', 'eth0:down'],
    });
  });
  it('names exactly the facts a step changed', () => {
    const base: Evidence = {
      host: { hostname: 'vm', ns: { uts: 'uts:[1]' } },
      process: {
        pid: 10,
        nsPids: [10],
        ns: { uts: 'uts:[1]', pid: 'pid:[2]' },
        uid: [0],
        gid: [0],
        uidMap: '',
        gidMap: '',
        capEff: [],
        capBnd: [],
        noNewPrivs: false,
        seccomp: 0,
        cgroups: [],
        mounts: [],
        root: '/',
      },
      inside: parseInside(['10', '1', '0', '0', 'vm', '', '/', 'lo:down']),
    };
    const after: Evidence = {
      ...base,
      process: { ...base.process, ns: { ...base.process.ns, uts: 'uts:[9]' } },
      inside: { ...base.inside!, hostname: 'box' },
    };
    expect(changedFacts(base, after).sort()).toEqual(['inside.hostname', 'ns.uts']);
    expect(changedFacts(undefined, after)).toEqual([]);
  });
});
