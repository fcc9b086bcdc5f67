// Text follows the terminal's width: the uts lesson in a real pseudo-terminal (util-linux script(1))
// of 64, 110 and 160 columns (stty cols), as a transcript (--print, so nobody needs to press keys).
// No line is wider than the terminal, and prose is wrapped between words, not by the terminal.
import { describe, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NSX, itRoot, stripAnsi } from '../helpers.js';

function lessonAt(columns: number): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-width-'));
  try {
    const r = spawnSync(
      'script',
      ['-qfec', `stty cols ${columns} rows 50; ${process.execPath} ${NSX} lesson uts --print`, '/dev/null'],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: { ...process.env, NO_COLOR: '1', TERM: 'xterm', NSX_PROGRESS: join(dir, 'progress.json') },
      },
    );
    expect(r.status).toBe(0);
    return stripAnsi(r.stdout).split(/\r?\n/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('text as wide as the terminal', () => {
  for (const columns of [64, 110, 160]) {
    itRoot(`${columns} columns: no line wider, prose wrapped near the width, never inside a word`, () => {
      const lines = lessonAt(columns);
      expect(lines.join('\n')).toContain('What you saw');
      for (const l of lines) expect([...l].length).toBeLessThanOrEqual(columns);
      // Prose uses the width (up to 100 columns): some line comes within 12 columns of it.
      const prose = Math.min(columns, 100);
      expect(Math.max(...lines.map((l) => [...l].length))).toBeGreaterThan(prose - 12);
      // The intro's first two sentences, whole: their words in order, every line break between two
      // words (a break inside a word would leave "host name" or "hostna me" here).
      const text = lines.join(' ').replace(/\s+/g, ' ');
      expect(text).toContain(
        'The UTS namespace holds two names: the hostname and the NIS domain name (uts_namespaces(7)). A process in its own UTS namespace can rename "the machine" without the host noticing.',
      );
      expect(text).not.toContain('`');
    });
  }
});
