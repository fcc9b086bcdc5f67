// The registry client's HTTP: its errors (the registry's {"errors":[{"code","message"}]} body, kept
// for docker's wording; a failed connection in Go's words) and fetch with timeouts, one for the
// headers, then one for every silence while the body is read, and a bound on a body's size.
import { NsxError } from '../runtime/errors.js';

// Errors: the registry's {"errors":[{"code","message"}]} body, kept for docker's wording.

export type RegistryErrorKind =
  'not-found' | 'denied' | 'unreachable' | 'timeout' | 'protocol' | 'integrity' | 'unsupported';

export class RegistryError extends NsxError {
  constructor(
    message: string,
    readonly kind: RegistryErrorKind,
    readonly status?: number,
    readonly code?: string,
    hint?: string,
  ) {
    super(message, hint ? { hint } : {});
    this.name = 'RegistryError';
  }
}

export interface ErrorBody {
  code?: string;
  message?: string;
}

export function causeOf(e: unknown): string {
  const err = e as { message?: string; cause?: { message?: string; code?: string } };
  return err?.cause?.code ?? err?.cause?.message ?? err?.message ?? String(e);
}

// ---------------------------------------------------------------------------------------------
// fetch with timeouts: one for the headers, then one for every silence while the body is read.

/** A failed connection in Go's (docker's) words: "dial tcp: lookup HOST: no such host". */
export function connectionError(e: unknown, url: URL, method: string): RegistryError {
  const code = causeOf(e);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const what: Record<string, string> = {
    ENOTFOUND: `dial tcp: lookup ${host}: no such host`,
    EAI_AGAIN: `dial tcp: lookup ${host}: temporary failure in name resolution`,
    ECONNREFUSED: `dial tcp ${url.host.includes(':') ? url.host : `${url.host}:${port}`}: connect: connection refused`,
    ECONNRESET: `read tcp ${url.host}: connection reset by peer`,
    ENETUNREACH: `dial tcp ${url.host}: connect: network is unreachable`,
    EHOSTUNREACH: `dial tcp ${url.host}: connect: no route to host`,
  };
  const tls =
    url.protocol === 'https:' &&
    /EPROTO|ERR_SSL|wrong version|certificate|CERT_|self.signed/i.test(
      `${code} ${String((e as { cause?: unknown }).cause ?? e)}`,
    );
  const hint = tls
    ? `${url.host} did not complete a TLS handshake nsx trusts (${code}). A registry off loopback needs TLS with a trusted certificate, unless it is listed in "insecure" in registries.json.`
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENETUNREACH'
      ? 'No network, or no such registry. Offline, serve images from a local registry and list it first in registries.json ("unqualifiedSearchRegistries").'
      : code === 'bad port'
        ? `Node's fetch refuses port ${port} (one of the fetch standard's blocked ports). Run the registry on another port, e.g. 5000.`
        : `Is the registry running at ${url.origin}?`;
  return new RegistryError(
    `Error response from daemon: ${method === 'GET' ? 'Get' : method === 'HEAD' ? 'Head' : method === 'PUT' ? 'Put' : method === 'POST' ? 'Post' : method === 'PATCH' ? 'Patch' : method} "${url.href}": ${what[code] ?? `dial tcp ${url.host}: ${code}`}`,
    'unreachable',
    undefined,
    undefined,
    hint,
  );
}

export interface TimedResponse {
  status: number;
  ok: boolean;
  headers: Headers;
  /** The body as chunks; each wait for the next chunk is bounded by the timeout. */
  chunks(): AsyncIterable<Uint8Array>;
  /** The whole body, at most LIMIT bytes (more is an error). */
  readBody(limit: number): Promise<Buffer>;
  /** Drops the body (frees the connection). */
  discard(): Promise<void>;
}

export async function timedFetch(
  url: URL,
  init: { method: string; headers: Record<string, string>; body?: Buffer },
  timeoutMs: number,
  domain: string,
): Promise<TimedResponse> {
  const controller = new AbortController();
  let timedOut = false;
  let timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, timeoutMs);
  const timeoutError = () =>
    new RegistryError(
      `registry ${domain} did not answer within ${timeoutMs / 1000} s (${init.method} ${url.pathname})`,
      'timeout',
      undefined,
      undefined,
      'The registry hangs or the network is down. Nothing was stored. Check the registry, then pull again.',
    );
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method,
      headers: init.headers,
      body: init.body as unknown as RequestInit['body'],
      redirect: 'manual',
      signal: controller.signal,
    });
  } catch (e) {
    clearTimeout(timer);
    if (timedOut) throw timeoutError();
    throw connectionError(e, url, init.method);
  }
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
  };
  rearm();
  const chunks = async function* (): AsyncIterable<Uint8Array> {
    if (!res.body) {
      clearTimeout(timer);
      return;
    }
    const reader = res.body.getReader();
    let finished = false;
    try {
      for (;;) {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await reader.read();
        } catch (e) {
          finished = true; // the stream errored: nothing to cancel
          if (timedOut) throw timeoutError();
          throw e;
        }
        if (r.done) {
          finished = true;
          return;
        }
        rearm();
        yield r.value;
      }
    } finally {
      clearTimeout(timer);
      // The consumer stopped early (an error, a size limit): close the connection.
      if (!finished) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  };
  return {
    status: res.status,
    ok: res.ok,
    headers: res.headers,
    chunks,
    async readBody(limit: number) {
      const parts: Uint8Array[] = [];
      let n = 0;
      for await (const c of chunks()) {
        n += c.length;
        if (n > limit) {
          controller.abort();
          throw new RegistryError(
            `registry ${domain}: answer to ${init.method} ${url.pathname} is larger than ${limit} bytes`,
            'protocol',
          );
        }
        parts.push(c);
      }
      return Buffer.concat(parts);
    },
    async discard() {
      clearTimeout(timer);
      try {
        await res.body?.cancel();
      } catch {
        /* already closed */
      }
    },
  };
}
