// .dockerignore as docker's CLI applies it (src/image/dockerignore.ts). The cases are moby's own
// (moby/patternmatcher's patternmatcher_test.go: TestMatches, the filepath.Match table, the "!"
// errors; ignorefile_test.go's ReadAll), run against this port, plus the walk's and the kept files'.
import { describe, expect, it } from '@jest/globals';
import {
  checkGlob,
  cleanPath,
  compilePatterns,
  excluded,
  keepBuildFiles,
  readIgnoreFile,
  walkDecision,
} from '../../src/image/dockerignore.js';

const left = (patterns: string[], path: string) => excluded(compilePatterns(patterns), path);

describe('.dockerignore: reading the file (ignorefile.ReadAll)', () => {
  it('skips comments and blank lines, trims, cleans, drops a leading "/", keeps "!"', () => {
    const text = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    expect(readIgnoreFile(text)).toEqual(['test1', 'test2', 'a/file/here', 'lastfile', '!inverted/abs/path', '!', '!']);
  });

  it('a BOM, CRLF line ends, a "#" only at the start, ./ and .. cleaned', () => {
    expect(readIgnoreFile('\uFEFFa\r\n  # not a comment\r\n./b/../c/\n/\n')).toEqual([
      'a',
      '# not a comment',
      'c',
      '/',
    ]);
    expect(readIgnoreFile('')).toEqual([]);
  });

  it("cleans as Go's path.Clean", () => {
    expect(['', 'a/', 'a//b', './a', 'a/./b/..', '../a', '/../a', '/'].map(cleanPath)).toEqual([
      '.',
      'a',
      'a/b',
      'a',
      'a',
      '../a',
      '/a',
      '/',
    ]);
  });
});

