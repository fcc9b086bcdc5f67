// The shim's operations: the TypeScript union (src/runtime/shim-ops.ts) and the C dispatch
// (run() in shim/nsx-shim.c) must know the same ops, and the encoder must produce today's wire fields.
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SHIM_OP_NAMES, encodeShimOp } from '../../src/runtime/shim-ops.js';

/** The op names run() dispatches on: its body, from its signature to the closing brace at column 0. */
function cDispatch(): string[] {
  const c = readFileSync(join(process.cwd(), 'shim', 'nsx-shim.c'), 'utf8');
  const start = c.indexOf('static int run(char **f, int n) {');
  expect(start).toBeGreaterThan(0);
  const body = c.slice(start, c.indexOf('\n}\n', start));
  return [...body.matchAll(/strcmp\(op, "([a-z_]+)"\) == 0/g)].map((m) => m[1]);
}

/** The supervisor's own channel (fd 4, supervise() in the C) takes a few messages that are no
 *  instructions and no ShimOps: Shim's kill(), registerCleanup() and resize() send them. */
function supervisorMessages(source: string, pattern: RegExp): string[] {
  return [...source.matchAll(pattern)].map((m) => m[1]).sort();
}

describe('shim operations', () => {
  it('finds the C dispatch (a test that reads nothing proves nothing)', () => {
    expect(cDispatch().length).toBeGreaterThan(20);
    expect(cDispatch()).toContain('mount');
  });

  it('the C handles every op of the TypeScript union', () => {
    const c = new Set(cDispatch());
    expect(SHIM_OP_NAMES.filter((op) => !c.has(op))).toEqual([]);
  });

  it('the TypeScript union has every op the C handles (no dead branches in the shim)', () => {
    const ts = new Set<string>(SHIM_OP_NAMES);
    expect(cDispatch().filter((op) => !ts.has(op))).toEqual([]);
  });

  it('the supervisor channel: the messages the C takes are those shim.ts sends, none of them a ShimOp', () => {
    const c = readFileSync(join(process.cwd(), 'shim', 'nsx-shim.c'), 'utf8');
    const ts = readFileSync(join(process.cwd(), 'src', 'runtime', 'shim.ts'), 'utf8');
    const taken = supervisorMessages(c, /strcmp\(f\[0\], "([a-z_]+)"\) == 0 && n > /g);
    expect(taken).toEqual(['cleanup_dir', 'kill', 'resize']);
    expect(supervisorMessages(ts, /this\.sup\.send(?:Many)?\((?:\w+\.map\(\(\w+\) => )?\['([a-z_]+)'/g)).toEqual(taken);
    for (const m of taken) expect(SHIM_OP_NAMES).not.toContain(m);
  });

  it('encodes ops as the wire fields the C reads', () => {
    expect(
      encodeShimOp({ op: 'mount', source: '', target: '/x', fstype: 'tmpfs', flags: 6, data: 'mode=755' }),
    ).toEqual(['mount', '', '/x', 'tmpfs', '6', 'mode=755']);
    expect(encodeShimOp({ op: 'exec', argv: ['sh', '-c', 'true'], env: ['PATH=/bin'] })).toEqual([
      'exec',
      '3',
      'sh',
      '-c',
      'true',
      'PATH=/bin',
    ]);
    expect(
      encodeShimOp({
        op: 'capset',
        effective: ['CAP_CHOWN', 'CAP_SYS_ADMIN'],
        permitted: ['CAP_CHOWN'],
        inheritable: [],
      }),
    ).toEqual(['capset', String(1n | (1n << 21n)), '1', '0']);
    expect(encodeShimOp({ op: 'bset_drop', caps: ['CAP_SYS_ADMIN', 'CAP_NET_RAW'] })).toEqual([
      'bset_drop',
      '21',
      '13',
    ]);
    expect(encodeShimOp({ op: 'keep_caps', on: true })).toEqual(['keep_caps', '1']);
    expect(encodeShimOp({ op: 'setgroups', gids: [] })).toEqual(['setgroups']);
    expect(encodeShimOp({ op: 'symlink', target: '/proc/self/fd', path: '/r/dev/fd' })).toEqual([
      'symlink',
      '/proc/self/fd',
      '/r/dev/fd',
    ]);
    expect(encodeShimOp({ op: 'mkdir', path: '/r/tmp', mode: 0o755 })).toEqual(['mkdir', '/r/tmp', '493']);
    expect(encodeShimOp({ op: 'fork' })).toEqual(['fork']);
  });
});
