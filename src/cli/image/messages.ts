// What the image verbs print, apart from what they do: docker's table for `images`, docker's
// durations and sizes (`image inspect`'s JSON is the engine's too: src/image/verbs.ts).
import { humanSize } from '../../render/pull.js';
import type { ImageSummary } from '../../image/types.js';

/** go-units HumanDuration, as docker prints CREATED ("2 weeks ago"). */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(seconds / 60);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

export function created(iso: string | undefined, now = Date.now()): string {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isFinite(t) ? `${humanDuration(now - t)} ago` : 'N/A';
}

/** Columns padded as Go's tabwriter does for docker (3 spaces between columns; MINWIDTH: a column's
 *  least width with its padding, 10 in docker's tables that set it: tabwriter.NewWriter(w, 10, 1, 3, ' ', 0)). */
export function table(rows: string[][], minWidth = 0): string {
  const widths = rows[0].map((_, i) => Math.max(minWidth - 3, ...rows.map((r) => r[i].length)));
  return (
    rows
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

/** `docker images`: REPOSITORY TAG [DIGEST] IMAGE ID CREATED SIZE. */
export function imagesTable(
  rows: ImageSummary[],
  opts: { digests?: boolean; noTrunc?: boolean; now?: number } = {},
): string {
  const head = ['REPOSITORY', 'TAG', ...(opts.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
  const body = rows.map((r) => [
    r.repository,
    r.tag,
    ...(opts.digests ? [r.digest] : []),
    opts.noTrunc ? r.id : r.id.replace(/^sha256:/, '').slice(0, 12),
    created(r.created, opts.now),
    humanSize(r.size, 3),
  ]);
  return table([head, ...body]);
}
