// The registry client's rules for where requests go and what they carry: which scheme and host a
// registry name means (plain HTTP only on loopback or for registries listed insecure), credentials from
// docker's config.json and only to the registry itself or a token realm over TLS or on loopback, and
// the WWW-Authenticate challenge (RFC 7235) that says how to get a token. Used by registry.ts.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN } from './reference.js';

/** Docker Hub's API host: "docker.io" is a name, the registry answers at registry-1.docker.io. */
export const DOCKER_HUB_API_HOST = 'registry-1.docker.io';

export interface Credentials {
  username: string;
  password: string;
}

// ---------------------------------------------------------------------------------------------
// Transport: which scheme and host a registry name means.

/** The host part of "host[:port]" ("[::1]:5000" → "::1"). */
export function hostOf(domain: string): string {
  const v6 = /^\[([^\]]+)\]/.exec(domain);
  if (v6) return v6[1];
  return domain.replace(/:\d+$/, '');
}

/** localhost, 127.0.0.0/8 and ::1: where Docker allows a registry without TLS. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  return !!v4 && Number(v4[1]) === 127 && v4.slice(2).every((x) => Number(x) <= 255);
}

/**
 * The base URL of a registry's API. TLS unless the registry is on loopback or listed insecure
 * (docker's rule: 127.0.0.0/8 is insecure by default, anything else only by configuration).
 */
export function transportFor(domain: string, insecure: readonly string[] = []): { base: string; secure: boolean } {
  const name = domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN ? DOCKER_HUB_API_HOST : domain;
  const plain = isLoopbackHost(hostOf(name)) || insecure.includes(domain) || insecure.includes(name);
  return { base: `${plain ? 'http' : 'https'}://${name}`, secure: !plain };
}

/** May credentials be sent to URL? Over TLS, or to loopback, or to a registry listed insecure. */
export function mayCarryCredentials(url: URL, insecure: readonly string[] = []): boolean {
  return (
    url.protocol === 'https:' ||
    (url.protocol === 'http:' && (isLoopbackHost(url.hostname) || insecure.includes(url.host)))
  );
}

// ---------------------------------------------------------------------------------------------
// Credentials: docker's own config.json, so `docker login` works for nsx too.

/** Reads auths from $DOCKER_CONFIG/config.json (~/.docker/config.json). Credential helpers are not run. */
export function dockerCredentials(domain: string, env: NodeJS.ProcessEnv = process.env): Credentials | undefined {
  const file = join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
  let auths: Record<string, { auth?: string; username?: string; password?: string }>;
  try {
    auths = JSON.parse(readFileSync(file, 'utf8')).auths ?? {};
  } catch {
    return undefined;
  }
  const keys =
    domain === DEFAULT_DOMAIN || domain === LEGACY_DEFAULT_DOMAIN
      ? ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', DOCKER_HUB_API_HOST]
      : [domain, `https://${domain}`, `http://${domain}`, `https://${domain}/v1/`];
  for (const k of keys) {
    const a = auths[k];
    if (!a) continue;
    if (a.username && a.password) return { username: a.username, password: a.password };
    if (a.auth) {
      const text = Buffer.from(a.auth, 'base64').toString('utf8');
      const colon = text.indexOf(':');
      if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// WWW-Authenticate (RFC 7235): `Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"`

export interface AuthChallenge {
  /** Lowercased: "bearer", "basic". */
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header into its challenges; parameter names lowercased, quotes undone. */
export function parseWWWAuthenticate(header: string): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  let i = 0;
  const s = header;
  const skipWs = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t')) i++;
  };
  const token = () => {
    const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(s.slice(i));
    if (!m) return '';
    i += m[0].length;
    return m[0];
  };
  while (i < s.length) {
    skipWs();
    if (s[i] === ',') {
      i++;
      continue;
    }
    const scheme = token();
    if (!scheme) break;
    const challenge: AuthChallenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skipWs();
      const save = i;
      const name = token();
      skipWs();
      if (!name || s[i] !== '=') {
        // Not a parameter: the next challenge's scheme (or a token68, which registries do not use).
        i = save;
        break;
      }
      i++;
      skipWs();
      let value = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          value += s[i++];
        }
        i++;
      } else {
        // Unquoted: RFC 7235 wants a token, but realms like https://x/token appear unquoted in the wild.
        const m = /^[^\s,"]*/.exec(s.slice(i))!;
        value = m[0];
        i += value.length;
      }
      challenge.params[name.toLowerCase()] = value;
      skipWs();
      if (s[i] === ',') {
        i++;
        // After a comma comes another parameter, or the next challenge (scheme then space).
        skipWs();
        const look = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*=/.exec(s.slice(i));
        if (!look) break;
      } else break;
    }
  }
  return out;
}
