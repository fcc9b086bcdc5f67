// docker login: are these credentials good at this registry? The registry API's base endpoint says
// (distribution spec, "GET /v2/"): 200 with them sent as HTTP Basic; or 401 with a Bearer challenge,
// whose token realm hands out a token for them (docker's token auth, distribution/docs/spec/auth/
// token.md) or refuses them with 401. Credentials go only over TLS or to loopback (registry-auth.ts's
// rule). Good ones are stored as docker stores them: $DOCKER_CONFIG/config.json (~/.docker), "auths"
// → {"host": {"auth": base64("user:password")}}, mode 0600; pulls read them from there.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NsxError } from '../runtime/errors.js';
import { DEFAULT_DOMAIN } from './reference.js';
import { loadRegistriesConfig } from './registries.js';
import { mayCarryCredentials, parseWWWAuthenticate, transportFor, type Credentials } from './registry-auth.js';

/** docker's key for Docker Hub in config.json. */
export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

/** The registry's name from docker login's argument ("https://localhost:5000/" → "localhost:5000"). */
export function registryName(server: string | undefined): string {
  if (!server) return DEFAULT_DOMAIN;
  const s = server.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
  return s === 'index.docker.io' || s === 'registry-1.docker.io' ? DEFAULT_DOMAIN : s;
}

const denied = (registry: string) =>
  new NsxError(`login attempt to ${registry} failed with status: 401 Unauthorized`, {
    hint: 'the registry refused this username and password',
    exitCode: 1,
  });

/** Checks CREDS at REGISTRY (throws an NsxError when they are refused or it cannot be asked). */
export async function checkLogin(registry: string, creds: Credentials): Promise<void> {
  const { base } = transportFor(registry, loadRegistriesConfig().insecure);
  const url = new URL(`${base}/v2/`);
  const insecure = loadRegistriesConfig().insecure;
  if (!mayCarryCredentials(url, insecure))
    throw new NsxError(`${registry}: credentials go only over TLS or to a registry on loopback`);
  const basic = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
  const get = async (u: URL) => {
    try {
      return await fetch(u, { headers: { Authorization: basic }, signal: AbortSignal.timeout(15000) });
    } catch (e) {
      throw new NsxError(`cannot reach ${u.origin}: ${(e as Error).cause ?? (e as Error).message}`, { exitCode: 1 });
    }
  };
  const r = await get(url);
  if (r.ok) return;
  if (r.status !== 401) throw new NsxError(`login to ${registry}: the registry answered ${r.status} ${r.statusText}`);
  const bearer = parseWWWAuthenticate(r.headers.get('www-authenticate') ?? '').find((c) => c.scheme === 'bearer');
  if (!bearer?.params.realm) throw denied(registry);
  const realm = new URL(bearer.params.realm);
  if (bearer.params.service) realm.searchParams.set('service', bearer.params.service);
  if (!mayCarryCredentials(realm, insecure))
    throw new NsxError(`${registry}: its token realm ${realm.origin} is neither TLS nor loopback`);
  const t = await get(realm);
  if (!t.ok) throw denied(registry);
}

function configFile(env: NodeJS.ProcessEnv): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

/** Stores CREDS for REGISTRY in docker's config.json (mode 0600, written whole and renamed). */
export function storeLogin(registry: string, creds: Credentials, env: NodeJS.ProcessEnv = process.env): string {
  const file = configFile(env);
  let doc: { auths?: Record<string, { auth?: string }> } & Record<string, unknown> = {};
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as typeof doc;
  } catch {
    /* none yet */
  }
  const key = registry === DEFAULT_DOMAIN ? DOCKER_HUB_AUTH_KEY : registry;
  doc.auths = { ...doc.auths, [key]: { auth: Buffer.from(`${creds.username}:${creds.password}`).toString('base64') } };
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(doc, null, '\t') + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}
