// The terminal renderer: 80 columns, no colour with NO_COLOR, and the changed facts marked.
import { describe, expect, it } from '@jest/globals';
import { Chalk } from 'chalk';
import {
  evidenceTable,
  renderEvent,
  splitValue,
  stepHeader,
  summarizeRemoved,
  wrap,
} from '../../src/render/terminal.js';
import { STEP_IDS, STEP_INFO } from '../../src/runtime/steps.js';
import type { Evidence } from '../../src/runtime/observe.js';
import { stripAnsi } from '../helpers.js';

const c = new Chalk({ level: 1 });
const evidence: Evidence = {
  host: {
    hostname: 'a-rather-long-host-name.example.internal',
    ns: { uts: 'uts:[4026531838]', pid: 'pid:[4026531836]', pid_for_children: 'pid:[4026531836]' },
  },
  process: {
    pid: 123456,
    nsPids: [123456, 1],
    ns: { uts: 'uts:[4026532178]', pid: 'pid:[4026532250]', pid_for_children: 'pid:[4026532250]' },
    uid: [0],
    gid: [0],
    uidMap: '0 100000 65536',
    gidMap: '0 100000 65536',
    capEff: [
      'CAP_CHOWN',
      'CAP_DAC_OVERRIDE',
      'CAP_FSETID',
      'CAP_FOWNER',
      'CAP_MKNOD',
      'CAP_NET_RAW',
      'CAP_SETGID',
      'CAP_SETUID',
    ],
    capBnd: [],
    noNewPrivs: true,
    seccomp: 2,
    cgroups: ['4:memory:/nsx/' + 'f'.repeat(64)],
    mounts: Array(20).fill('/'),
    root: '/very/long/path/to/the/root/filesystem/of/this/container/busybox',
  },
  inside: {
    pid: 1,
    ppid: 0,
    uid: 0,
    gid: 0,
    hostname: 'a-container-with-a-very-long-hostname-indeed',
    domainname: '',
    cwd: '/',
    links: ['lo:up'],
  },
};

describe('terminal renderer', () => {
  it('keeps every line within 80 columns', () => {
    const lines = [
      ...STEP_IDS.flatMap((id, i) =>
        stepHeader(
          i,
          STEP_IDS.length,
          {
            id,
            ...STEP_INFO[id],
            notes: ['a note that is long enough to need wrapping onto a second line of text, surely'],
          },
          c,
        ),
      ),
      ...evidenceTable(evidence, ['ns.uts'], c),
    ];
    for (const l of lines) expect(stripAnsi(l).length).toBeLessThanOrEqual(80);
  });
  it('marks the facts the step changed', () => {
    const rows = evidenceTable(evidence, ['ns.uts'], new Chalk({ level: 0 }));
    expect(rows.find((r) => r.includes('ns uts'))).toMatch(/^ \*ns uts/);
    expect(rows.find((r) => r.includes('ns pid '))).toMatch(/^ {2}ns pid/);
  });
  it('prints no escape codes at level 0 (NO_COLOR)', () => {
    const out = renderEvent(
      {
        type: 'step-failed',
        index: 0,
        step: { id: 'hostname', ...STEP_INFO.hostname, notes: [] },
        error: { message: 'sethostname: Operation not permitted', hint: 'needs CAP_SYS_ADMIN' },
      },
      18,
      new Chalk({ level: 0 }),
    );
    expect(out.join('\n')).not.toMatch(/\x1b/);
    expect(out.join('\n')).toMatch(/failed: sethostname: Operation not permitted\n {4}needs CAP_SYS_ADMIN/);
  });
  it('wraps words, never splitting them', () => {
    expect(wrap('aaa bbb ccc', 2, 10)).toEqual(['  aaa bbb', '  ccc']);
  });
  it('shows a changed list whole, over continuation lines under its column; an unchanged one clipped', () => {
    const plain = new Chalk({ level: 0 });
    const changed = evidenceTable(evidence, ['capEff'], plain);
    const at = changed.findIndex((r) => r.includes('CapEff'));
    expect(changed[at]).toMatch(/^ \*CapEff +8: chown,dac_override,fsetid,fowner,$/);
    expect(changed[at + 1]).toBe(`${' '.repeat(40)}mknod,net_raw,setgid,setuid`);
    for (const l of changed) expect(l.length).toBeLessThanOrEqual(80);
    const unchanged = evidenceTable(evidence, [], plain);
    expect(unchanged.find((r) => r.includes('CapEff'))).toMatch(/…$/);
    expect(unchanged.filter((r) => r.startsWith(' '.repeat(40)))).toEqual([]);
  });
  it('splits values after commas or spaces, clipping a piece longer than a line', () => {
    expect(splitValue('a,bb,ccc', 5)).toEqual(['a,bb,', 'ccc']);
    expect(splitValue('3: x,y', 40)).toEqual(['3: x,y']);
    expect(splitValue('abcdefgh', 4)).toEqual(['abc…']);
    expect(splitValue('', 4)).toEqual(['']);
  });
  it('shows the bounding set only where it differs from the effective set', () => {
    const plain = new Chalk({ level: 0 });
    expect(evidenceTable(evidence, [], plain).find((r) => r.includes('CapBnd'))).toMatch(/CapBnd +0: $/);
    const same = { ...evidence, process: { ...evidence.process, capBnd: evidence.process.capEff } };
    expect(evidenceTable(same, [], plain).find((r) => r.includes('CapBnd'))).toBeUndefined();
  });
});

