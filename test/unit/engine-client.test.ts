// EngineClient's request options (src/engine/client.ts): onHead and signal, on node:http, against
// Node's own HTTP server (what nsxd is) on a Unix socket in a temporary directory.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type ServerResponse, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient } from '../../src/engine/client.js';

describe("EngineClient's call options", () => {
  const dir = mkdtempSync(join(tmpdir(), 'nsx-client-'));
  const socketPath = join(dir, 'api.sock');
  let server: Server;
  /** The answers held open (a wait's): their head sent, the body when the test says. */
  const held = new Map<string, ServerResponse>();
  /** The requests whose connection the server saw closed. */
  const closed: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? '';
      res.on('close', () => closed.push(url));
      if (url.startsWith('/wait')) {
        // as nsxd's wait (server.ts): the head first, the body later
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.flushHeaders();
        held.set(url, res);
      } else if (url.startsWith('/silent'))
        held.set(url, res); // nothing at all until the test says
      else if (url === '/missing') res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"message":"no"}');
      else res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(socketPath, r));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  /** Resolves once the server holds `url` (its handler ran). */
  async function until(url: string): Promise<ServerResponse> {
    for (let i = 0; i < 200 && !held.has(url); i++) await new Promise((r) => setTimeout(r, 5));
    const res = held.get(url);
    if (!res) throw new Error(`the server never got ${url}`);
    return res;
  }

  it('calls onHead once, when the head arrives, before the body', async () => {
    const client = new EngineClient(socketPath);
    const heads: number[] = [];
    let headSeen!: () => void;
    const headArrived = new Promise<void>((r) => (headSeen = r));
    const waited = client.call<{ StatusCode: number }>('POST', '/wait?a', undefined, {
      onHead: (s) => (heads.push(s), headSeen()),
    });
    await headArrived; // the body is not sent yet: only the head can have called it
    expect(heads).toEqual([200]);
    (await until('/wait?a')).end('{"StatusCode":3}\n');
    expect(await waited).toEqual({ StatusCode: 3 });
    expect(heads).toEqual([200]);
  });

  it("calls onHead with an error's status too, and call still throws the engine's message", async () => {
    const client = new EngineClient(socketPath);
    const heads: number[] = [];
    await expect(client.call('GET', '/missing', undefined, { onHead: (s) => heads.push(s) })).rejects.toThrow(
      'Error response from daemon: no',
    );
    expect(heads).toEqual([404]);
  });

  it('gives up a request after its head: the promise rejects and the connection is closed', async () => {
    const client = new EngineClient(socketPath);
    const giveUp = new AbortController();
    let headSeen!: () => void;
    const headArrived = new Promise<void>((r) => (headSeen = r));
    const waited = client.call('POST', '/wait?b', undefined, { onHead: () => headSeen(), signal: giveUp.signal });
    await headArrived;
    giveUp.abort(new Error('the attach failed'));
    await expect(waited).rejects.toThrow('the attach failed');
    for (let i = 0; i < 200 && !closed.includes('/wait?b'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(closed).toContain('/wait?b');
  });

  it('gives up a request before its head, and one whose signal was already aborted', async () => {
    const client = new EngineClient(socketPath);
    const giveUp = new AbortController();
    const heads: number[] = [];
    const pending = client.request('POST', '/silent?c', undefined, {
      onHead: (s) => heads.push(s),
      signal: giveUp.signal,
    });
    await until('/silent?c');
    giveUp.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
    expect(heads).toEqual([]);
    for (let i = 0; i < 200 && !closed.includes('/silent?c'); i++) await new Promise((r) => setTimeout(r, 5));
    expect(closed).toContain('/silent?c');

    const gone = AbortSignal.abort(new Error('given up before'));
    await expect(client.call('GET', '/_ping', undefined, { signal: gone })).rejects.toThrow('given up before');
  });

  it('still takes an onData function as the 4th argument of request', async () => {
    const client = new EngineClient(socketPath);
    const chunks: string[] = [];
    const r = await client.request('GET', '/data', undefined, (c) => chunks.push(c.toString()));
    expect([r.status, r.body, chunks.join('')]).toEqual([200, '', '{"ok":true}']);
  });
});
