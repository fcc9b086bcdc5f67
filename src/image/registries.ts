// Which registries an unqualified name ("busybox", "dockerinaction/hello_world") is looked up in,
// in order, and which registries may be reached without TLS. Like containers' registries.conf
// (unqualified-search-registries, insecure), in JSON:
//
//   { "unqualifiedSearchRegistries": ["localhost:5000", "docker.io"], "insecure": ["myreg:5000"] }
//
// Read from $NSX_REGISTRIES_CONFIG, else /etc/nsx/registries.json as root, else
// $XDG_CONFIG_HOME/nsx/registries.json (~/.config/nsx/registries.json). Absent: Docker Hub only.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NsxError } from '../runtime/errors.js';
import { DEFAULT_DOMAIN, isValidDomain } from './reference.js';

export interface RegistriesConfig {
  unqualifiedSearchRegistries: string[];
  /** Registries reached over plain HTTP although they are not on loopback. */
  insecure: string[];
  /** The file it came from, or undefined for the defaults. */
  source?: string;
}

export const DEFAULT_REGISTRIES: RegistriesConfig = { unqualifiedSearchRegistries: [DEFAULT_DOMAIN], insecure: [] };

/** Where the config is read from, per the rules above. */
export function registriesConfigPath(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (env.NSX_REGISTRIES_CONFIG) return env.NSX_REGISTRIES_CONFIG;
  if (uid === 0) return '/etc/nsx/registries.json';
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(configHome, 'nsx', 'registries.json');
}

/** Reads and checks the config; the defaults when the file does not exist. */
export function loadRegistriesConfig(path = registriesConfigPath()): RegistriesConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...DEFAULT_REGISTRIES };
    throw new NsxError(`registries config ${path}: ${(e as Error).message}`);
  }
  return parseRegistriesConfig(text, path);
}

export function parseRegistriesConfig(text: string, source = 'registries.json'): RegistriesConfig {
  const bad = (why: string) =>
    new NsxError(`registries config ${source}: ${why}`, {
      hint: 'Expected JSON like {"unqualifiedSearchRegistries": ["localhost:5000", "docker.io"], "insecure": []}.',
    });
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const known = new Set(['unqualifiedSearchRegistries', 'insecure']);
  for (const k of Object.keys(obj)) if (!known.has(k)) throw bad(`unknown key "${k}"`);
  const list = (key: string, dflt: string[]): string[] => {
    const v = obj[key];
    if (v === undefined) return dflt;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
      throw bad(`"${key}" must be a list of registry hosts`);
    for (const host of v) if (!isValidDomain(host)) throw bad(`"${host}" in "${key}" is not a registry host[:port]`);
    return v;
  };
  const unqualifiedSearchRegistries = list('unqualifiedSearchRegistries', [DEFAULT_DOMAIN]);
  if (unqualifiedSearchRegistries.length === 0)
    throw bad('"unqualifiedSearchRegistries" is empty: unqualified names could never be found');
  return { unqualifiedSearchRegistries, insecure: list('insecure', []), source };
}