describe('summarizeRemoved', () => {
  it('names the cgroup once, with its hierarchies', () => {
    const id = 'ab'.repeat(32);
    expect(
      summarizeRemoved([`/sys/fs/cgroup/memory/nsx/${id}`, `/sys/fs/cgroup/pids/nsx/${id}`, 'veth nsxhabababab']),
    ).toBe('cgroup nsx/abababababab… (memory, pids), veth nsxhabababab');
    expect(summarizeRemoved([`/sys/fs/cgroup/nsx/${id}`])).toBe('cgroup nsx/abababababab… (cgroup)');
  });
});

describe('the evidence table, short and whole', () => {
  const plain = new Chalk({ level: 0 });
  const withHost: Evidence = {
    ...evidence,
    host: {
      ...evidence.host,
      links: ['lo:up', 'eth0:up'],
      mounts: 31,
      root: '/',
      cwd: '/root',
      capEff: evidence.process.capEff,
      capBnd: [],
      noNewPrivs: false,
      seccomp: 0,
      cgroups: ['4:memory:/user.slice'],
    },
  };
  it('short: the rows the step changed and the key rows, and how many more there are', () => {
    const short = evidenceTable(withHost, ['capEff'], plain, { width: 80, short: true, more: 'press t' });
    const labels = short.slice(1).map((l) => l.slice(2, 14).trim());
    expect(labels).toEqual(expect.arrayContaining(['PID', 'hostname', 'ns uts', 'CapEff']));
    expect(labels).not.toContain('NoNewPrivs');
    const whole = evidenceTable(withHost, ['capEff'], plain, { width: 80 });
    const left = whole.length - short.length;
    expect(short[short.length - 1]).toBe(`  * changed by this step; ${left} more rows: press t`);
  });
  it('fills the host column wherever the host has a value, with paths a learner can paste', () => {
    const rows = evidenceTable(withHost, [], plain, { width: 120 });
    const row = (label: string) => rows.find((r) => r.slice(2, 14).trim() === label)!;
    expect(row('network')).toMatch(/lo:up eth0:up +lo:up$/);
    expect(row('mount points')).toMatch(/ 31 +20$/);
    expect(row('cwd')).toMatch(/\/root +\/$/);
    expect(row('NoNewPrivs')).toMatch(/ 0 +1$/);
    // cgroups(7): v1's line "4:memory:/nsx/ID" is the directory /sys/fs/cgroup/memory/nsx/ID.
    expect(row('cgroup')).toMatch(/\/sys\/fs\/cgroup\/memory\/user\.slice +…f+$/);
    // Changed, it is shown whole on the line below.
    const changed = evidenceTable(withHost, ['cgroups'], plain, { width: 120 });
    const at = changed.findIndex((r) => r.slice(2, 14).trim() === 'cgroup');
    expect(changed[at]).toMatch(/\(below\)$/);
    expect(changed[at + 1]).toBe(`    /sys/fs/cgroup/memory/nsx/${'f'.repeat(64)}`);
  });
  it('shortens a long path from the left, where it says least', () => {
    const rows = evidenceTable(evidence, [], plain, { width: 80 });
    expect(rows.find((r) => r.includes(' root '))).toMatch(/…\S*\/busybox$/);
  });
});
