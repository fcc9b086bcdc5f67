// A client for the OCI distribution API (Docker Registry HTTP API v2), on Node's built-in fetch.
//
//   GET  /v2/<repo>/manifests/<tag|digest>   a manifest, or a list of them (one per platform)
//   GET  /v2/<repo>/blobs/<digest>           a config or layer, checked against its digest
//   HEAD /v2/<repo>/blobs/<digest>           is it there? (push skips what the registry has)
//   POST /v2/<repo>/blobs/uploads/           start an upload (or mount a blob from another repo)
//   PATCH <location> … PUT <location>?digest=  send the bytes, in chunks or at once
//   PUT  /v2/<repo>/manifests/<tag>          publish the image
//
// Security rules, each in one place: plain HTTP only for loopback registries or those listed
// insecure (transportFor); credentials only to the registry itself and to a token realm over TLS or
// on loopback (mayCarryCredentials), both in registry-auth.ts; redirects followed by hand, dropping
// Authorization when they leave the registry's origin and refusing HTTPS→HTTP downgrades (send);
// every response bounded in time (timeouts) and size (readBody), in registry-http.ts; every digest
// checked (getManifest, downloadBlob). Platforms are in platform.ts, manifest checks in
// manifest-check.ts; this module re-exports them, so its importers need know only it.
import { open } from 'node:fs/promises';
import { NsxError } from '../runtime/errors.js';
import { manifestMediaType } from './manifest-check.js';
import {
  dockerCredentials,
  isLoopbackHost,
  mayCarryCredentials,
  parseWWWAuthenticate,
  transportFor,
  type AuthChallenge,
  type Credentials,
} from './registry-auth.js';
import { causeOf, RegistryError, timedFetch, type ErrorBody, type TimedResponse } from './registry-http.js';
import { sha256, type ImageStore, type WrittenBlob } from './store.js';
import {
  IMAGE_MANIFEST_TYPES,
  INDEX_TYPES,
  MediaType,
  SCHEMA1_TYPES,
  type Descriptor,
  type OciIndex,
  type OciManifest,
} from './types.js';

// Everything these modules export is the registry client's API too.
export * from './manifest-check.js';
export * from './platform.js';
export * from './registry-auth.js';
export { connectionError, RegistryError, type RegistryErrorKind, type TimedResponse } from './registry-http.js';

/** The largest manifest accepted (containerd's limit). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;

/** What a manifest GET accepts, best first. Schema 1 is accepted only to refuse it clearly. */
export const MANIFEST_ACCEPT = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
  MediaType.dockerSchema1Signed,
  MediaType.dockerSchema1,
].join(', ');

export interface RegistryClientOptions {
  /** Registries (host[:port]) reached over plain HTTP although not on loopback. */
  insecure?: readonly string[];
  /** Bound on the wait for a response's headers and on any silence while reading a body. */
  timeoutMs?: number;
  /** Credentials for a registry (default: docker's config.json, see dockerCredentials). */
  credentials?: (domain: string) => Credentials | undefined;
  /** Bytes per PATCH when pushing; blobs up to this size go in one PUT. */
  chunkBytes?: number;
}

/** $NSX_REGISTRY_TIMEOUT_MS (tests shorten it), else 30 s. */
export function defaultTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.NSX_REGISTRY_TIMEOUT_MS);
  return Number.isFinite(v) && v > 0 ? v : DEFAULT_TIMEOUT_MS;
}

// ---------------------------------------------------------------------------------------------

export interface FetchedManifest {
  mediaType: string;
  digest: string;
  body: Buffer;
  /** Parsed JSON: an OciManifest or an OciIndex per mediaType. */
  json: OciManifest | OciIndex;
}

type Scope = string;

/** Options of one request. */
interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Token scopes this request needs, e.g. "repository:library/busybox:pull". */
  scopes: Scope[];
}

export class RegistryClient {
  readonly base: string;
  readonly secure: boolean;
  readonly timeoutMs: number;
  readonly chunkBytes: number;
  private readonly insecure: readonly string[];
  private readonly credentials?: Credentials;
  /** Bearer tokens by scope set; Basic when the registry asked for it. */
  private readonly tokens = new Map<string, string>();
  private basic = false;
  private challenge?: AuthChallenge;

  constructor(
    readonly domain: string,
    opts: RegistryClientOptions = {},
  ) {
    const t = transportFor(domain, opts.insecure);
    this.base = t.base;
    this.secure = t.secure;
    this.insecure = opts.insecure ?? [];
    this.timeoutMs = opts.timeoutMs ?? defaultTimeoutMs();
    this.chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    this.credentials = (opts.credentials ?? dockerCredentials)(domain);
  }

