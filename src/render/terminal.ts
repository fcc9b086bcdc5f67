// Renders runtime events for a person: step headers, the syscall and shell equivalent, and the
// evidence as host view beside container view, with what the step changed marked. As wide as the
// terminal (screenWidth); prose no wider than PROSE_MAX.
import { Chalk, type ChalkInstance } from 'chalk';
import type { RuntimeEvent, StepSummary } from '../runtime/events.js';
import type { Evidence, NamespaceKind } from '../runtime/observe.js';

/** The width when there is no terminal to ask and no $COLUMNS (transcripts, pipes). */
export const WIDTH = 80;
/** Prose lines stop here on wide terminals: long lines are hard to follow back to their start. */
export const PROSE_MAX = 100;

/** The terminal's columns (stdout's, then stderr's), else $COLUMNS (as a shell exports it, and as
 *  tests set it), else 80; never below 40. */
export function screenWidth(): number {
  const tty = [process.stdout, process.stderr].find((s) => s?.isTTY && s.columns);
  const cols = tty?.columns || Number(process.env.COLUMNS) || WIDTH;
  return Math.max(40, cols);
}

/** The width prose is wrapped to: the screen's, at most PROSE_MAX. */
export function proseWidth(): number {
  return Math.min(screenWidth(), PROSE_MAX);
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Columns a string takes on the screen (colour codes take none). */
export function visibleLength(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

/** A message's inline markdown as the screen shows it: `code`, **strong** and *em* lose their markers
 *  (and get a colour or weight when c has colour). Each word of a code span is styled on its own so
 *  that wrap() can break between them. */
export function inlineMarkdown(text: string, c?: ChalkInstance): string {
  const each = (s: string, f: (w: string) => string) =>
    s
      .split(' ')
      .map((w) => (w ? f(w) : w))
      .join(' ');
  const code = (s: string) => (c ? each(s, (w) => c.cyan(w)) : s);
  const strong = (s: string) => (c ? each(s, (w) => c.bold(w)) : s);
  const em = (s: string) => (c ? each(s, (w) => c.italic(w)) : s);
  return text
    .replace(/`([^`]+)`/g, (_, s: string) => code(s))
    .replace(/\*\*([^*]+)\*\*/g, (_, s: string) => strong(s))
    .replace(/(^|[\s(])\*([^*\s][^*]*?)\*(?=$|[\s.,;:)])/g, (_, pre: string, s: string) => pre + em(s));
}
export function makeChalk(stream: NodeJS.WriteStream | undefined = process.stderr): ChalkInstance {
  const color = !process.env.NO_COLOR && !!stream?.isTTY && process.env.TERM !== 'dumb';
  return new Chalk({ level: color ? 1 : 0 });
}

/** Words wrapped to the width (the prose width unless given), each line indented; never broken
 *  inside a word. A lone opening bracket stays with the word after it, a lone closing one with the
 *  word before it, so no line starts or ends with one. */
export function wrap(text: string, indent = 2, width = proseWidth()): string[] {
  const out: string[] = [];
  let line = '';
  const words: string[] = [];
  for (const w of text.split(/\s+/).filter(Boolean)) {
    const prev = words.length - 1;
    if (prev >= 0 && /^[([{]$/.test(words[prev].replace(ANSI, ''))) words[prev] += ` ${w}`;
    else if (prev >= 0 && /^[)\]}][.,;:]?$/.test(w.replace(ANSI, ''))) words[prev] += ` ${w}`;
    else words.push(w);
  }
  for (const word of words) {
    if (line && indent + visibleLength(line) + 1 + visibleLength(word) > width) {
      out.push(' '.repeat(indent) + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(' '.repeat(indent) + line);
  return out;
}

export function clip(s: string, n: number): string {
  return s.length <= n ? s : s.slice(0, n - 1) + '…';
}

/** A long name (a path, an image's rootfs) shortened from the left, where paths say least:
 *  …/images/alpine/rootfs. */
export function clipLeft(s: string, n: number): string {
  return s.length <= n ? s : '…' + s.slice(s.length - n + 1);
}

/** Prose from an event (a hint, a notice, a check's verdict): inline markdown, wrapped. */
export function prose(text: string, indent: number, c?: ChalkInstance, width = proseWidth()): string[] {
  return wrap(inlineMarkdown(text, c), indent, width);
}

export function stepHeader(index: number, total: number, s: StepSummary, c: ChalkInstance): string[] {
  const lines = [c.bold(`[${index + 1}/${total}] ${s.title}`)];
  for (const call of s.syscalls) lines.push(...wrap(`syscall: ${call}`, 2).map((l) => c.cyan(l)));
  if (s.shell) lines.push(...wrap(`by hand: ${s.shell}`, 2).map((l) => c.dim(l)));
  lines.push(...prose(`${s.why} See ${s.manPage}.`, 2, c));
  for (const n of s.notes) lines.push(...prose(`note: ${n}`, 2).map((l) => c.yellow(l)));
  return lines;
}

const NS_ORDER: NamespaceKind[] = ['user', 'uts', 'ipc', 'net', 'mnt', 'cgroup', 'time', 'pid', 'pid_for_children'];

/** A cgroup line of /proc/PID/cgroup (cgroups(7): "hierarchy-ID:controllers:path") as a path a
 *  learner can paste: v2's under /sys/fs/cgroup, v1's under its controllers' directory. */
export function cgroupPath(line: string): string {
  const [, controllers = '', ...rest] = line.split(':');
  const path = rest.join(':');
  if (!line) return '';
  const dir = controllers === '' ? '' : `/${controllers.replace(/^name=/, '')}`;
  return `/sys/fs/cgroup${dir}${path === '/' ? '' : path}`;
}

/** One row of the evidence table: host view, container view, the changed keys it depends on, and
 *  whether it is shown in the short table whatever changed. */
export interface EvidenceRow {
  label: string;
  host: string;
  inside: string;
  keys: string[];
  key?: boolean;
}

/** The rows of the evidence table. The host column is nsx's own view where the host has one. */
export function evidenceRows(e: Evidence): EvidenceRow[] {
  const p = e.process;
  const h = e.host;
  const rows: EvidenceRow[] = [];
  const row = (label: string, host: string, inside: string, keys: string[], key = false) =>
    rows.push({ label, host, inside, keys, key });
  const insidePid = e.inside?.pid ?? p.nsPids[p.nsPids.length - 1];
  row('PID', String(p.pid), String(insidePid ?? '?'), ['nsPids', 'inside.pid'], true);
  if (e.inside) {
    row('hostname', h.hostname, e.inside.hostname, ['inside.hostname'], true);
    row('uid', String(p.uid[0] ?? '?'), String(e.inside.uid), ['uid', 'inside.uid']);
  } else row('uid', String(p.uid[0] ?? '?'), '', ['uid']);
  if (p.uidMap && p.uidMap !== '0 0 4294967295') row('uid_map', '0 0 4294967295', p.uidMap, ['uidMap']);
  for (const k of NS_ORDER) {
    const mine = p.ns[k];
    if (!mine) continue;
    const host = h.ns[k] ?? '';
    const label = k === 'pid_for_children' ? 'ns pid kids' : `ns ${k}`;
    const same = mine === host;
    // A namespace of its own is a key fact of every step after the one that made it.
    row(
      label,
      host.replace(/^.*:/, ''),
      same ? '(same as host)' : mine.replace(/^.*:/, '') + ' new',
      [`ns.${k}`],
      !same,
    );
  }
  if (e.inside) row('network', (h.links ?? []).join(' '), e.inside.links.join(' '), ['inside.links']);
  // proc(5): /proc/PID/mountinfo lists only the mount points under the process's root; after a chroot
  // its namespace holds more (counted by entering it).
  const ns =
    p.namespaceMounts !== undefined && p.namespaceMounts !== p.mounts.length
      ? ` (+${p.namespaceMounts - p.mounts.length} outside its root)`
      : '';
  row('mount points', h.mounts === undefined ? '' : String(h.mounts), `${p.mounts.length}${ns}`, ['mounts']);
  row('root', h.root ?? '', p.root.replace(/ \(overlay\)$/, ''), ['root']);
  if (e.inside) row('cwd', h.cwd ?? '', e.inside.cwd, ['inside.cwd']);
  const caps = (set: string[]) =>
    set.length === 41 ? 'all' : `${set.length}: ${set.map((x) => x.replace('CAP_', '').toLowerCase()).join(',')}`;
  row('CapEff', h.capEff ? caps(h.capEff) : '', caps(p.capEff), ['capEff']);
  // The bounding set only where it says something the effective set does not (capabilities(7)).
  if (p.capBnd.join() !== p.capEff.join()) row('CapBnd', h.capBnd ? caps(h.capBnd) : '', caps(p.capBnd), ['capBnd']);
  row('NoNewPrivs', h.noNewPrivs === undefined ? '' : String(h.noNewPrivs ? 1 : 0), String(p.noNewPrivs ? 1 : 0), [
    'noNewPrivs',
  ]);
  const seccomp = (n: number) => ['0 (off)', '1 (strict)', '2 (filter)'][n] ?? String(n);
  row('Seccomp', h.seccomp === undefined ? '' : seccomp(h.seccomp), seccomp(p.seccomp), ['seccomp']);
  const cgroupLine = (lines: string[]) =>
    lines.find((l) => l.includes('nsx/')) ?? lines.find((l) => l.startsWith('0::')) ?? lines[0] ?? '';
  const mine = cgroupLine(p.cgroups);
  // The host's line of the same hierarchy as the container's (v1: the same controllers).
  const hierarchy = mine.split(':').slice(0, 2).join(':') + ':';
  const hostLine = (h.cgroups ?? []).find((l) => l.startsWith(hierarchy)) ?? '';
  row('cgroup', cgroupPath(hostLine), cgroupPath(mine), ['cgroups']);
  return rows;
}

/** A value split over lines of at most width, after commas or spaces (a changed list is shown whole);
 *  a piece longer than a line is clipped. */
export function splitValue(value: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const piece of value.match(/[^, ]+[, ]?|[, ]/g) ?? []) {
    if (line && (line + piece).trimEnd().length > width) {
      out.push(line.trimEnd());
      line = '';
    }
    line += piece;
  }
  if (line || !out.length) out.push(line.trimEnd());
  return out.map((l) => clip(l, width));
}

export interface TableOptions {
  /** The screen's columns (screenWidth() unless given). */
  width?: number;
  /** Only the rows this step changed and the key rows, and a line saying how many are left out and
   *  how to see them (`more`). */
  short?: boolean;
  /** What to say about the rows left out, e.g. "press t". */
  more?: string;
}

/** The evidence as a table: fact, host view, container view; the rows the step changed marked * and
 *  shown whole, other values clipped (paths from the left, where they say least). */
export function evidenceTable(e: Evidence, changed: string[], c: ChalkInstance, o: TableOptions = {}): string[] {
  const width = o.width ?? screenWidth();
  // " *" + label 12 + " " = 15 columns, then the host column, a space, the container column.
  const hostWidth = Math.min(40, Math.max(16, Math.floor((width - 16) * 0.375)));
  const insideAt = 16 + hostWidth;
  const insideWidth = width - insideAt;
  const lines = [c.dim(`  ${'fact'.padEnd(12)} ${'host view'.padEnd(hostWidth)} container view`)];
  const all = evidenceRows(e);
  const rows = o.short ? all.filter((r) => r.key || r.keys.some((k) => changed.includes(k))) : all;
  const cut = (v: string, n: number) => (v.startsWith('/') ? clipLeft(v, n) : clip(v, n));
  for (const { label, host, inside, keys } of rows) {
    const hit = keys.some((k) => changed.includes(k));
    const mark = hit ? c.green('*') : ' ';
    // A changed path too long for its column goes whole on the line below, where it can be copied.
    const wholePath = hit && inside.startsWith('/') && inside.length > insideWidth && inside.length <= width - 4;
    const [first, ...more] = wholePath
      ? ['(below)', `\0${inside}`]
      : hit
        ? splitValue(inside, insideWidth)
        : [cut(inside, insideWidth)];
    const text = ` ${mark}${label.padEnd(12)} ${cut(host, hostWidth).padEnd(hostWidth)} ${first}`;
    lines.push(hit ? c.bold(text) : text);
    for (const m of more)
      lines.push(c.bold(m.startsWith('\0') ? `    ${m.slice(1)}` : `${' '.repeat(insideAt - 1)} ${m}`));
  }
  const left = all.length - rows.length;
  const notes = [
    ...(changed.length ? ['* changed by this step'] : []),
    ...(left ? [`${left} more row${left === 1 ? '' : 's'}${o.more ? `: ${o.more}` : ''}`] : []),
  ];
  if (notes.length) lines.push(...wrap(notes.join('; '), 2, width).map((l) => c.dim(l)));
  return lines;
}

/** "cgroup nsx/6fdae1985265… (memory, pids, cpu), veth nsxh6fdae198" from the removed paths. */
export function summarizeRemoved(removed: string[]): string {
  const hierarchies: string[] = [];
  let id = '';
  const other: string[] = [];
  for (const r of removed) {
    const m = /^(.*)\/nsx\/([^/]+)$/.exec(r);
    if (m) {
      hierarchies.push(m[1].split('/').pop() || m[1]);
      id = m[2];
    } else other.push(r);
  }
  const cg = hierarchies.length
    ? [`cgroup nsx/${id.slice(0, 12)}${id.length > 12 ? '…' : ''} (${hierarchies.join(', ')})`]
    : [];
  return [...cg, ...other].join(', ');
}

/** A plain renderer for --trace and transcripts: one block per event. */
export function renderEvent(e: RuntimeEvent, total: number, c: ChalkInstance): string[] {
  switch (e.type) {
    case 'created':
      return [
        c.bold(`container ${e.id.slice(0, 12)}${e.name ? ` (${e.name})` : ''}: ${e.command.join(' ')}`),
        `  root filesystem: ${e.rootfs}`,
        '',
      ];
    case 'step-started':
      return stepHeader(e.index, total, e.step, c);
    case 'step-skipped':
      return [c.dim(`[${e.index + 1}/${total}] ${e.step.title}: skipped (${e.reason})`)];
    case 'step-applied':
      return e.evidence ? [...evidenceTable(e.evidence, e.changed, c), ''] : [];
    case 'step-failed':
      return [
        ...prose(`failed: ${e.error.message}`, 2).map((l) => c.red(l)),
        ...(e.error.hint ? prose(e.error.hint, 4).map((l) => c.yellow(l)) : []),
        '',
      ];
    case 'started':
      return [c.dim(`the command runs as PID ${e.pid} on the host, PID 1 inside`), ''];
    case 'exited':
      return [
        c.dim(
          `exited: ${e.signal ? `killed by ${e.signal}` : `code ${e.code}`}${e.oomKilled ? ' (OOM kill)' : ''} → status ${e.exitCode}`,
        ),
      ];
    case 'cleaned-up':
      return e.removed.length ? wrap(`cleaned up: ${summarizeRemoved(e.removed)}`, 0).map((l) => c.dim(l)) : [];
  }
}
