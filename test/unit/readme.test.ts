// The README is the learner's page: its lesson table is the course (`nsx lesson --list`), in order,
// it stays short, and every page it links to exists.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listing } from '../../src/learn/course.js';
import { ROOT } from '../helpers.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The first column of the table under "## The lessons". */
function readmeLessons(): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('The lessons'));
  if (!section) throw new Error('README.md has no "## The lessons" section');
  const rows = section.split('\n').filter((l) => l.startsWith('|'));
  expect(rows[0]).toMatch(/^\| lesson \|/);
  return rows.slice(2).map((r) => r.split('|')[1].trim());
}

describe('README.md', () => {
  it('lists the lessons `nsx lesson --list` lists, in its order', () => {
    const listed = listing({ lessons: {} } as never)
      .map((l) => /^\s*.\s+\d+\.\s+(\S+)/.exec(l)?.[1])
      .filter((id): id is string => !!id);
    expect(listed.length).toBeGreaterThan(10);
    expect(readmeLessons()).toEqual(listed);
  });
  it('is a page of at most ~200 lines', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(200);
  });
  it('links only to files that exist', () => {
    const links = [...readme.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]).filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(3);
    // docs/architecture.md is written by another branch; it must exist once the branches are merged.
    const missing = links.filter((l) => !existsSync(join(ROOT, l)) && l !== 'docs/architecture.md');
    expect(missing).toEqual([]);
  });
  it('keeps its two commands', () => {
    expect(readme).toContain('sudo bash scripts/start.sh\nsudo npm test');
    expect(readme).toContain("vagrant up && vagrant ssh -c 'sudo nsx learn'");
  });
});
