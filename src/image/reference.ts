// Image references, parsed and normalized exactly as docker does (the distribution/reference
// grammar and its ParseNormalizedNamed): "busybox" is docker.io/library/busybox:latest.
//
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [domain "/"] path-component ["/" path-component]*
//   domain    := host [":" port]      (a word with "." or ":", or "localhost", or not lowercase)
//
// Unlike docker, nsx remembers whether the name had a domain: an unqualified name is looked up in
// the registries of registries.json in order (see registries.ts), as containers' registries.conf
// does with unqualified-search-registries.
import { NsxError } from '../runtime/errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
export const OFFICIAL_REPO_PREFIX = 'library/';
export const DEFAULT_TAG = 'latest';
export const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar's pieces, as distribution/reference's regexp.go builds them.
const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = host + optionalPort;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRe = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRe = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRe = new RegExp(`^${tagPat}$`);
const anchoredDomainRe = new RegExp(`^${domainAndPort}$`);
const identifierRe = /^[a-f0-9]{64}$/;
/** The only digest algorithm nsx accepts: sha256, 64 lowercase hex digits (as go-digest requires). */
export const SHA256_DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export interface ImageReference {
  /** "docker.io", "localhost:5000", "[::1]:5000". */
  domain: string;
  /** The repository path in that registry: "library/busybox", "dockerinaction/hello_world". */
  path: string;
  tag?: string;
  digest?: string;
  /** Whether the text named a registry; when not, registries.json's search list applies. */
  qualified: boolean;
}

/** A reference error in docker's words: "invalid reference format: ...". */
function invalid(message: string): NsxError {
  return new NsxError(message, {
    hint: 'An image reference is NAME[:TAG][@DIGEST], in lowercase, e.g. busybox:1.36 or localhost:5000/team/app@sha256:<64 hex>.',
  });
}

/** docker's splitDockerDomain: is the first component a registry host? */
function splitDockerDomain(name: string): { domain: string; remainder: string; qualified: boolean } {
  const slash = name.indexOf('/');
  if (slash < 0) return { domain: DEFAULT_DOMAIN, remainder: OFFICIAL_REPO_PREFIX + name, qualified: false };
  const maybeDomain = name.slice(0, slash);
  const rest = name.slice(slash + 1);
  let domain: string;
  let remainder: string;
  let qualified = true;
  if (maybeDomain === 'localhost') [domain, remainder] = [maybeDomain, rest];
  else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) [domain, remainder] = [DEFAULT_DOMAIN, rest];
  else if (/[.:]/.test(maybeDomain)) [domain, remainder] = [maybeDomain, rest];
  // Uppercase namespaces are not allowed, so an uppercase first element is taken as a host name.
  else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, remainder] = [maybeDomain, rest];
  else [domain, remainder, qualified] = [DEFAULT_DOMAIN, name, false];
  if (domain === DEFAULT_DOMAIN && !remainder.includes('/')) remainder = OFFICIAL_REPO_PREFIX + remainder;
  return { domain, remainder, qualified };
}

/**
 * docker's ParseNormalizedNamed: "busybox" → {docker.io, library/busybox}. Throws NsxError with
 * docker's message for invalid input. Neither adds a default tag nor drops one (see withDefaultTag).
 */
export function parseReference(text: string): ImageReference {
  if (identifierRe.test(text))
    throw invalid(`invalid repository name (${text}), cannot specify 64-byte hexadecimal strings`);
  if (text === '') throw invalid('invalid reference format: repository name must have at least one component');
  const { domain, remainder, qualified } = splitDockerDomain(text);
  const colon = remainder.indexOf(':');
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote)
    throw invalid(`invalid reference format: repository name (${remote}) must be lowercase`);
  const full = `${domain}/${remainder}`;
  const m = referenceRe.exec(full);
  if (!m) {
    const lower = full.toLowerCase();
    if (lower !== full && referenceRe.test(lower))
      throw invalid('invalid reference format: repository name must be lowercase');
    throw invalid('invalid reference format');
  }
  const name = anchoredNameRe.exec(m[1]);
  if (!name || name[1] === undefined) throw invalid('invalid reference format');
  if (name[2].length > NAME_TOTAL_LENGTH_MAX)
    throw invalid(
      `invalid reference format: repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`,
    );
  const ref: ImageReference = { domain: name[1], path: name[2], qualified };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    // go-digest: only registered algorithms, and sha256 is 64 lowercase hex digits.
    if (!m[3].startsWith('sha256:'))
      throw invalid(`invalid reference format: unsupported digest algorithm (${m[3].split(':')[0]})`);
    if (!SHA256_DIGEST_RE.test(m[3])) throw invalid('invalid reference format: invalid checksum digest format');
    ref.digest = m[3];
  }
  return ref;
}

