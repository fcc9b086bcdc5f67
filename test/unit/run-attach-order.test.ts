// nsx run's requests in docker's order (src/cli/run/engine-run.ts; moby cli/command/container/run.go:
// attach, wait, start), against an engine of Node's own HTTP server on a Unix socket in a temporary
// directory that answers as nsxd's routes do and records what it was asked: the start only once the
// attach's 101 and the wait's head were sent, and a failed attach gives up the wait (nsx exits).
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsx } from '../helpers.js';

interface Fake {
  server: Server;
  dir: string;
  socket: string;
  /** What happened, in order: "POST /containers/create", "wait head sent", "closed /containers/abc/wait"… */
  log: string[];
}

/** An engine whose attach answers 101 (`attach: 'ok'`) or 500, and whose wait sends its head after
 *  `waitHeadMs`; a start ends the run (the attach's stream and the wait's body, exit code 0). */
async function fakeEngine(attach: 'ok' | 'refused', waitHeadMs: number): Promise<Fake> {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-run-order-'));
  const log: string[] = [];
  let wait: ServerResponse | undefined;
  let stream: Socket | undefined;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    log.push(`${req.method} ${path}`);
    res.on('close', () => log.push(`closed ${path}`));
    req.resume();
    if (path === '/containers/create')
      return void res.writeHead(201, { 'Content-Type': 'application/json' }).end('{"Id":"abc","Warnings":[]}');
    if (path === '/containers/abc/wait') {
      wait = res;
      return void setTimeout(() => {
        if (res.headersSent) return; // a start came first, and ended it
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        log.push('wait head sent');
      }, waitHeadMs);
    }
    if (path === '/containers/abc/start') {
      res.writeHead(204).end();
      stream?.end();
      wait?.end('{"StatusCode":0,"Error":null}\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"not in this fake"}');
  });
  server.on('upgrade', (req, socket: Socket) => {
    log.push(`upgrade ${(req.url ?? '').split('?')[0]}`);
    if (attach === 'refused') {
      const body = '{"message":"attach refused by the fake engine"}';
      socket.end(
        `HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    socket.write(
      'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    log.push('attach 101 sent');
    stream = socket;
  });
  const socket = join(dir, 'nsxd.sock');
  await new Promise<void>((r) => server.listen(socket, r));
  return { server, dir, socket, log };
}

describe("nsx run's attach, wait and start", () => {
  let fake: Fake | undefined;
  afterEach(async () => {
    if (!fake) return;
    fake.server.closeAllConnections();
    await new Promise((r) => fake!.server.close(r));
    rmSync(fake.dir, { recursive: true, force: true });
    fake = undefined;
  });

  const run = (f: Fake) =>
    nsx(['run', '--rm', '--rootfs', f.dir, '/bin/true'], {
      env: { NSX_ENGINE_SOCKET: f.socket, NSX_ENGINE_STATE: join(f.dir, 'state'), NSX_ROOT: join(f.dir, 'root') },
      events: false,
      timeoutMs: 15_000,
    });

  it("sends the start only once the engine sent the attach's 101 and the wait's head", async () => {
    fake = await fakeEngine('ok', 300); // the wait's head well after the 101
    const r = await run(fake);
    expect([r.code, r.stderr]).toEqual([0, '']);
    const at = (what: string) => fake!.log.indexOf(what);
    expect(at('attach 101 sent')).toBeGreaterThan(-1);
    expect(at('wait head sent')).toBeGreaterThan(-1);
    expect(at('POST /containers/abc/start')).toBeGreaterThan(at('attach 101 sent'));
    expect(at('POST /containers/abc/start')).toBeGreaterThan(at('wait head sent'));
  });

  it('gives up the wait when the attach fails: nsx exits with the error, nothing is started', async () => {
    fake = await fakeEngine('refused', 0);
    const r = await run(fake);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('attach refused by the fake engine');
    expect(fake.log).toContain('POST /containers/abc/wait');
    expect(fake.log).toContain('closed /containers/abc/wait');
    expect(fake.log).not.toContain('POST /containers/abc/start');
  });
});