describe('.dockerignore: one pattern against a path (patternmatcher TestMatches, MatchesOrParentMatches)', () => {
  // [pattern, path, matches (exactly or through a parent directory)]
  const cases: [string, string, boolean][] = [
    ['**', 'file', true],
    ['**', 'file/', true],
    ['**/', 'file', true],
    ['**/', 'file/', true],
    ['**', '/', true],
    ['**/', '/', true],
    ['**', 'dir/file', true],
    ['**/', 'dir/file', true],
    ['**', 'dir/file/', true],
    ['**/', 'dir/file/', true],
    ['**/**', 'dir/file', true],
    ['**/**', 'dir/file/', true],
    ['dir/**', 'dir/file', true],
    ['dir/**', 'dir/file/', true],
    ['dir/**', 'dir/dir2/file', true],
    ['dir/**', 'dir/dir2/file/', true],
    ['**/dir', 'dir', true],
    ['**/dir', 'dir/file', true],
    ['**/dir2/*', 'dir/dir2/file', true],
    ['**/dir2/*', 'dir/dir2/file/', true],
    ['**/dir2/**', 'dir/dir2/dir3/file', true],
    ['**/dir2/**', 'dir/dir2/dir3/file/', true],
    ['**file', 'file', true],
    ['**file', 'dir/file', true],
    ['**/file', 'dir/file', true],
    ['**file', 'dir/dir/file', true],
    ['**/file', 'dir/dir/file', true],
    ['**/file*', 'dir/dir/file', true],
    ['**/file*', 'dir/dir/file.txt', true],
    ['**/file*txt', 'dir/dir/file.txt', true],
    ['**/file*.txt', 'dir/dir/file.txt', true],
    ['**/file*.txt*', 'dir/dir/file.txt', true],
    ['**/**/*.txt', 'dir/dir/file.txt', true],
    ['**/**/*.txt2', 'dir/dir/file.txt', false],
    ['**/*.txt', 'file.txt', true],
    ['**/**/*.txt', 'file.txt', true],
    ['a**/*.txt', 'a/file.txt', true],
    ['a**/*.txt', 'a/dir/file.txt', true],
    ['a**/*.txt', 'a/dir/dir/file.txt', true],
    ['a/*.txt', 'a/dir/file.txt', false],
    ['a/*.txt', 'a/file.txt', true],
    ['a/*.txt**', 'a/file.txt', true],
    ['a[b-d]e', 'ae', false],
    ['a[b-d]e', 'ace', true],
    ['a[b-d]e', 'aae', false],
    ['a[^b-d]e', 'aze', true],
    ['.*', '.foo', true],
    ['.*', 'foo', false],
    ['abc.def', 'abcdef', false],
    ['abc.def', 'abc.def', true],
    ['abc.def', 'abcZdef', false],
    ['abc?def', 'abcZdef', true],
    ['abc?def', 'abcdef', false],
    ['**/foo/bar', 'foo/bar', true],
    ['**/foo/bar', 'dir/foo/bar', true],
    ['**/foo/bar', 'dir/dir2/foo/bar', true],
    ['abc/**', 'abc', false],
    ['abc/**', 'abc/def', true],
    ['abc/**', 'abc/def/ghi', true],
    ['**/.foo', '.foo', true],
    ['**/.foo', 'bar.foo', false],
    ['a(b)c/def', 'a(b)c/def', true],
    ['a(b)c/def', 'a(b)c/xyz', false],
    ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
    ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
    ['a\\\\', 'a\\', true],
    ['a\\*b', 'a*b', true],
  ];
  it.each(cases)('%s against %s: %s', (pattern, path, want) => {
    expect(left([pattern], path)).toBe(want);
  });

  it('several patterns: the last that matches decides; "!" takes a path back', () => {
    expect(left(['**', '!util/docker/web'], 'util/docker/web/foo')).toBe(false);
    expect(left(['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo')).toBe(true);
    expect(left(['**', '!dist/*.whl'], 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl')).toBe(false);
    expect(left(['docs', '!docs/README.md'], 'docs/README.md')).toBe(false);
    expect(left(['docs/', '!docs/README.md'], 'docs/README.md')).toBe(false);
    expect(left(['docs/*', '!docs/README.md'], 'docs/README.md')).toBe(false);
    expect(left(['*.go', '!fileutils.go'], 'fileutils.go')).toBe(false);
    expect(left(['!fileutils.go', '*.go'], 'fileutils.go')).toBe(true);
    expect(left([], 'any/path/there')).toBe(false);
  });
});

describe(".dockerignore: Go's filepath.Match on its own table (one path component)", () => {
  const cases: [string, string, boolean][] = [
    ['abc', 'abc', true],
    ['*', 'abc', true],
    ['*c', 'abc', true],
    ['a*', 'a', true],
    ['a*', 'abc', true],
    ['a*', 'ab/c', true], // through its parent "ab"
    ['a*/b', 'abc/b', true],
    ['a*/b', 'a/c/b', false],
    ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
    ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
    ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
    ['a*b?c*x', 'abxbbxdbxebxczzx', true],
    ['a*b?c*x', 'abxbbxdbxebxczzy', false],
    ['ab[c]', 'abc', true],
    ['ab[b-d]', 'abc', true],
    ['ab[e-g]', 'abc', false],
    ['ab[^c]', 'abc', false],
    ['ab[^b-d]', 'abc', false],
    ['ab[^e-g]', 'abc', true],
    ['a\\*b', 'ab', false],
    ['a?b', 'a☺b', true],
    ['a[^a]b', 'a☺b', true],
    ['a???b', 'a☺b', false],
    ['[a-ζ]*', 'α', true],
    ['*[a-ζ]', 'A', false],
    ['a?b', 'a/b', false],
    ['a*b', 'a/b', false],
    ['[\\]a]', ']', true],
    ['[\\-]', '-', true],
    ['[x\\-]', 'x', true],
    ['[x\\-]', '-', true],
    ['[x\\-]', 'z', false],
    ['[\\-x]', 'x', true],
    ['[\\-x]', '-', true],
    ['[\\-x]', 'a', false],
    ['*x', 'xxx', true],
  ];
  it.each(cases)('%s against %s: %s', (pattern, path, want) => {
    expect(left([pattern], path)).toBe(want);
  });

  it.each(['[]a]', '[-]', '[x-]', '[-x]', '\\', '[a-b-c]', '[', '[^', '[^bc', 'a['])(
    '%s is a syntax error in pattern (ErrBadPattern)',
    (pattern) => {
      expect(() => checkGlob(pattern)).toThrow('syntax error in pattern');
      expect(() => compilePatterns([pattern])).toThrow('syntax error in pattern');
    },
  );

  it('"!" alone is an error; blank patterns are dropped', () => {
    expect(() => compilePatterns(['!'])).toThrow('illegal exclusion pattern: "!"');
    expect(compilePatterns(['docs', 'config', '', '  !docs/README.md  ']).map((p) => [p.text, p.exclusion])).toEqual([
      ['docs', false],
      ['config', false],
      ['docs/README.md', true],
    ]);
  });
});

describe('.dockerignore: what the walk sends (archive.TarWithOptions, TrimBuildFilesFromExcludes)', () => {
  it('an excluded directory is skipped whole, unless a "!" pattern starts with its path', () => {
    const p = compilePatterns(['docs', '!docs/keep.md', 'logs', '!**/*.md']);
    expect(walkDecision(p, 'docs', true)).toBe('enter'); // "!docs/keep.md" starts with "docs/"
    expect(walkDecision(p, 'docs/keep.md', false)).toBe('send');
    expect(walkDecision(p, 'docs/other.txt', false)).toBe('skip');
    // "!**/*.md" would match logs/a.md, but it does not start with "logs/": the directory goes whole.
    expect(walkDecision(p, 'logs', true)).toBe('skip');
    expect(walkDecision(p, 'src', true)).toBe('send');
    expect(walkDecision(compilePatterns(['logs']), 'logs', true)).toBe('skip');
    expect(walkDecision(compilePatterns(['*.log']), 'a.log', false)).toBe('skip');
  });

  it('.dockerignore and the Dockerfile are sent even when listed', () => {
    expect(keepBuildFiles(['*'], 'Dockerfile')).toEqual(['*', '!.dockerignore', '!Dockerfile']);
    expect(keepBuildFiles(['build'], 'build/app.Dockerfile')).toEqual(['build', '!build/app.Dockerfile']);
    expect(keepBuildFiles(['*.log'], 'Dockerfile')).toEqual(['*.log']);
    const p = compilePatterns(keepBuildFiles(['*'], 'Dockerfile'));
    expect(['Dockerfile', '.dockerignore', 'src'].map((f) => excluded(p, f))).toEqual([false, false, true]);
  });
});
