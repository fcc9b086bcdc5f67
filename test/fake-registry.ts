// A registry in a few lines of Node, on loopback, for what the real one will not do on demand:
// demand Bearer tokens from its own token endpoint (as Docker Hub does), Basic auth, and misbehave —
// serve a wrong blob, close mid-blob, hang, send unknown media types. Every request is recorded.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sha, type BuiltImage } from './image-fixture.js';

export interface FakeManifest {
  body: Buffer;
  mediaType: string;
}

export interface Recorded {
  method: string;
  url: string;
  authorization?: string;
}

export interface FakeRegistry {
  /** "127.0.0.1:PORT". */
  host: string;
  requests: Recorded[];
  /** repo → tag or digest → manifest. */
  manifests: Map<string, Map<string, FakeManifest>>;
  blobs: Map<string, Buffer>;
  /** Override a request: return true when handled. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;
  /** Add an image (its manifest under TAG and its digest, and its blobs). */
  add(repo: string, tag: string, image: BuiltImage): void;
  addManifest(repo: string, tag: string, body: Buffer, mediaType: string): void;
  close(): Promise<void>;
}

export interface FakeOptions {
  /** none (anonymous), bearer (token from /token), basic. */
  auth?: 'none' | 'bearer' | 'basic';
  /** Accounts the token server (bearer) or the registry (basic) accepts. */
  users?: Record<string, string>;
  /** bearer: may anonymous users get a pull token? (Docker Hub: yes, for public repositories) */
  anonymousPull?: boolean;
}

function errorBody(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

export async function startFakeRegistry(opts: FakeOptions = {}): Promise<FakeRegistry> {
  const auth = opts.auth ?? 'none';
  const users = opts.users ?? {};
  const sockets = new Set<import('node:net').Socket>();
  let host = '';
  const tokens = new Map<string, string>(); // token → granted scope
  const reg: FakeRegistry = {
    host: '',
    requests: [],
    manifests: new Map(),
    blobs: new Map(),
    add(repo, tag, image) {
      reg.addManifest(repo, tag, image.manifestBytes, image.mediaType);
      reg.blobs.set(image.configBlob.digest, image.configBlob.bytes);
      for (const l of image.layers) reg.blobs.set(l.digest, l.bytes);
    },
    addManifest(repo, tag, body, mediaType) {
      if (!reg.manifests.has(repo)) reg.manifests.set(repo, new Map());
      reg.manifests.get(repo)!.set(tag, { body, mediaType });
      reg.manifests.get(repo)!.set(sha(body), { body, mediaType });
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };

  const basicUser = (req: IncomingMessage): string | undefined => {
    const h = req.headers.authorization ?? '';
    if (!h.startsWith('Basic ')) return undefined;
    const [u, ...p] = Buffer.from(h.slice(6), 'base64').toString().split(':');
    return users[u] !== undefined && users[u] === p.join(':') ? u : undefined;
  };

  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    reg.requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization });
    const url = new URL(req.url!, `http://${host}`);
    if (url.pathname === '/token') {
      const hasAuth = !!req.headers.authorization;
      const user = basicUser(req);
      if (hasAuth && !user) {
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end(JSON.stringify({ details: 'incorrect username or password' }));
        return;
      }
      const scope = url.searchParams.getAll('scope').join(' ');
      // Like Docker Hub: a token is always issued; it grants pull only to known users or, if
      // allowed, anonymous ones. A token without rights is refused by the registry later.
      const granted = user || opts.anonymousPull ? scope : '';
      const token = `tok-${tokens.size + 1}`;
      tokens.set(token, granted);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
      return;
    }
    if (reg.intercept && (await reg.intercept(req, res))) return;
    const m = /^\/v2\/(.+?)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    const repo = m?.[1] ?? '';
    // Authentication, as the registry would demand it.
    if (auth === 'bearer') {
      const h = req.headers.authorization ?? '';
      const granted = h.startsWith('Bearer ') ? tokens.get(h.slice(7)) : undefined;
      const needed = `repository:${repo}:pull`;
      if (granted === undefined || (m && !granted.split(' ').includes(needed))) {
        const challenge = `Bearer realm="http://${host}/token",service="fake-registry"${m ? `,scope="${needed}"` : ''}`;
        res.writeHead(401, { 'www-authenticate': challenge, 'content-type': 'application/json' });
        res.end(req.method === 'HEAD' ? undefined : errorBody('UNAUTHORIZED', 'authentication required'));
        return;
      }
    } else if (auth === 'basic' && !basicUser(req)) {
      res
        .writeHead(401, { 'www-authenticate': 'Basic realm="fake-registry"', 'content-type': 'application/json' })
        .end(errorBody('UNAUTHORIZED', 'authentication required'));
      return;
    }
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    if (m?.[2] === 'manifests') {
      const found = reg.manifests.get(repo)?.get(m[3]);
      if (!found) {
        const [code, msg] = reg.manifests.has(repo)
          ? ['MANIFEST_UNKNOWN', 'manifest unknown']
          : ['NAME_UNKNOWN', 'repository name not known to registry'];
        res.writeHead(404, { 'content-type': 'application/json' }).end(errorBody(code, msg));
        return;
      }
      res.writeHead(200, {
        'content-type': found.mediaType,
        'docker-content-digest': sha(found.body),
        'content-length': found.body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : found.body);
      return;
    }
    if (m?.[2] === 'blobs') {
      const data = reg.blobs.get(m[3]);
      if (!data) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end(errorBody('BLOB_UNKNOWN', 'blob unknown to registry'));
        return;
      }
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'docker-content-digest': m[3],
        'content-length': data.length,
      });
      res.end(req.method === 'HEAD' ? undefined : data);
      return;
    }
    res.writeHead(404).end();
  };

  const server: Server = createServer((req, res) => {
    handler(req, res).catch((e) => {
      res.destroy(e as Error);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  reg.host = host;
  return reg;
}
