// The docs name real files: every path in backticks in docs/*.md that starts with one of the tree's
// folders (src/, lessons/, test/, shim/, docs/, scripts/, bench/) or ends in .ts, .c, .md or .json
// must exist, from the repository's root (so a bare `rules.ts` fails: write the whole path), and one
// ending in / must be a directory. Machine paths (/etc/…) and bare .json/.md names (data files such
// as containers.json) are not the repository's and are left out. A renamed or removed file fails here instead of leaving the docs
// wrong. A placeholder such as <id> or <nn-slug> stands for any name: at least one file must fit.
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';

const TREE = /^(src|lessons|test|shim|docs|scripts|bench)\//;
const FILE = /\.(ts|c|md|json)$/;

/** The paths a markdown text names in inline code (fenced blocks are left out: they hold commands). */
export function namedPaths(md: string): string[] {
  const text = md.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '');
  const found = new Set<string>();
  for (const [, code] of text.matchAll(/`([^`\n]+)`/g)) {
    if (/\s/.test(code)) continue; // a command or an expression, not a path
    const path = code.replace(/[:#].*$/, ''); // file.ts:12, file.md#anchor
    // A path on the machine (/etc/…, ~/…) is not the repository's; nor is a bare data file name
    // (containers.json, an OCI config.json): those are checked only when they name a folder.
    if (/^[/~]/.test(path) || (/\.(json|md)$/.test(path) && !path.includes('/'))) continue;
    if (TREE.test(path) || (FILE.test(path) && /^[\w.<>/-]+$/.test(path))) found.add(path);
  }
  return [...found];
}

/** Whether the path exists under root; a <placeholder> segment (or part of one) matches any name. */
export function pathExists(root: string, path: string): boolean {
  const parts = path.replace(/\/$/, '').split('/');
  const dirWanted = path.endsWith('/');
  const walk = (dir: string, i: number): boolean => {
    if (i === parts.length) return !dirWanted || statSync(dir).isDirectory();
    const part = parts[i];
    if (!part.includes('<')) {
      const next = join(dir, part);
      return existsSync(next) && (i === parts.length - 1 || statSync(next).isDirectory()) && walk(next, i + 1);
    }
    const re = new RegExp(
      '^' +
        part
          .split(/<[^>]+>/)
          .map(escape)
          .join('[^/]+') +
        '$',
    );
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return false;
    return readdirSync(dir).some((name) => re.test(name) && walk(join(dir, name), i + 1));
  };
  return walk(root, 0);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const docs = () => readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md'));

describe('the docs name real paths', () => {
  it('finds the docs and the paths in them (a test that reads nothing proves nothing)', () => {
    expect(docs()).toContain('architecture.md');
    const named = namedPaths(readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8'));
    expect(named.length).toBeGreaterThan(40);
    expect(named).toContain('src/runtime/steps/pivot-root.ts');
    expect(named).toContain('src/runtime/steps/<id>.ts');
  });

  it('reads paths, placeholders and directories as meant, and sees a missing one', () => {
    const md = '`src/a.ts:12`, `lessons/<nn>/`, `npm run lint`, `rules.ts`, `x`, `f(a.ts)`\n```\n`src/no.ts`\n```';
    expect(namedPaths(md)).toEqual(['src/a.ts', 'lessons/<nn>/', 'rules.ts']);
    expect(pathExists(ROOT, 'src/runtime/steps/<id>.ts')).toBe(true);
    expect(pathExists(ROOT, 'lessons/<nn-slug>/lesson.md')).toBe(true);
    expect(pathExists(ROOT, 'src/runtime/steps/')).toBe(true);
    expect(pathExists(ROOT, 'src/runtime/steps/<id>.c')).toBe(false);
    expect(pathExists(ROOT, 'src/runtime/no-such-file.ts')).toBe(false);
    expect(pathExists(ROOT, 'src/runtime/steps.ts/')).toBe(false); // a trailing / asks for a directory
    expect(pathExists(ROOT, 'README.md')).toBe(true);
    expect(pathExists(ROOT, 'rules.ts')).toBe(false);
    expect(pathExists(ROOT, 'src/runtime/steps.ts/x.ts')).toBe(false);
  });

  for (const doc of existsSync(join(ROOT, 'docs')) ? docs() : [])
    it(`docs/${doc}: every path it names exists`, () => {
      const missing = namedPaths(readFileSync(join(ROOT, 'docs', doc), 'utf8')).filter((p) => !pathExists(ROOT, p));
      expect(missing).toEqual([]);
    });
});