  // --- requests, auth, redirects, timeouts -----------------------------------------------------

  /**
   * One API request: authenticates as the registry asks (a 401 with WWW-Authenticate, then retried
   * once with a Bearer token or Basic credentials), follows redirects safely. The response's body
   * stream stays under the idle timeout until read (use readBody / bodyChunks).
   */
  async request(path: string, o: RequestOptions): Promise<TimedResponse> {
    const url = new URL(path, this.base);
    let res = await this.send(url, o, this.authHeader(o.scopes));
    if (res.status !== 401) return res;
    const header = res.headers.get('www-authenticate') ?? '';
    await res.discard();
    const challenges = parseWWWAuthenticate(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      this.challenge = bearer;
      await this.fetchToken(bearer, o.scopes);
    } else if (basic && this.credentials) {
      if (!mayCarryCredentials(url, this.insecure)) throw this.refuseCredentials(url);
      this.basic = true;
    } else {
      return this.send(url, o, undefined); // no way to authenticate: let the caller report the 401
    }
    res = await this.send(url, o, this.authHeader(o.scopes));
    return res;
  }

  private authHeader(scopes: Scope[]): string | undefined {
    const token = this.tokens.get(scopes.join(' '));
    if (token) return `Bearer ${token}`;
    if (this.basic && this.credentials)
      return 'Basic ' + Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64');
    return undefined;
  }

  private refuseCredentials(url: URL): RegistryError {
    return new RegistryError(
      `refusing to send credentials for ${this.domain} to ${url.origin} over plain HTTP`,
      'denied',
      undefined,
      undefined,
      'Credentials travel only over TLS, or to loopback. If this really is your registry, list it in "insecure" in registries.json.',
    );
  }

  /** The Bearer token flow (as Docker Hub uses): GET realm?service=…&scope=… , Basic auth if we have credentials. */
  private async fetchToken(challenge: AuthChallenge, scopes: Scope[]): Promise<void> {
    const realm = challenge.params.realm;
    if (!realm)
      throw new RegistryError(
        `registry ${this.domain} asked for a Bearer token but named no realm to get it from`,
        'protocol',
      );
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new RegistryError(`registry ${this.domain}: token realm "${realm}" is not a URL`, 'protocol');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new RegistryError(`registry ${this.domain}: token realm "${realm}" is not http(s)`, 'protocol');
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    const all = new Set(scopes);
    if (challenge.params.scope) for (const s of challenge.params.scope.split(' ')) all.add(s);
    for (const s of all) url.searchParams.append('scope', s);
    let basic: string | undefined;
    if (this.credentials) {
      if (!mayCarryCredentials(url, this.insecure)) throw this.refuseCredentials(url);
      basic = 'Basic ' + Buffer.from(`${this.credentials.username}:${this.credentials.password}`).toString('base64');
    }
    const res = await this.send(url, { scopes, headers: { accept: 'application/json' } }, basic);
    if (res.status === 401 || res.status === 403) {
      await res.discard();
      throw new RegistryError(
        `Error response from daemon: Get "${url.origin}${url.pathname}": unauthorized: incorrect username or password`,
        'denied',
        res.status,
        'UNAUTHORIZED',
        this.credentials
          ? "The token server refused the credentials in docker's config.json."
          : 'Log in with docker login (nsx reads ~/.docker/config.json).',
      );
    }
    if (!res.ok) {
      await res.discard();
      throw new RegistryError(
        `registry ${this.domain}: token server ${url.origin} answered ${res.status}`,
        'protocol',
        res.status,
      );
    }
    let body: { token?: string; access_token?: string };
    try {
      body = JSON.parse((await res.readBody(MAX_ERROR_BODY_BYTES)).toString('utf8'));
    } catch {
      throw new RegistryError(`registry ${this.domain}: the token server's answer is not JSON`, 'protocol');
    }
    const token = body.token ?? body.access_token;
    if (!token) throw new RegistryError(`registry ${this.domain}: the token server's answer has no token`, 'protocol');
    this.tokens.set(scopes.join(' '), token);
  }

