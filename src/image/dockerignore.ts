// .dockerignore, as docker's CLI reads and applies it to the build context it sends (docs:
// docs.docker.com/build/concepts/context/#dockerignore-files). The same rules as its code, step by step:
//   - the file:      moby/patternmatcher/ignorefile ReadAll (readIgnoreFile)
//   - the patterns:  moby/patternmatcher New, Pattern.compile and Pattern.match (compilePattern), each
//                    first checked as Go's filepath.Match checks a pattern (checkGlob)
//   - a path:        PatternMatcher.MatchesOrParentMatches (excluded): the last pattern that matches
//                    the path or one of its parent directories decides; "!" patterns take it back
//   - the walk:      moby's archive.TarWithOptions (walkContext): an excluded directory is left out
//                    whole unless a "!" pattern starts with it, then only its entry is
//   - kept anyway:   docker/cli's TrimBuildFilesFromExcludes (keepBuildFiles): .dockerignore and the
//                    Dockerfile are sent even when listed (the daemon takes them out again).
// Pure: strings in, strings out; the CLI's walk reads the directory (src/cli/build/handlers.ts).
import { NsxError } from '../runtime/errors.js';

/** Go's path.Clean for a slash-separated path: no "." or empty parts, ".." resolved, no trailing
 *  slash; "" is ".". */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
    } else out.push(part);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

/** The patterns of a .dockerignore file's text (ignorefile.ReadAll): a UTF-8 BOM dropped, lines that
 *  start with "#" skipped (before any trimming), each line trimmed, blank ones skipped; "!" kept in
 *  front, the rest cleaned with one leading "/" dropped ("/a" is "a": the context is the root). */
export function readIgnoreFile(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines[lines.length - 1] === '') lines.pop(); // a last newline ends the last line
  const patterns: string[] = [];
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern[0] === '!';
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern[0] === '/') pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}

/** filepath.ErrBadPattern's words. */
const BAD_PATTERN = 'syntax error in pattern';

/** Throws as Go's filepath.Match(pattern, ".") does on a malformed pattern: a "\" at the end, a "["
 *  without its "]", an empty class "[]", a range bound that is "-" or "]" or missing. */
export function checkGlob(pattern: string): void {
  const bad = () => new NsxError(`${BAD_PATTERN}: ${pattern}`, { exitCode: 1 });
  const chars = [...pattern];
  let i = 0;
  /** One class character (getEsc): "\x" is x; "-", "]" or nothing is an error. */
  const esc = () => {
    if (i >= chars.length || chars[i] === '-' || chars[i] === ']') throw bad();
    if (chars[i] === '\\' && ++i >= chars.length) throw bad();
    i++;
  };
  while (i < chars.length) {
    const c = chars[i];
    if (c === '\\') {
      if (i + 1 >= chars.length) throw bad();
      i += 2;
    } else if (c === '[') {
      i++;
      if (chars[i] === '^') i++;
      for (let ranges = 0; ; ranges++) {
        if (chars[i] === ']' && ranges > 0) {
          i++;
          break;
        }
        esc();
        if (chars[i] === '-') {
          i++;
          esc();
        }
      }
    } else i++;
  }
}

/** One compiled pattern (patternmatcher's Pattern). */
export interface Pattern {
  /** The pattern, cleaned, without its "!". */
  text: string;
  /** A "!" pattern: what it matches is sent after all. */
  exclusion: boolean;
  match(path: string): boolean;
}

/** Pattern.compile: "*" is any run of characters but "/", "?" one character but "/", "**" any run
 *  of whole directories (none too; "**\/" is "**"), "[...]" a class, "\x" the character x, the rest
 *  itself. Go's regexp "." (any character but a newline) is written [^\n] here. A pattern without
 *  wildcards is compared as it is, one that only ends in "**" by prefix, one that only starts with it
 *  by suffix (as compile's detected types do). */
