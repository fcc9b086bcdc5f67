// docker-log docker ARGS...: runs Docker's own CLI against the lab's engine, through a logging proxy
// on a Unix socket of its own, then prints what docker printed and the HTTP requests it sent (">"
// lines: request line and headers, the start of a body) with the engine's status line for each
// ("<"). The engine-cli lesson puts it on its commands' PATH (lessons/engine-lab.ts).
//   docker-log docker ps -a
// The engine: $NSX_ENGINE_SOCKET, else the engine's default (src/engine/config.ts). docker gets
// DOCKER_HOST=unix://<the proxy> (docker(1): "DOCKER_HOST: Daemon socket to connect to") and an
// empty DOCKER_CONFIG, so no docker context of the machine's (the VM sets one) is in the way.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { socketPath } from '../src/engine/config.js';

/** Bytes kept per direction and connection: enough for every head a CLI command sends. */
const KEEP = 256 * 1024;
/** A body's first characters shown (a create request's JSON is long). */
const BODY_SHOWN = 160;

export interface Exchange {
  /** The request line and headers, as sent. */
  head: string[];
  /** The start of the body, when it has one. */
  body?: string;
  /** The engine's status line ("HTTP/1.1 200 OK"), when it answered. */
  status?: string;
}

/** Where the message whose head ends at `end` ends: its body skipped by Content-Length or by its
 *  chunks (RFC 9112 section 6: "Message Body Length"); undefined when that is not in `text` yet. */
function bodyEnd(text: string, head: string[], end: number, hasBody: boolean): number | undefined {
  const header = (name: string) =>
    head
      .find((h) => h.toLowerCase().startsWith(`${name}:`))
      ?.slice(name.length + 1)
      .trim();
  let at = end + 4;
  if (!hasBody) return at;
  if (/chunked/i.test(header('transfer-encoding') ?? '')) {
    for (;;) {
      const line = text.indexOf('\r\n', at);
      if (line < 0) return undefined;
      const size = parseInt(text.slice(at, line), 16);
      if (Number.isNaN(size)) return undefined;
      at = line + 2 + size + 2;
      if (size === 0) return at > text.length ? undefined : at; // no trailers from these peers
    }
  }
  return at + Number(header('content-length') ?? 0);
}

/** The requests in what a client sent on one connection (HTTP/1.1 keeps it open for several), each
 *  with the status line of the matching reply in what the engine sent back (RFC 9112: replies come
 *  in the order of the requests; a reply to HEAD, and a 1xx, 204 or 304, has no body). */
export function exchanges(sent: string, received: string): Exchange[] {
  const out: Exchange[] = [];
  for (let at = 0; at < sent.length;) {
    const end = sent.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = sent.slice(at, end).split('\r\n');
    if (!/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(head[0])) break;
    const next = bodyEnd(sent, head, end, true);
    const body = sent.slice(end + 4, next);
    out.push({ head, ...(body ? { body } : {}) });
    if (next === undefined) break;
    at = next;
  }
  let at = 0;
  for (const x of out) {
    const end = received.indexOf('\r\n\r\n', at);
    if (end < 0) break;
    const head = received.slice(at, end).split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0])?.[1]);
    if (!status) break;
    x.status = head[0];
    const bodyless = x.head[0].startsWith('HEAD ') || status < 200 || status === 204 || status === 304;
    const next = bodyEnd(received, head, end, !bodyless);
    if (next === undefined) break;
    at = next;
  }
  return out;
}

/** The exchanges as shown: "> " for what docker sent, "< " for the engine's status line. */
export function shown(list: Exchange[]): string[] {
  const lines: string[] = [];
  for (const x of list) {
    lines.push(...x.head.map((h) => `> ${h}`));
    if (x.body !== undefined) {
      const b = x.body.replace(/\r/g, '\\r').replace(/\n/g, '\\n'); // on one line
      lines.push(`> ${b.length > BODY_SHOWN ? `${b.slice(0, BODY_SHOWN)}… (${x.body.length} bytes)` : b}`);
    }
    lines.push(x.status ? `< ${x.status}` : '< (no answer)');
  }
  return lines;
}

async function main(argv: string[]): Promise<number> {
  if (!argv.length) {
    process.stderr.write('usage: docker-log docker ARGS...\n');
    return 2;
  }
  const engine = socketPath();
  const dir = mkdtempSync(join(tmpdir(), 'nsx-docker-log-'));
  const proxy = join(dir, 'docker.sock');
  const connections: { sent: string; received: string }[] = [];
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const c = { sent: '', received: '' };
    connections.push(c);
    const up = connect(engine);
    open.add(client).add(up);
    client.on('data', (d: Buffer) => {
      if (c.sent.length < KEEP) c.sent += d.toString('latin1');
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      if (c.received.length < KEEP) c.received += d.toString('latin1');
      client.write(d);
    });
    client.on('end', () => up.end());
    up.on('end', () => client.end());
    client.on('error', () => up.destroy());
    up.on('error', (e: NodeJS.ErrnoException) => {
      process.stderr.write(`docker-log: connect(${engine}): ${e.code ?? e.message}\n`);
      client.destroy();
    });
    client.on('close', () => open.delete(client));
    up.on('close', () => open.delete(up));
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(proxy, resolve));
  const config = join(dir, 'config');
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${proxy}`, DOCKER_CONFIG: config };
  delete env.DOCKER_CONTEXT;
  const [program, ...args] = argv;
  const output: Buffer[] = [];
  const status = await new Promise<number>((resolve) => {
    const child = spawn(program, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => output.push(d));
    child.stderr.on('data', (d: Buffer) => output.push(d));
    child.on('error', (e) => {
      output.push(Buffer.from(`docker-log: ${program}: ${e.message}\n`));
      resolve(127);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
  for (const s of open) s.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
  const printed = Buffer.concat(output).toString('utf8');
  const sent = connections.flatMap((c) => exchanges(c.sent, c.received));
  process.stdout.write(printed.endsWith('\n') || !printed ? printed : printed + '\n');
  const n = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 's'}`;
  process.stdout.write(
    `-- sent by ${program} (${n(sent.length, 'request')}, ${n(connections.length, 'connection')}), via the proxy, to\n-- unix:${engine}\n`,
  );
  process.stdout.write(shown(sent).join('\n') + (sent.length ? '\n' : ''));
  return status;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!))
  process.exitCode = await main(process.argv.slice(2));