/** docker's TagNameOnly: "latest" when there is neither a tag nor a digest. */
export function withDefaultTag(ref: ImageReference): ImageReference {
  return ref.tag === undefined && ref.digest === undefined ? { ...ref, tag: DEFAULT_TAG } : ref;
}

/** Parses and adds the default tag: what `docker pull TEXT` means. */
export function normalize(text: string): ImageReference {
  return withDefaultTag(parseReference(text));
}

/** "docker.io/library/busybox". */
export function repositoryName(ref: Pick<ImageReference, 'domain' | 'path'>): string {
  return `${ref.domain}/${ref.path}`;
}

/** The full normalized text: "docker.io/library/busybox:latest", "localhost:5000/x@sha256:…". */
export function formatReference(ref: ImageReference): string {
  return (
    repositoryName(ref) +
    (ref.tag !== undefined ? `:${ref.tag}` : '') +
    (ref.digest !== undefined ? `@${ref.digest}` : '')
  );
}

/** docker's FamiliarName: docker.io and library/ dropped, "busybox", "dockerinaction/hello_world". */
export function familiarName(ref: Pick<ImageReference, 'domain' | 'path'>): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** docker's FamiliarString: "busybox:latest", "localhost:5000/x@sha256:…". */
export function familiarString(ref: ImageReference): string {
  return (
    familiarName(ref) +
    (ref.tag !== undefined ? `:${ref.tag}` : '') +
    (ref.digest !== undefined ? `@${ref.digest}` : '')
  );
}

/** The tag to pull, or the digest when there is one (docker's ParseDockerRef: a digest wins over a tag). */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}

/** What the user wrote, without a registry: "dockerinaction/hello_world:latest" for messages about
 *  an unqualified name (docker's "Unable to find image '…' locally"). */
export function displayName(ref: ImageReference): string {
  return familiarString(ref);
}

/**
 * The fully qualified references an unqualified name stands for, one per search registry, in order.
 * A qualified reference stands for itself. The short path is kept as written ("busybox" is
 * localhost:5000/busybox there); only docker.io adds "library/".
 */
export function candidates(ref: ImageReference, searchRegistries: readonly string[]): ImageReference[] {
  if (ref.qualified) return [ref];
  const shortPath =
    ref.path.startsWith(OFFICIAL_REPO_PREFIX) && !ref.path.slice(OFFICIAL_REPO_PREFIX.length).includes('/')
      ? ref.path.slice(OFFICIAL_REPO_PREFIX.length)
      : ref.path;
  return searchRegistries.map((registry) => {
    const domain = registry === LEGACY_DEFAULT_DOMAIN ? DEFAULT_DOMAIN : registry;
    const path = domain === DEFAULT_DOMAIN && !shortPath.includes('/') ? OFFICIAL_REPO_PREFIX + shortPath : shortPath;
    return { ...ref, domain, path, qualified: true };
  });
}

/** Is TEXT a registry host[:port] as the grammar allows ("localhost:5000", "[::1]:5000", "docker.io")? */
export function isValidDomain(text: string): boolean {
  return anchoredDomainRe.test(text);
}

export function isValidTag(tag: string): boolean {
  return anchoredTagRe.test(tag);
}

/** A 64-hex image id, or a prefix of one (docker accepts unique prefixes of ids). */
export function looksLikeId(text: string): boolean {
  return /^(sha256:)?[a-f0-9]{1,64}$/.test(text);
}
