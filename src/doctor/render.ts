// The doctor's table for a person: one row per check within 80 columns, the fix under each
// warning or failure, and a closing verdict.
import type { ChalkInstance } from 'chalk';
import type { Check } from './types.js';

export const WIDTH = 80;
const MARK: Record<Check['status'], string> = { ok: '✓', warn: '!', fail: '✗' };
const TITLE_MAX = 20;

/** Words wrapped to `width` columns; a word longer than a line (a long path) is cut. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter(Boolean)) {
    while (word.length > width) {
      if (line) lines.push(line);
      lines.push(word.slice(0, width));
      word = word.slice(width);
      line = '';
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += ' ' + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

function colorOf(c: ChalkInstance, status: Check['status']): (s: string) => string {
  return status === 'ok' ? c.green : status === 'warn' ? c.yellow : c.red;
}

function row(check: Check, titleWidth: number, c: ChalkInstance): string[] {
  const indent = 2 + titleWidth + 2;
  const detail = wrapText(check.detail, WIDTH - indent);
  const title =
    check.title.length > titleWidth ? check.title.slice(0, titleWidth - 1) + '…' : check.title.padEnd(titleWidth);
  const lines = [`${colorOf(c, check.status)(MARK[check.status])} ${c.bold(title)}  ${detail[0]}`];
  for (const more of detail.slice(1)) lines.push(' '.repeat(indent) + more);
  if (check.status !== 'ok' && check.fix) {
    const fix = wrapText(check.fix, WIDTH - 9);
    lines.push(c.cyan(`    fix: ${fix[0]}`), ...fix.slice(1).map((l) => c.cyan(' '.repeat(9) + l)));
  }
  return lines;
}

function verdict(checks: Check[], c: ChalkInstance): string[] {
  const blocking = checks.filter((k) => k.critical && k.status === 'fail');
  const warnings = checks.filter((k) => k.status !== 'ok' && !(k.critical && k.status === 'fail'));
  const warned = warnings.length
    ? `; ${warnings.length} warning${warnings.length === 1 ? '' : 's'} (some options or lessons will not work)`
    : '';
  if (blocking.length === 0)
    return wrapText(`Ready: nsx can run containers here${warned}.`, WIDTH).map((l) => c.green(l));
  const names = blocking.map((k) => k.title).join(', ');
  return wrapText(`Not ready: nsx cannot run containers until these are fixed: ${names}${warned}.`, WIDTH).map((l) =>
    c.red(l),
  );
}

/** The whole report, one string per line, each at most 80 columns (ANSI codes aside). */
export function renderTable(checks: Check[], c: ChalkInstance): string[] {
  const titleWidth = Math.min(TITLE_MAX, Math.max(...checks.map((k) => k.title.length), 0));
  return [
    c.bold('nsx doctor: can this machine run containers?'),
    '',
    ...checks.flatMap((k) => row(k, titleWidth, c)),
    '',
    ...verdict(checks, c),
  ];
}
