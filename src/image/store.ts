// The image store: an OCI image layout under the runtime's root, so any OCI tool can read it
// (e.g. `skopeo inspect oci:/var/lib/nsx/images:docker.io/library/busybox:latest`).
//
//   <root>/images/oci-layout          {"imageLayoutVersion": "1.0.0"}
//   <root>/images/index.json          the named manifests (annotation org.opencontainers.image.ref.name)
//   <root>/images/blobs/sha256/<hex>  content-addressed: a file's name is the sha256 of its bytes
//   <root>/images/ingest/             half-written blobs and the leases of pulls in progress
//
// Every blob is written to ingest/, hashed while written, checked, and only then renamed into
// blobs/: a reader never sees a half-written or wrong blob. index.json is replaced by rename too,
// under a lock file, so concurrent nsx processes do not lose each other's updates.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { NsxError } from '../runtime/errors.js';
import {
  candidates,
  DEFAULT_TAG,
  familiarName,
  formatReference,
  parseReference,
  repositoryName,
  SHA256_DIGEST_RE,
  withDefaultTag,
  type ImageReference,
} from './reference.js';
import { ingestBlob, Lease, leasedBlobs, removeDeadIngest, withLockFile, writeFileAtomic } from './ingest.js';
import { loadRegistriesConfig } from './registries.js';
import {
  MediaType,
  REF_NAME_ANNOTATION,
  REPO_DIGEST_ANNOTATION,
  type Descriptor,
  type ImageSummary,
  type OciImageConfig,
  type OciIndex,
  type OciManifest,
} from './types.js';

export { Lease } from './ingest.js';

/** The runtime's root: $NSX_ROOT, else /var/lib/nsx as root, else $XDG_DATA_HOME/nsx (~/.local/share/nsx). */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? 0): string {
  if (env.NSX_ROOT) return env.NSX_ROOT;
  if (uid === 0) return '/var/lib/nsx';
  return join(env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share'), 'nsx');
}

export interface ResolvedImage {
  /** The full normalized reference it was found by (or its first name when found by id). */
  ref: string;
  manifestDigest: string;
  manifest: OciManifest;
  config: OciImageConfig;
  configDigest: string;
}

export interface RemoveOptions {
  force?: boolean;
  /** Is a container using this image? true, or the container's id, blocks removal (docker's conflict). */
  inUse?: (manifestDigest: string) => boolean | string;
  /** Called for each layer (uncompressed digest) no image uses any more, after its blob is gone. */
  onLayerUnused?: (diffId: string) => void;
}

export interface StoreOptions {
  /** Registries an unqualified name is looked up in (default: registries.json's list). */
  searchRegistries?: string[];
  onLayerUnused?: (diffId: string) => void;
  /** How long to wait for another nsx process's lock on index.json (ms). */
  lockTimeoutMs?: number;
}

export interface WriteBlobOptions {
  /** Stop reading past this many bytes (a registry sending more than the descriptor said). */
  expectedSize?: number;
  onProgress?: (bytes: number) => void;
}

export interface WrittenBlob {
  digest: string;
  size: number;
  /** True when the blob was already in the store (the new copy was dropped). */
  existed: boolean;
}

const EMPTY_INDEX: OciIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };

/** A short image id as docker prints it: 12 hex digits. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** sha256 of bytes, as "sha256:<hex>". */
export function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** docker's layer chain ids: chain(L0) = diff(L0), chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

export class ImageStore {
  readonly root: string;
  readonly imagesDir: string;
  readonly blobsDir: string;
  readonly ingestDir: string;
  onLayerUnused?: (diffId: string) => void;
  private readonly opts: StoreOptions;
  private searchList?: string[];

  constructor(root?: string, opts: StoreOptions = {}) {
    this.root = root ?? defaultRoot();
    this.imagesDir = join(this.root, 'images');
    this.blobsDir = join(this.imagesDir, 'blobs', 'sha256');
    this.ingestDir = join(this.imagesDir, 'ingest');
    this.opts = opts;
    this.onLayerUnused = opts.onLayerUnused;
    this.searchList = opts.searchRegistries;
  }