function compilePattern(text: string, exclusion: boolean): Pattern {
  let re = '^';
  let type: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  const chars = [...text];
  for (let i = 0, k = 0; k < chars.length; i++) {
    const ch = chars[k++];
    if (ch === '*') {
      if (chars[k] === '*') {
        k++;
        if (chars[k] === '/') k++;
        if (k >= chars.length) {
          if (type === 'exact') type = 'prefix';
          else {
            re += '[^\\n]*';
            type = 'regexp';
          }
        } else {
          re += '([^\\n]*/)?';
          type = 'regexp';
        }
        if (i === 0) type = 'suffix';
      } else {
        re += '[^/]*';
        type = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      type = 'regexp';
    } else if ('.+()|{}$'.includes(ch)) re += `\\${ch}`;
    else if (ch === '\\') {
      if (k < chars.length) {
        re += `\\${chars[k++]}`;
        type = 'regexp';
      } else re += '\\\\';
    } else if (ch === '[' || ch === ']') {
      re += ch;
      type = 'regexp';
    } else re += ch;
  }
  let regexp: RegExp | undefined;
  if (type === 'regexp') {
    try {
      regexp = new RegExp(`${re}$`);
    } catch {
      throw new NsxError(`${BAD_PATTERN}: ${text}`, { exitCode: 1 });
    }
  }
  const match = (path: string): boolean => {
    switch (type) {
      case 'exact':
        return path === text;
      case 'prefix':
        return path.startsWith(text.slice(0, -2));
      case 'suffix': {
        const suffix = text.slice(2);
        return path.endsWith(suffix) || (suffix[0] === '/' && path === suffix.slice(1));
      }
      case 'regexp':
        return regexp!.test(path);
    }
  };
  return { text, exclusion, match };
}

/** patternmatcher.New: each pattern trimmed and cleaned, blank ones skipped; "!" alone is an error. */
export function compilePatterns(patterns: string[]): Pattern[] {
  const out: Pattern[] = [];
  for (const raw of patterns) {
    let p = raw.trim();
    if (p === '') continue;
    p = cleanPath(p);
    const exclusion = p[0] === '!';
    if (exclusion) {
      if (p.length === 1) throw new NsxError('illegal exclusion pattern: "!"', { exitCode: 1 });
      p = p.slice(1);
    }
    checkGlob(p);
    out.push(compilePattern(p, exclusion));
  }
  return out;
}

/** PatternMatcher.MatchesOrParentMatches: whether the context path (slash-separated, relative, as
 *  the walk gives it) is left out. Each pattern in turn, skipping those that cannot change the answer
 *  so far, matches the path or one of its parent directories (filepath.Dir's, from the top); the
 *  last that matches decides, a "!" one for sending it. */
export function excluded(patterns: Pattern[], file: string): boolean {
  const parent = cleanPath(file.slice(0, file.lastIndexOf('/') + 1)); // filepath.Dir
  const parents = parent === '.' ? [] : parent.split('/');
  let matched = false;
  for (const p of patterns) {
    if (p.exclusion !== matched) continue;
    let match = p.match(file);
    for (let i = 0; !match && i < parents.length; i++) match = p.match(parents.slice(0, i + 1).join('/'));
    if (match) matched = !p.exclusion;
  }
  return matched;
}

/** TrimBuildFilesFromExcludes: "!.dockerignore" and "!DOCKERFILE" added when the patterns leave them
 *  out, so that the daemon still gets them. */
export function keepBuildFiles(patterns: string[], dockerfile: string): string[] {
  const compiled = compilePatterns(patterns);
  const out = [...patterns];
  if (excluded(compiled, '.dockerignore')) out.push('!.dockerignore');
  if (excluded(compiled, dockerfile)) out.push(`!${dockerfile}`);
  return out;
}

/** What the walk does at one entry (archive.TarWithOptions): 'send' it; 'skip' it (a file, or a
 *  directory and all below it); 'enter' a left-out directory without sending its own entry, because
 *  a "!" pattern starts with its path (a plain prefix test of the pattern's text, as moby's). */
export function walkDecision(patterns: Pattern[], path: string, isDir: boolean): 'send' | 'skip' | 'enter' {
  if (!excluded(patterns, path)) return 'send';
  if (!isDir) return 'skip';
  const dirSlash = `${path}/`;
  return patterns.some((p) => p.exclusion && `${p.text}/`.startsWith(dirSlash)) ? 'enter' : 'skip';
}