  /**
   * fetch with a timeout, and redirects followed by hand: AUTHORIZATION (a token, or credentials)
   * goes to URL's origin only and is dropped as soon as a redirect leaves it; never from TLS down to
   * plain HTTP off loopback. (o.headers must not carry credentials: they would follow every hop.)
   */
  private async send(url: URL, o: RequestOptions, authorization: string | undefined): Promise<TimedResponse> {
    let current = url;
    let auth = authorization;
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'nsx (namespace-explorer)', ...o.headers };
      if (auth && current.origin === origin) headers.authorization = auth;
      const res = await timedFetch(
        current,
        { method: o.method ?? 'GET', headers, body: o.body },
        this.timeoutMs,
        this.domain,
      );
      if (res.status < 300 || res.status >= 400 || res.status === 304) return res;
      const location = res.headers.get('location');
      if (!location || o.method === 'PUT' || o.method === 'PATCH' || o.method === 'POST') return res;
      await res.discard();
      if (hop >= MAX_REDIRECTS)
        throw new RegistryError(`registry ${this.domain}: more than ${MAX_REDIRECTS} redirects`, 'protocol');
      const next = new URL(location, current);
      // A redirect may go elsewhere (blob storage), but never from TLS to plain HTTP off loopback.
      if (current.protocol === 'https:' && next.protocol !== 'https:' && !isLoopbackHost(next.hostname)) {
        throw new RegistryError(
          `registry ${this.domain}: refusing a redirect from HTTPS to ${next.origin}`,
          'protocol',
        );
      }
      if (next.protocol !== 'https:' && next.protocol !== 'http:')
        throw new RegistryError(`registry ${this.domain}: refusing a redirect to ${next.protocol}`, 'protocol');
      // Authorization is for the registry only: dropped as soon as a redirect leaves its origin.
      if (next.origin !== origin) auth = undefined;
      current = next;
    }
  }

  /** Turns an error response into docker's wording for WHAT ("manifest for busybox:latest"). */
  private async failure(
    res: TimedResponse,
    what: { repo: string; familiar: string; action: 'pull' | 'push'; subject?: string },
  ): Promise<RegistryError> {
    let errors: ErrorBody[] = [];
    try {
      errors = JSON.parse((await res.readBody(MAX_ERROR_BODY_BYTES)).toString('utf8')).errors ?? [];
    } catch {
      /* no JSON body (a HEAD, or a proxy's page) */
    }
    const e = errors[0] ?? {};
    const code =
      e.code ??
      (res.status === 404
        ? 'MANIFEST_UNKNOWN'
        : res.status === 401
          ? 'UNAUTHORIZED'
          : res.status === 403
            ? 'DENIED'
            : undefined);
    const detail = code
      ? `${code.toLowerCase().replace(/_/g, ' ')}: ${e.message ?? code.toLowerCase().replace(/_/g, ' ')}`
      : `HTTP ${res.status}`;
    if (res.status === 401 || res.status === 403 || code === 'DENIED' || code === 'UNAUTHORIZED') {
      const msg =
        what.action === 'pull'
          ? `Error response from daemon: pull access denied for ${what.familiar}, repository does not exist or may require 'docker login': ${detail}`
          : `denied: requested access to the resource is denied (${detail})`;
      return new RegistryError(
        msg,
        'denied',
        res.status,
        code,
        this.credentials
          ? undefined
          : `If the repository is private, log in with docker login ${this.domain} (nsx reads ~/.docker/config.json).`,
      );
    }
    if (code === 'NAME_UNKNOWN') {
      return new RegistryError(
        `Error response from daemon: repository ${what.familiar} not found: ${detail}`,
        'not-found',
        res.status,
        code,
        `Check the name; registry ${this.domain} has no repository ${what.repo}.`,
      );
    }
    if (res.status === 404 || code === 'MANIFEST_UNKNOWN') {
      return new RegistryError(
        `Error response from daemon: manifest for ${what.subject ?? what.familiar} not found: ${detail}`,
        'not-found',
        res.status,
        code,
        `Check the tag; registry ${this.domain} has no such tag or digest in ${what.repo}.`,
      );
    }
    return new RegistryError(
      `Error response from daemon: ${this.domain}: ${res.status} ${detail}`,
      'protocol',
      res.status,
      code,
    );
  }

  // --- pull --------------------------------------------------------------------------------------

  /**
   * GET a manifest or index by tag or digest. Its digest is computed from the bytes received: by
   * digest it must equal the one asked for; by tag it must equal the Docker-Content-Digest header
   * when the registry sends one. Schema 1 and unknown media types are refused here.
   */
  async getManifest(
    repo: string,
    reference: string,
    names: { familiar: string; subject?: string } = { familiar: repo },
  ): Promise<FetchedManifest> {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      headers: { accept: MANIFEST_ACCEPT },
      scopes: [`repository:${repo}:pull`],
    });
    if (!res.ok) throw await this.failure(res, { repo, action: 'pull', ...names });
    const declared = Number(res.headers.get('content-length'));
    if (declared > MAX_MANIFEST_BYTES) {
      await res.discard();
      throw new RegistryError(
        `manifest for ${names.subject ?? names.familiar} is ${declared} bytes, more than the ${MAX_MANIFEST_BYTES} nsx accepts`,
        'unsupported',
      );
    }
    const body = await res.readBody(MAX_MANIFEST_BYTES);
    const digest = sha256(body);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RegistryError(
        `manifest verification failed for digest ${reference}: the registry served content with digest ${digest}`,
        'integrity',
        undefined,
        undefined,
        'Nothing was stored. The registry serves corrupt or tampered content.',
      );
    }
    let json: OciManifest | (OciIndex & { schemaVersion?: number; mediaType?: string });
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      throw new RegistryError(`manifest for ${names.subject ?? names.familiar} is not valid JSON`, 'protocol');
    }
    const mediaType = manifestMediaType(res.headers.get('content-type'), json as unknown as Record<string, unknown>);
    if (SCHEMA1_TYPES.includes(mediaType)) {
      throw new RegistryError(
        `${names.subject ?? names.familiar}: Docker Image manifest version 2, schema 1 is not supported`,
        'unsupported',
        undefined,
        undefined,
        'Schema 1 images were deprecated in 2017 and Docker no longer pulls them; rebuild or re-push the image with a current client.',
      );
    }
    if (!IMAGE_MANIFEST_TYPES.includes(mediaType) && !INDEX_TYPES.includes(mediaType)) {
      throw new RegistryError(
        `${names.subject ?? names.familiar}: unsupported manifest media type ${mediaType}`,
        'unsupported',
        undefined,
        undefined,
        'nsx pulls OCI and Docker schema 2 images (and multi-platform indexes of them); this is something else.',
      );
    }
    const header = res.headers.get('docker-content-digest');
    if (header && !reference.startsWith('sha256:') && header !== digest) {
      throw new RegistryError(
        `manifest verification failed: registry ${this.domain} says the digest is ${header} but the content's digest is ${digest}`,
        'integrity',
      );
    }
    return { mediaType, digest, body, json };
  }

  /** HEAD a blob: its size if the registry has it, else undefined. */
  async blobSize(repo: string, digest: string, scopes = [`repository:${repo}:pull`]): Promise<number | undefined> {
    const res = await this.request(`/v2/${repo}/blobs/${digest}`, { method: 'HEAD', scopes });
    await res.discard();
    if (res.status === 404) return undefined;
    if (!res.ok)
      throw await this.failure(res, { repo, familiar: repo, action: scopes[0].endsWith('push') ? 'push' : 'pull' });
    return Number(res.headers.get('content-length') ?? NaN);
  }

  /**
   * Downloads a blob into the store: streamed to a temp file, its size bounded by the descriptor's,
   * its digest checked, and only then renamed into place (store.writeBlob). A connection closed or
   * silent mid-way is an error, and the store is as before.
   */
  async downloadBlob(
    repo: string,
    desc: Descriptor,
    store: ImageStore,
    onProgress?: (bytes: number) => void,
  ): Promise<WrittenBlob> {
    const res = await this.request(`/v2/${repo}/blobs/${desc.digest}`, { scopes: [`repository:${repo}:pull`] });
    if (!res.ok)
      throw await this.failure(res, { repo, familiar: repo, action: 'pull', subject: `blob ${desc.digest}` });
    let received = 0;
    try {
      return await store.writeBlob(res.chunks(), desc.digest, {
        expectedSize: desc.size,
        onProgress: (n) => {
          received = n;
          onProgress?.(n);
        },
      });
    } catch (e) {
      if (e instanceof RegistryError && e.kind === 'timeout') throw e;
      if (e instanceof NsxError) throw e;
      throw new RegistryError(
        `error pulling blob ${desc.digest} from ${this.domain}: the connection closed after ${received} of ${desc.size} bytes (${causeOf(e)})`,
        'unreachable',
        undefined,
        undefined,
        'Nothing half-written was kept; pull again.',
      );
    }
  }

  // --- push --------------------------------------------------------------------------------------

  /**
   * Uploads a blob from the store unless the registry has it: HEAD first; a cross-repository mount
   * when MOUNTFROM names a repository of the same registry that has it; else POST to start an
   * upload, then one PUT (small blobs) or PATCH chunks and a closing PUT, with ?digest= so the
   * registry checks what it got.
   */
  async uploadBlob(
    repo: string,
    desc: Pick<Descriptor, 'digest' | 'size'>,
    store: ImageStore,
    opts: { mountFrom?: string; onProgress?: (bytes: number) => void } = {},
  ): Promise<'exists' | 'mounted' | 'pushed'> {
    const push = [`repository:${repo}:pull,push`];
    if ((await this.blobSize(repo, desc.digest, push)) !== undefined) return 'exists';
    const familiar = repo;
    let startPath = `/v2/${repo}/blobs/uploads/`;
    let scopes = push;
    if (opts.mountFrom && opts.mountFrom !== repo) {
      startPath += `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(opts.mountFrom)}`;
      scopes = [...push, `repository:${opts.mountFrom}:pull`];
    }
    let res = await this.request(startPath, { method: 'POST', scopes });
    if (res.status === 201) {
      await res.discard();
      return 'mounted';
    }
    if (res.status !== 202)
      throw await this.failure(res, { repo, familiar, action: 'push', subject: `blob upload ${desc.digest}` });
    let location = this.uploadLocation(res);
    await res.discard();
    const file = await open(store.blobPath(desc.digest), 'r');
    try {
      if (desc.size <= this.chunkBytes) {
        const data = Buffer.alloc(desc.size);
        await file.read(data, 0, desc.size, 0);
        res = await this.uploadRequest(location, 'PUT', data, { digest: desc.digest }, scopes);
        if (res.status !== 201)
          throw await this.failure(res, { repo, familiar, action: 'push', subject: `blob upload ${desc.digest}` });
        await res.discard();
        opts.onProgress?.(desc.size);
        return 'pushed';
      }
      for (let offset = 0; offset < desc.size; offset += this.chunkBytes) {
        const n = Math.min(this.chunkBytes, desc.size - offset);
        const data = Buffer.alloc(n);
        await file.read(data, 0, n, offset);
        res = await this.uploadRequest(location, 'PATCH', data, {}, scopes, {
          'content-range': `${offset}-${offset + n - 1}`,
        });
        if (res.status !== 202)
          throw await this.failure(res, { repo, familiar, action: 'push', subject: `blob upload ${desc.digest}` });
        location = this.uploadLocation(res);
        await res.discard();
        opts.onProgress?.(offset + n);
      }
      res = await this.uploadRequest(location, 'PUT', Buffer.alloc(0), { digest: desc.digest }, scopes);
      if (res.status !== 201)
        throw await this.failure(res, { repo, familiar, action: 'push', subject: `blob upload ${desc.digest}` });
      await res.discard();
      return 'pushed';
    } finally {
      await file.close();
    }
  }

  private uploadLocation(res: TimedResponse): URL {
    const location = res.headers.get('location');
    if (!location)
      throw new RegistryError(`registry ${this.domain}: an upload answer without a Location header`, 'protocol');
    const url = new URL(location, this.base);
    const base = new URL(this.base);
    if (base.protocol === 'https:' && url.protocol !== 'https:' && !isLoopbackHost(url.hostname)) {
      throw new RegistryError(`registry ${this.domain}: refusing to upload to ${url.origin} without TLS`, 'protocol');
    }
    return url;
  }

  /** PATCH/PUT to an upload location (which may carry its own query, e.g. _state). Authorization
   *  goes along only when the location is on the registry's own origin. */
  private async uploadRequest(
    location: URL,
    method: string,
    data: Buffer,
    query: Record<string, string>,
    scopes: Scope[],
    headers: Record<string, string> = {},
  ): Promise<TimedResponse> {
    const url = new URL(location);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    const same = url.origin === new URL(this.base).origin;
    const o: RequestOptions = {
      method,
      body: data,
      scopes,
      headers: { 'content-type': 'application/octet-stream', ...headers },
    };
    if (!same) return this.send(url, o, undefined);
    return this.request(url.pathname + url.search, o);
  }

  /** PUT a manifest under a tag (or digest); returns the digest the registry reports, checked against ours. */
  async putManifest(repo: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
    const res = await this.request(`/v2/${repo}/manifests/${reference}`, {
      method: 'PUT',
      body,
      headers: { 'content-type': mediaType },
      scopes: [`repository:${repo}:pull,push`],
    });
    if (res.status !== 201 && res.status !== 200)
      throw await this.failure(res, { repo, familiar: repo, action: 'push', subject: `${repo}:${reference}` });
    await res.discard();
    const digest = sha256(body);
    const reported = res.headers.get('docker-content-digest');
    if (reported && reported !== digest)
      throw new RegistryError(
        `registry ${this.domain} stored the manifest as ${reported}, but its digest is ${digest}`,
        'integrity',
      );
    return digest;
  }

  /** GET /v2/: is this a registry, and does it answer? (used by tests and doctor-like checks) */
  async ping(): Promise<number> {
    const res = await this.request('/v2/', { scopes: [] });
    await res.discard();
    return res.status;
  }
}