  /** The registries an unqualified name is looked up in. */
  searchRegistries(): string[] {
    return (this.searchList ??= loadRegistriesConfig().unqualifiedSearchRegistries);
  }

  /** <root>/images/blobs/sha256/<hex>. Only well-formed sha256 digests: a digest is never a path. */
  blobPath(digest: string): string {
    if (!SHA256_DIGEST_RE.test(digest))
      throw new NsxError(`invalid digest "${digest}": expected sha256:<64 lowercase hex digits>`);
    return join(this.blobsDir, digest.slice('sha256:'.length));
  }

  hasBlob(digest: string): boolean {
    return existsSync(this.blobPath(digest));
  }

  /** Creates the layout's directories and files if missing. */
  ensureLayout(): void {
    mkdirSync(this.blobsDir, { recursive: true });
    mkdirSync(this.ingestDir, { recursive: true });
    const layout = join(this.imagesDir, 'oci-layout');
    if (!existsSync(layout)) writeFileAtomic(this.ingestDir, layout, JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const index = join(this.imagesDir, 'index.json');
    if (!existsSync(index)) writeFileAtomic(this.ingestDir, index, JSON.stringify(EMPTY_INDEX));
  }

  /**
   * Streams DATA into ingest/, hashing it; checks the digest (and size) against what was expected,
   * then renames it into blobs/. On any failure the temp file is removed and nothing is in blobs/.
   */
  async writeBlob(
    data: Buffer | AsyncIterable<Uint8Array>,
    expectedDigest?: string,
    opts: WriteBlobOptions = {},
  ): Promise<WrittenBlob> {
    if (expectedDigest !== undefined) this.blobPath(expectedDigest); // validates the form
    this.ensureLayout();
    const { tmp, digest, size } = await ingestBlob(this.ingestDir, data, expectedDigest, opts);
    const dest = this.blobPath(digest);
    if (existsSync(dest)) {
      rmSync(tmp, { force: true });
      return { digest, size, existed: true };
    }
    renameSync(tmp, dest);
    return { digest, size, existed: false };
  }

  /** A JSON blob (manifest, index, config), checked against its digest before it is trusted. */
  readJson<T>(digest: string): T {
    const data = readFileSync(this.blobPath(digest));
    if (sha256(data) !== digest)
      throw new NsxError(`image store: blob ${digest} is corrupt (its content does not match its digest)`, {
        hint: `Remove the image and pull it again (nsx rmi -f ${shortId(digest)}).`,
      });
    return JSON.parse(data.toString('utf8')) as T;
  }

  readIndex(): OciIndex {
    try {
      const index = JSON.parse(readFileSync(join(this.imagesDir, 'index.json'), 'utf8')) as OciIndex;
      if (!Array.isArray(index.manifests)) throw new Error('no "manifests" list');
      return index;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { ...EMPTY_INDEX, manifests: [] };
      throw new NsxError(`image store: ${join(this.imagesDir, 'index.json')} is unreadable: ${(e as Error).message}`);
    }
  }

  /** Runs FN on index.json under the store's lock and writes back what it returns. */
  updateIndex<T>(fn: (index: OciIndex) => T): T {
    this.ensureLayout();
    return this.withLock(() => {
      const index = this.readIndex();
      const result = fn(index);
      writeFileAtomic(this.ingestDir, join(this.imagesDir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
      return result;
    });
  }

  /** A lock file created with O_EXCL holding our pid; a lock whose process is gone is stale and taken over. */
  withLock<T>(fn: () => T): T {
    this.ensureLayout();
    return withLockFile(join(this.imagesDir, 'index.json.lock'), this.opts.lockTimeoutMs ?? 10000, this.imagesDir, fn);
  }

  /** Starts a lease: blobs added to it survive garbage collection until it is released. */
  lease(): Lease {
    this.ensureLayout();
    return new Lease(this, join(this.ingestDir, `lease-${process.pid}-${randomBytes(6).toString('hex')}.json`));
  }

  /** Removes, under the lock, those of DIGESTS that no image in index.json and no other pull in
   *  progress uses (a failed pull's blobs; OWN is that pull's lease). */
  discardBlobs(digests: Iterable<string>, own?: Lease): void {
    const list = [...digests];
    if (list.length === 0) return;
    this.withLock(() => {
      const used = this.referencedBlobs(this.readIndex());
      for (const d of leasedBlobs(this.ingestDir, own?.file)) used.add(d);
      for (const d of list) if (!used.has(d)) rmSync(this.blobPath(d), { force: true });
    });
  }

  /** Records REF (any form; normalized, ":latest" when it has no tag or digest) → the manifest
   *  MANIFESTDIGEST in index.json; ANNOTATIONS are kept on its entry (commit.ts's parent, build cache). */
  addImage(
    ref: string,
    manifestDigest: string,
    opts: { repoDigest?: string; annotations?: Record<string, string> } = {},
  ): void {
    const name = formatReference(withDefaultTag(parseReference(ref)));
    const manifestBytes = readFileSync(this.blobPath(manifestDigest));
    if (sha256(manifestBytes) !== manifestDigest)
      throw new NsxError(`image store: manifest ${manifestDigest} is corrupt`);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as OciManifest;
    for (const d of [manifest.config, ...manifest.layers]) {
      if (!this.hasBlob(d.digest))
        throw new NsxError(`image store: manifest ${manifestDigest} names blob ${d.digest}, which is not in the store`);
    }
    const descriptor: Descriptor = {
      mediaType: manifest.mediaType ?? MediaType.ociManifest,
      digest: manifestDigest,
      size: manifestBytes.length,
      annotations: {
        ...opts.annotations,
        [REF_NAME_ANNOTATION]: name,
        ...(opts.repoDigest ? { [REPO_DIGEST_ANNOTATION]: opts.repoDigest } : {}),
      },
    };
    this.updateIndex((index) => {
      // What the store knew of the image before it had this name (commit.ts's parent and build
      // cache) stays with it.
      const carried: Record<string, string> = {};
      for (const m of index.manifests.filter((x) => x.digest === manifestDigest))
        for (const [k, v] of Object.entries(m.annotations ?? {}))
          if (k !== REF_NAME_ANNOTATION && k !== REPO_DIGEST_ANNOTATION) carried[k] = v;
      descriptor.annotations = { ...carried, ...descriptor.annotations };
      const previous = index.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === name);
      index.manifests = index.manifests.filter(
        (m) =>
          m.annotations?.[REF_NAME_ANNOTATION] !== name &&
          !(m.digest === manifestDigest && !m.annotations?.[REF_NAME_ANNOTATION]),
      );
      // A repo digest recorded by an earlier pull of the same image under another tag stays known.
      if (!opts.repoDigest) {
        const known = index.manifests.find(
          (m) => m.digest === manifestDigest && m.annotations?.[REPO_DIGEST_ANNOTATION] && sameRepo(m, name),
        );
        if (known) descriptor.annotations![REPO_DIGEST_ANNOTATION] = known.annotations![REPO_DIGEST_ANNOTATION];
      }
      index.manifests.push(descriptor);
      // The tag moved: the image it named stays, untagged, as docker's "<none>" (dangling) image.
      if (
        previous &&
        previous.digest !== manifestDigest &&
        !index.manifests.some((m) => m.digest === previous.digest)
      ) {
        const { [REF_NAME_ANNOTATION]: _gone, ...rest } = previous.annotations ?? {};
        index.manifests.push({ ...previous, annotations: rest });
      }
    });
  }

  /** The image's manifest and config by manifest digest. */
  private load(manifestDigest: string, ref: string): ResolvedImage {
    const manifest = this.readJson<OciManifest>(manifestDigest);
    const config = this.readJson<OciImageConfig>(manifest.config.digest);
    return { ref, manifestDigest, manifest, config, configDigest: manifest.config.digest };
  }

  /** The index.json entries REF names, or undefined. Accepts names (familiar or full; unqualified ones
   *  in search-list order), NAME@DIGEST, a manifest digest, an image id (config digest) or a unique prefix. */
  private find(text: string, index: OciIndex = this.readIndex()): { entries: Descriptor[]; byId: boolean } | undefined {
    const full = /^(sha256:)?([a-f0-9]{64})$/.exec(text);
    if (full) {
      const d = `sha256:${full[2]}`;
      const hits = index.manifests.filter((m) => m.digest === d || this.configDigestOf(m.digest) === d);
      return hits.length ? { entries: hits, byId: true } : undefined;
    }
    let parsed: ImageReference | undefined;
    try {
      parsed = parseReference(text);
    } catch {
      parsed = undefined;
    }
    if (parsed) {
      const wanted = parsed.tag === undefined && parsed.digest === undefined ? { ...parsed, tag: DEFAULT_TAG } : parsed;
      for (const c of candidates(wanted, this.searchRegistriesFor(wanted))) {
        const hits = index.manifests.filter((m) => matches(m, c));
        if (hits.length) return { entries: hits.slice(0, 1), byId: false };
      }
    }
    const prefix = /^(?:sha256:)?([a-f0-9]{1,63})$/.exec(text);
    if (prefix) {
      const ids = new Map<string, Descriptor[]>();
      for (const m of index.manifests) {
        const id = this.configDigestOf(m.digest);
        if (id?.slice(7).startsWith(prefix[1])) ids.set(id, [...(ids.get(id) ?? []), m]);
      }
      if (ids.size > 1)
        throw new NsxError(
          `Error response from daemon: image id prefix "${prefix[1]}" is ambiguous: it matches ${ids.size} images`,
          { hint: 'Give more digits of the IMAGE ID.' },
        );
      if (ids.size === 1) return { entries: [...ids.values()][0], byId: true };
    }
    return undefined;
  }

  private searchRegistriesFor(ref: ImageReference): string[] {
    return ref.qualified ? [] : this.searchRegistries();
  }

  private configDigestOf(manifestDigest: string): string | undefined {
    try {
      return this.readJson<OciManifest>(manifestDigest).config.digest;
    } catch {
      return undefined;
    }
  }

  resolve(ref: string): ResolvedImage | undefined {
    const found = this.find(ref);
    if (!found) return undefined;
    const e = found.entries[0];
    return this.load(e.digest, e.annotations?.[REF_NAME_ANNOTATION] ?? e.digest);
  }

  /** The rows of `docker images`: one per name, "<none>" for dangling images; newest first. */
  list(): ImageSummary[] {
    const rows: ImageSummary[] = [];
    for (const m of this.readIndex().manifests) {
      let manifest: OciManifest;
      let config: OciImageConfig;
      try {
        manifest = this.readJson<OciManifest>(m.digest);
        config = this.readJson<OciImageConfig>(manifest.config.digest);
      } catch {
        continue; // a broken entry is shown by nothing rather than breaking the listing
      }
      const name = m.annotations?.[REF_NAME_ANNOTATION];
      const ref = name ? parseReference(name) : undefined;
      rows.push({
        repository: ref ? familiarName(ref) : '<none>',
        tag: ref?.tag ?? '<none>',
        digest: m.annotations?.[REPO_DIGEST_ANNOTATION] ?? ref?.digest ?? '<none>',
        id: manifest.config.digest,
        created: config.created,
        size: manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
        manifestDigest: m.digest,
        ref: name,
      });
    }
    return rows.sort(
      (a, b) =>
        (b.created ?? '').localeCompare(a.created ?? '') ||
        a.repository.localeCompare(b.repository) ||
        a.tag.localeCompare(b.tag),
    );
  }

  /** The names and repo digests of one image, for `image inspect`. */
  namesOf(manifestDigest: string): { repoTags: string[]; repoDigests: string[] } {
    const repoTags: string[] = [];
    const repoDigests = new Set<string>();
    for (const m of this.readIndex().manifests.filter((x) => x.digest === manifestDigest)) {
      const name = m.annotations?.[REF_NAME_ANNOTATION];
      if (!name) continue;
      const ref = parseReference(name);
      if (ref.tag !== undefined) repoTags.push(`${familiarName(ref)}:${ref.tag}`);
      const digest = ref.digest ?? m.annotations?.[REPO_DIGEST_ANNOTATION];
      if (digest) repoDigests.add(`${familiarName(ref)}@${digest}`);
    }
    return { repoTags, repoDigests: [...repoDigests] };
  }

  /** docker tag SOURCE TARGET. */
  tag(source: string, target: string): void {
    const image = this.resolve(source);
    if (!image) throw new NsxError(`Error response from daemon: No such image: ${source}`, { exitCode: 1 });
    const t = parseReference(target);
    if (t.digest !== undefined) throw new NsxError('refusing to create a tag with a digest reference', { exitCode: 1 });
    this.addImage(formatReference({ ...t, tag: t.tag ?? DEFAULT_TAG }), image.manifestDigest);
  }

  /**
   * docker rmi REF: untags; when the image has no names left (or is removed by id), deletes it and
   * garbage-collects the blobs no image uses. Returns docker's lines ("Untagged: …", "Deleted: …").
   */
  remove(ref: string, opts: RemoveOptions = {}): string[] {
    const onLayerUnused = opts.onLayerUnused ?? this.onLayerUnused;
    const lines: string[] = [];
    const unusedLayers: string[] = [];
    this.withLock(() => {
      const index = this.readIndex();
      const found = this.find(ref, index); // entries are objects of INDEX: compared by identity below
      if (!found) throw new NsxError(`Error response from daemon: No such image: ${displayRef(ref)}`, { exitCode: 1 });
      const manifestDigest = found.entries[0].digest;
      const configDigest = this.configDigestOf(manifestDigest) ?? manifestDigest;
      const id = shortId(configDigest);
      const sameImage = index.manifests.filter((m) => m.digest === manifestDigest);
      const named = sameImage.filter((m) => m.annotations?.[REF_NAME_ANNOTATION]);
      const user = opts.inUse?.(manifestDigest);
      const container = typeof user === 'string' ? `container ${shortId(user)}` : 'a container';
      let untag: Descriptor[];
      if (found.byId) {
        const repos = new Set(named.map((m) => repositoryName(parseReference(m.annotations![REF_NAME_ANNOTATION]))));
        if (repos.size > 1 && !opts.force) {
          throw new NsxError(
            `Error response from daemon: conflict: unable to delete ${id} (must be forced) - image is referenced in multiple repositories`,
            { exitCode: 1, hint: `Remove it by name, or force: nsx rmi -f ${id}` },
          );
        }
        if (user)
          throw new NsxError(
            `Error response from daemon: conflict: unable to delete ${id} (cannot be forced) - image is being used by ${container}`,
            { exitCode: 1 },
          );
        untag = named;
      } else {
        untag = found.entries;
        if (user && !opts.force && named.length <= 1) {
          throw new NsxError(
            `Error response from daemon: conflict: unable to remove repository reference "${ref}" (must force) - ${container} is using its referenced image ${id}`,
            { exitCode: 1 },
          );
        }
      }
      for (const m of untag) {
        const r = parseReference(m.annotations![REF_NAME_ANNOTATION]);
        lines.push(`Untagged: ${familiarName(r)}${r.tag !== undefined ? `:${r.tag}` : `@${r.digest}`}`);
      }
      index.manifests = index.manifests.filter((m) => !untag.includes(m));
      const namesLeft = index.manifests.some(
        (m) => m.digest === manifestDigest && m.annotations?.[REF_NAME_ANNOTATION],
      );
      if (!namesLeft && user) {
        // Forced off a container's image: docker keeps the image, untagged, for the container.
        if (!index.manifests.some((m) => m.digest === manifestDigest))
          index.manifests.push({ ...found.entries[0], annotations: {} });
      } else if (!namesLeft) {
        for (const r of new Set(
          sameImage.map((m) =>
            m.annotations?.[REPO_DIGEST_ANNOTATION] && m.annotations?.[REF_NAME_ANNOTATION]
              ? `${familiarName(parseReference(m.annotations[REF_NAME_ANNOTATION]))}@${m.annotations[REPO_DIGEST_ANNOTATION]}`
              : '',
          ),
        )) {
          if (r && !lines.includes(`Untagged: ${r}`)) lines.push(`Untagged: ${r}`);
        }
        index.manifests = index.manifests.filter((m) => m.digest !== manifestDigest);
        lines.push(`Deleted: ${configDigest}`);
      }
      writeFileAtomic(this.ingestDir, join(this.imagesDir, 'index.json'), JSON.stringify(index, null, 2) + '\n');
      if (!namesLeft && !user) lines.push(...this.collectGarbage(index, manifestDigest, unusedLayers));
    });
    for (const d of unusedLayers) onLayerUnused?.(d);
    return lines;
  }

  /** Deletes blobs no image (and no pull in progress) uses; returns "Deleted: <chain id>" lines for
   *  REMOVED's layers that went, and collects their diff ids into UNUSEDLAYERS. Under the lock. */
  private collectGarbage(index: OciIndex, removed: string, unusedLayers: string[]): string[] {
    const used = this.referencedBlobs(index);
    for (const d of leasedBlobs(this.ingestDir)) used.add(d);
    const lines: string[] = [];
    // What the removed image was made of, read before its blobs go.
    let removedConfig: OciImageConfig | undefined;
    try {
      removedConfig = this.readJson<OciImageConfig>(this.readJson<OciManifest>(removed).config.digest);
    } catch {
      removedConfig = undefined;
    }
    const keptDiffIds = new Set<string>();
    const keptChains = new Set<string>();
    for (const m of index.manifests) {
      try {
        const diffIds = this.readJson<OciImageConfig>(this.readJson<OciManifest>(m.digest).config.digest).rootfs
          .diff_ids;
        diffIds.forEach((d) => keptDiffIds.add(d));
        chainIds(diffIds).forEach((c) => keptChains.add(c));
      } catch {
        /* unreadable entry: keeps nothing */
      }
    }
    let names: string[] = [];
    try {
      names = readdirSync(this.blobsDir);
    } catch {
      /* no blobs */
    }
    for (const hex of names) {
      const digest = `sha256:${hex}`;
      if (!SHA256_DIGEST_RE.test(digest) || used.has(digest)) continue;
      rmSync(join(this.blobsDir, hex), { force: true });
    }
    if (removedConfig) {
      const ids = removedConfig.rootfs.diff_ids;
      chainIds(ids).forEach((c, i) => {
        if (!keptChains.has(c)) lines.push(`Deleted: ${c}`);
        if (!keptDiffIds.has(ids[i]) && !unusedLayers.includes(ids[i])) unusedLayers.push(ids[i]);
      });
    }
    return lines;
  }

  /** Every blob the images in INDEX use: their manifests, configs and layers. */
  private referencedBlobs(index: OciIndex): Set<string> {
    const used = new Set<string>();
    for (const m of index.manifests) {
      used.add(m.digest);
      try {
        const manifest = this.readJson<OciManifest>(m.digest);
        used.add(manifest.config.digest);
        for (const l of manifest.layers) used.add(l.digest);
      } catch {
        /* a missing manifest keeps nothing else */
      }
    }
    return used;
  }

  /** Size of a blob in bytes, or undefined. */
  blobSize(digest: string): number | undefined {
    try {
      return statSync(this.blobPath(digest)).size;
    } catch {
      return undefined;
    }
  }

  /** Removes half-written blobs left by nsx processes that died (never those of live ones). */
  cleanIngest(): void {
    removeDeadIngest(this.ingestDir);
  }
}

function sameRepo(m: Descriptor, name: string): boolean {
  const n = m.annotations?.[REF_NAME_ANNOTATION];
  return !!n && repositoryName(parseReference(n)) === repositoryName(parseReference(name));
}

/** Does index entry M stand for the fully qualified reference C? */
function matches(m: Descriptor, c: ImageReference): boolean {
  const name = m.annotations?.[REF_NAME_ANNOTATION];
  if (!name) return false;
  const r = parseReference(name);
  if (repositoryName(r) !== repositoryName(c)) return false;
  if (c.digest !== undefined)
    return m.digest === c.digest || m.annotations?.[REPO_DIGEST_ANNOTATION] === c.digest || r.digest === c.digest;
  return r.tag === c.tag;
}

/** docker adds ":latest" to names in "No such image" messages. */
export function displayRef(text: string): string {
  try {
    const r = parseReference(text);
    return r.tag === undefined && r.digest === undefined ? `${text}:latest` : text;
  } catch {
    return text;
  }
}
