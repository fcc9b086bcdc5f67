// Prints pull and push events in docker's words. On a terminal each layer gets a line with a
// progress bar (cli-progress redraws them in place); elsewhere (a pipe, a log, CI) plain lines, one
// per change of status and no byte counts, as docker does when its output is not a TTY.
import cliProgress from 'cli-progress';
import type { PullEvent } from '../image/pull.js';
import type { PushEvent } from '../image/push.js';

/** docker's (go-units) HumanSize: decimal units, 4 significant digits: "527B", "2.5MB". */
export function humanSize(bytes: number, precision = 4): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(precision))}${units[i]}`;
}

/** docker's progress bar: 50 columns, "=" done, ">" at the head. */
export function dockerBar(current: number, total: number, width = 50): string {
  const done = total > 0 ? Math.min(width, Math.floor((current / total) * width)) : 0;
  return '[' + (done > 0 ? '='.repeat(done - 1) + '>' : '') + ' '.repeat(width - done) + ']';
}

export interface Renderer<E> {
  onEvent(e: E): void;
  /** Stops the bars (call on success and on failure). */
  finish(): void;
}

type Out = { write(s: string): unknown; isTTY?: boolean; columns?: number };

interface LayerLine {
  status: string;
  current?: number;
  total?: number;
  bar?: cliProgress.SingleBar;
}

/** The line of one layer: "a3ed95caeb02: Downloading [=====>    ]  1.2MB/2.5MB". */
export function layerLine(id: string, l: { status: string; current?: number; total?: number }): string {
  if ((l.status === 'Downloading' || l.status === 'Pushing') && l.total)
    return `${id}: ${l.status} ${progressText(l.current ?? 0, l.total)}`;
  return `${id}: ${l.status}`;
}

/** "[=====>    ]  1.2MB/2.5MB": the bar and the counts (the engine's progress JSON has it as "progress"). */
export function progressText(current: number, total: number): string {
  return `${dockerBar(current, total)}  ${humanSize(current)}/${humanSize(total)}`;
}

/** Bars on a TTY, plain lines elsewhere; the first and last lines are ordinary lines either way. */
class LayerBoard {
  private readonly layers = new Map<string, LayerLine>();
  private multi?: cliProgress.MultiBar;
  constructor(
    private readonly out: Out,
    private readonly tty: boolean,
  ) {}

  line(text: string): void {
    if (this.multi) this.multi.log(text + '\n');
    else this.out.write(text + '\n');
  }

  layer(id: string, status: string, current?: number, total?: number): void {
    let l = this.layers.get(id);
    if (!l) this.layers.set(id, (l = { status }));
    const changed = l.status !== status;
    Object.assign(l, { status, current, total });
    if (!this.tty) {
      // Plain output: one line per status, no byte counts (docker's non-TTY output).
      if ((changed || !l.bar) && status !== 'Downloading' && status !== 'Pushing') this.out.write(`${id}: ${status}\n`);
      l.bar = l.bar ?? ({} as cliProgress.SingleBar);
      return;
    }
    this.multi ??= new cliProgress.MultiBar({
      stream: this.out as NodeJS.WritableStream,
      format: (_o, _p, payload: { id: string }) => layerLine(payload.id, this.layers.get(payload.id)!),
      hideCursor: null,
      clearOnComplete: false,
      autopadding: false,
      fps: 10,
      forceRedraw: true,
      linewrap: false,
    } as cliProgress.Options);
    if (!l.bar) l.bar = this.multi.create(total ?? 1, current ?? 0, { id });
    else l.bar.update(current ?? 0, { id });
  }

  finish(): void {
    if (this.multi) {
      this.multi.update();
      this.multi.stop();
      this.multi = undefined;
    }
  }
}

export interface RenderOptions {
  /** Progress bars (default: whether OUT is a terminal). */
  tty?: boolean;
  /** docker pull -q: only the final reference. */
  quiet?: boolean;
}

/** Renders a pull: "Unable to find image …", "latest: Pulling from …", layers, "Digest:", "Status:". */
export function pullRenderer(out: Out = process.stdout, opts: RenderOptions = {}): Renderer<PullEvent> {
  const board = new LayerBoard(out, opts.tty ?? !!out.isTTY);
  return {
    onEvent(e) {
      if (opts.quiet) {
        if (e.type === 'status') out.write(e.ref + '\n');
        return;
      }
      switch (e.type) {
        case 'missing-locally':
          board.line(`Unable to find image '${e.ref}' locally`);
          break;
        case 'pulling-from':
          board.line(`${e.tag}: Pulling from ${e.repository}`);
          break;
        case 'layer':
          board.layer(e.id, e.status, e.current, e.total);
          break;
        case 'digest':
          board.finish();
          board.line(`Digest: ${e.digest}`);
          break;
        case 'status':
          board.line(`Status: ${e.message}`);
          break;
        case 'resolving':
        case 'platform':
          break;
      }
    },
    finish: () => board.finish(),
  };
}

/** Renders a push: "The push refers to repository [...]", layers, "latest: digest: … size: …". */
export function pushRenderer(out: Out = process.stdout, opts: RenderOptions = {}): Renderer<PushEvent> {
  const board = new LayerBoard(out, opts.tty ?? !!out.isTTY);
  return {
    onEvent(e) {
      if (opts.quiet) return;
      switch (e.type) {
        case 'push-repository':
          board.line(`The push refers to repository [${e.repository}]`);
          break;
        case 'push-layer':
          board.layer(e.id, e.status === 'Mounted from' ? `Mounted from ${e.from}` : e.status, e.current, e.total);
          break;
        case 'pushed':
          board.finish();
          board.line(`${e.tag}: digest: ${e.digest} size: ${e.size}`);
          break;
      }
    },
    finish: () => board.finish(),
  };
}
