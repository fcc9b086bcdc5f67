// What the engine verbs print, docker's shapes: the ps table, its COMMAND and CREATED cells.
import { humanDuration } from '../../engine/humanize.js';

/** A row of GET /containers/json (the fields ps shows). */
export interface PsRow {
  Id: string;
  Names: string[];
  Image: string;
  Command: string;
  Created: number;
  Status: string;
  Ports: unknown[];
}

/** docker's Ellipsis: at most n characters, the last one "…" when cut. */
export function ellipsis(s: string, n: number): string {
  return [...s].length > n ? [...s].slice(0, n - 1).join('') + '…' : s;
}

/** docker ps's table (Go's tabwriter with minwidth 10, padding 3): each column as wide as its widest
 *  cell plus three spaces, and at least ten (docker top: twenty). */
export function table(header: string[], rows: string[][], minWidth = 10): string {
  const widths = header.map((h, i) =>
    Math.max(minWidth, 3 + Math.max(h.length, ...rows.map((r) => [...(r[i] ?? '')].length))),
  );
  const line = (cells: string[]) =>
    cells
      .map((c = '', i) => (i === cells.length - 1 ? c : c + ' '.repeat(widths[i] - [...c].length)))
      .join('')
      .trimEnd();
  return [header, ...rows].map(line).join('\n') + '\n';
}

export const PS_HEADER = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];

export function psTable(rows: PsRow[], now = Date.now(), trunc = true): string {
  return table(
    PS_HEADER,
    rows.map((r) => [
      trunc ? r.Id.slice(0, 12) : r.Id,
      // An image by name stays whole; a rootfs path is shortened from the left, where paths say least.
      trunc && r.Image.startsWith('/') && r.Image.length > 30 ? '…' + r.Image.slice(r.Image.length - 29) : r.Image,
      JSON.stringify(trunc ? ellipsis(r.Command, 20) : r.Command),
      `${humanDuration(now - r.Created * 1000)} ago`,
      r.Status,
      '',
      r.Names.map((n) => n.replace(/^\//, '')).join(','),
    ]),
  );
}

export const engineMessages = {
  started: (pid: number) => `nsx: started the engine (nsxd, pid ${pid})`,
  alreadyRunning: (pid: number | undefined, socket: string) =>
    `nsx: the engine is already running (nsxd${pid ? `, pid ${pid}` : ''}) on unix://${socket}`,
  stopped: (pid: number | undefined) =>
    `nsx: stopped the engine (nsxd${pid ? `, pid ${pid}` : ''}); its containers were stopped with it`,
  notRunning: (socket: string) =>
    `nsx: the engine is not running (no answer on unix://${socket}); start it with: nsx engine start`,
  status: (pid: number | undefined, socket: string, total: number, running: number) =>
    `nsx: the engine is running (nsxd${pid ? `, pid ${pid}` : ''}) on unix://${socket}: ${total} container${total === 1 ? '' : 's'}, ${running} running`,
};

/** docker's BytesSize (go-units): binary units, four significant digits: "1.363MiB", "64MiB". */
export function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return `${parseFloat(n.toPrecision(4))}${units[i]}`;
}

/** A sample of GET /containers/{id}/stats?stream=0 (the fields nsx stats shows). */
export interface StatsSample {
  id: string;
  name: string;
  pids_stats: { current?: number };
  memory_stats: { usage?: number; limit?: number };
  cpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number; online_cpus: number };
  precpu_stats: { cpu_usage: { total_usage: number }; system_cpu_usage: number };
}

export const STATS_HEADER = [
  'CONTAINER ID',
  'NAME',
  'CPU %',
  'MEM USAGE / LIMIT',
  'MEM %',
  'NET I/O',
  'BLOCK I/O',
  'PIDS',
];

/** docker stats' row: CPU % as docker computes it (container CPU time / host CPU time × CPUs). */
export function statsRow(s: StatsSample): string[] {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - s.precpu_stats.cpu_usage.total_usage;
  const sysDelta = s.cpu_stats.system_cpu_usage - s.precpu_stats.system_cpu_usage;
  const cpu = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * s.cpu_stats.online_cpus * 100 : 0;
  const { usage, limit } = s.memory_stats;
  return [
    s.id.slice(0, 12),
    s.name.replace(/^\//, ''),
    `${cpu.toFixed(2)}%`,
    usage !== undefined && limit ? `${bytesSize(usage)} / ${bytesSize(limit)}` : '--',
    usage !== undefined && limit ? `${((usage / limit) * 100).toFixed(2)}%` : '--',
    '--',
    '--',
    String(s.pids_stats.current ?? '--'),
  ];
}

/** docker events' line: "2026-01-01T00:00:00.000000000Z container die ID (exitCode=7, image=…, name=…)". */
export function eventLine(e: {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  timeNano: number;
}): string {
  const ms = Math.floor(e.timeNano / 1e6);
  const time = new Date(ms)
    .toISOString()
    .replace(/\.(\d{3})Z$/, (_m, f) => `.${f}${String(Math.floor(e.timeNano % 1e6)).padStart(6, '0')}Z`);
  const attrs = Object.entries(e.Actor.Attributes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `${time} ${e.Type} ${e.Action} ${e.Actor.ID} (${attrs})`;
}
