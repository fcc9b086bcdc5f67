// The engine's replies: docker's JSON, sent once every change made so far is in the state file.
// A change's temporary file is written at once, its fsync(2) and rename(2) run off the main thread
// (state-writer.ts); a reply waits for them (Engine.flushed), so a client told 201 or 204 can rely on
// the change surviving the engine, as when each save was synchronous.
import type { ServerResponse } from 'node:http';
import type { Engine } from './engine.js';
import { errorShape } from './shapes.js';

/** The API version nsx's shapes follow (docker 24's), sent as the Api-Version header. */
export const API_VERSION = '1.43';

/** The engine whose state file a reply waits for (createApiServer sets it for each request). */
const engines = new WeakMap<ServerResponse, Engine>();

export function repliesAfterSaves(res: ServerResponse, engine: Engine): void {
  engines.set(res, engine);
}

/** Answers once the state file holds every change made so far; when saving it failed, with that
 *  error in docker's shape instead. Nothing outstanding: at once. */
export function send(res: ServerResponse, status: number, body?: unknown): void {
  const flushed = engines.get(res)?.flushed();
  if (!flushed) return write(res, status, body);
  flushed.then(
    () => write(res, status, body),
    (e: unknown) => {
      const err = errorShape(e);
      write(res, err.status, err.body);
    },
  );
}

function write(res: ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status, { 'Api-Version': API_VERSION }).end();
    return;
  }
  const text = JSON.stringify(body) + '\n';
  res
    .writeHead(status, {
      'Content-Type': 'application/json',
      'Api-Version': API_VERSION,
      'Content-Length': Buffer.byteLength(text),
    })
    .end(text);
}
