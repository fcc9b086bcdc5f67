// Renders runtime events for a person: step headers, the syscall and shell equivalent, and the
// evidence as host view beside container view, with what the step changed marked. 80 columns.
import { Chalk, type ChalkInstance } from 'chalk';
import type { RuntimeEvent, StepSummary } from '../runtime/events.js';
import type { Evidence, NamespaceKind } from '../runtime/observe.js';

export const WIDTH = 80;

export function makeChalk(stream: NodeJS.WriteStream | undefined = process.stderr): ChalkInstance {
  const color = !process.env.NO_COLOR && !!stream?.isTTY && process.env.TERM !== 'dumb';
  return new Chalk({ level: color ? 1 : 0 });
}

/** Words wrapped to the width, each line indented. */
export function wrap(text: string, indent = 2, width = WIDTH): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > width) {
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

export function stepHeader(index: number, total: number, s: StepSummary, c: ChalkInstance): string[] {
  const lines = [c.bold(`[${index + 1}/${total}] ${s.title}`)];
  for (const call of s.syscalls) lines.push(...wrap(`syscall: ${call}`, 2).map((l) => c.cyan(l)));
  if (s.shell) lines.push(...wrap(`by hand: ${s.shell}`, 2).map((l) => c.dim(l)));
  lines.push(...wrap(`${s.why} See ${s.manPage}.`, 2));
  for (const n of s.notes) lines.push(...wrap(`note: ${n}`, 2).map((l) => c.yellow(l)));
  return lines;
}

const NS_ORDER: NamespaceKind[] = ['user', 'uts', 'ipc', 'net', 'mnt', 'cgroup', 'time', 'pid', 'pid_for_children'];

/** The rows of the evidence table: label, host view, container view, changed keys it depends on. */
export function evidenceRows(e: Evidence): [string, string, string, string[]][] {
  const p = e.process;
  const rows: [string, string, string, string[]][] = [];
  const insidePid = e.inside?.pid ?? p.nsPids[p.nsPids.length - 1];
  rows.push(['PID', String(p.pid), String(insidePid ?? '?'), ['nsPids', 'inside.pid']]);
  if (e.inside) {
    rows.push(['hostname', e.host.hostname, e.inside.hostname, ['inside.hostname']]);
    rows.push(['uid', String(p.uid[0] ?? '?'), String(e.inside.uid), ['uid', 'inside.uid']]);
  } else rows.push(['uid', String(p.uid[0] ?? '?'), '', ['uid']]);
  if (p.uidMap && p.uidMap !== '0 0 4294967295') rows.push(['uid_map', '', p.uidMap, ['uidMap']]);
  for (const k of NS_ORDER) {
    const mine = p.ns[k];
    if (!mine) continue;
    const host = e.host.ns[k] ?? '';
    const label = k === 'pid_for_children' ? 'ns pid kids' : `ns ${k}`;
    rows.push([
      label,
      host.replace(/^.*:/, ''),
      mine === host ? '(same as host)' : mine.replace(/^.*:/, '') + ' new',
      [`ns.${k}`],
    ]);
  }
  if (e.inside) rows.push(['network', '', e.inside.links.join(' '), ['inside.links']]);
  const ns =
    p.namespaceMounts !== undefined && p.namespaceMounts !== p.mounts.length
      ? ` (${p.namespaceMounts} in its namespace)`
      : '';
  rows.push(['mounts', '', `${p.mounts.length} reachable${ns}`, ['mounts']]);
  rows.push(['root', '', p.root, ['root']]);
  if (e.inside) rows.push(['cwd', '', e.inside.cwd, ['inside.cwd']]);
  const caps = (set: string[]) =>
    set.length === 41 ? 'all' : `${set.length}: ${set.map((x) => x.replace('CAP_', '').toLowerCase()).join(',')}`;
  rows.push(['CapEff', '', caps(p.capEff), ['capEff']]);
  // The bounding set only where it says something the effective set does not (capabilities(7)).
  if (p.capBnd.join() !== p.capEff.join()) rows.push(['CapBnd', '', caps(p.capBnd), ['capBnd']]);
  rows.push(['NoNewPrivs', '', String(p.noNewPrivs ? 1 : 0), ['noNewPrivs']]);
  rows.push(['Seccomp', '', ['0 (off)', '1 (strict)', '2 (filter)'][p.seccomp] ?? String(p.seccomp), ['seccomp']]);
  const cg =
    p.cgroups.find((l) => l.includes('nsx/')) ?? p.cgroups.find((l) => l.startsWith('0::')) ?? p.cgroups[0] ?? '';
  rows.push(['cgroup', '', cg.split(':').slice(2).join(':'), ['cgroups']]);
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

export function evidenceTable(e: Evidence, changed: string[], c: ChalkInstance): string[] {
  const lines = [c.dim(`  ${'fact'.padEnd(12)} ${'host view'.padEnd(24)} container view`)];
  const width = WIDTH - 40;
  for (const [label, host, inside, keys] of evidenceRows(e)) {
    const hit = keys.some((k) => changed.includes(k));
    const mark = hit ? c.green('*') : ' ';
    const [first, ...more] = hit ? splitValue(inside, width) : [clip(inside, width)];
    const text = ` ${mark}${label.padEnd(12)} ${clip(host, 24).padEnd(24)} ${first}`;
    lines.push(hit ? c.bold(text) : text);
    for (const m of more) lines.push(c.bold(`${' '.repeat(39)} ${m}`));
  }
  if (changed.length) lines.push(c.dim('  * changed by this step'));
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
        c.red(`  failed: ${e.error.message}`),
        ...(e.error.hint ? wrap(e.error.hint, 4).map((l) => c.yellow(l)) : []),
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
