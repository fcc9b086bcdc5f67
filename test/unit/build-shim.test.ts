// npm ci compiles the shim; without a C compiler it must say so and how to fix it.
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

function copyTree(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-build-'));
  mkdirSync(join(dir, 'scripts'));
  mkdirSync(join(dir, 'shim'));
  copyFileSync(join(ROOT, 'scripts', 'build-shim.mjs'), join(dir, 'scripts', 'build-shim.mjs'));
  for (const c of ['nsx-shim.c', 'nsx-landlock.c', 'nsx-tryas.c'])
    copyFileSync(join(ROOT, 'shim', c), join(dir, 'shim', c));
  return dir;
}

describe('building the shim', () => {
  it('fails clearly when there is no C compiler', () => {
    const dir = copyTree();
    try {
      const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build-shim.mjs')], {
        encoding: 'utf8',
        env: { ...process.env, CC: '/nonexistent/cc' },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/no C compiler \("\/nonexistent\/cc"\) found/);
      expect(r.stderr).toMatch(/apt-get install build-essential/);
      expect(existsSync(join(dir, 'shim', 'nsx-shim'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('builds it with the compiler that is there', () => {
    const dir = copyTree();
    try {
      const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build-shim.mjs')], { encoding: 'utf8' });
      expect(r.status).toBe(0);
      for (const b of ['nsx-shim', 'nsx-landlock', 'nsx-tryas']) expect(existsSync(join(dir, 'shim', b))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
