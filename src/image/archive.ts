// docker save and docker load: images as one tar.
//
// save writes what docker 25+ writes (moby's image/tarexport): an OCI image layout (image-spec
// image-layout.md: oci-layout, index.json, blobs/sha256/<hex>) and, beside it, the older docker
// format's manifest.json ([{"Config": path, "RepoTags": [...], "Layers": [paths]}]) and repositories
// ({"repo": {"tag": id}}), both pointing into blobs/, so old and new readers can load it. The blobs are
// the store's own, byte for byte: the digests stay the same.
//
// load reads either: an OCI layout (index.json; the names from the annotations
// io.containerd.image.name, nsx's io.github.nsx.image.name (build.ts's sandbox layouts), or
// org.opencontainers.image.ref.name when it is a full reference, or
// manifest.json's RepoTags for that config) or docker's format (manifest.json: config and layers by
// path, the layers uncompressed or gzipped tars). Every blob goes through the store's ingest, which
// hashes it as written: a file under blobs/sha256/<hex> whose bytes are not that digest is refused,
// and a manifest naming a blob the tar did not have is refused. Then each image's layers are unpacked
// as a pull unpacks them (rootfs.ts unpackImage: each layer's diff id checked against the config,
// every entry's path checked by extract.ts), so a tar that would write outside a layer never becomes
// an image; on any failure what the load added goes again.
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pack, extract, type Pack } from 'tar-stream';
import { NsxError } from '../runtime/errors.js';
import { IMAGE_NAME_ANNOTATION } from './build.js';
import { compressionOf, decompressor } from './compression.js';
import { checkImageManifest } from './manifest-check.js';
import { familiarName, formatReference, parseReference, withDefaultTag } from './reference.js';
import { unpackImage } from './rootfs.js';
import { sha256, type ImageStore, type Lease, type ResolvedImage } from './store.js';
import { readLayerRecord, removeLayer } from './layers.js';
import {
  MediaType,
  REF_NAME_ANNOTATION,
  type Descriptor,
  type OciImageConfig,
  type OciIndex,
  type OciManifest,
} from './types.js';

/** containerd's annotation for an image's full name in an index (docker 25+'s save writes it). */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** The most a small file of the tar (manifest.json, index.json, repositories) may have. */
const MAX_JSON = 16 << 20;

export class ArchiveError extends NsxError {}

// ------------------------------------------------------------------------------------------ save

export interface SavedImage {
  image: ResolvedImage;
  /** The names asked for that are tags of it ("busybox:latest"); none when asked by id. */
  tags: string[];
}

/** The images NAMES name, each once with the tags asked for; an unknown name is "No such image". */
export function imagesToSave(store: ImageStore, names: string[]): SavedImage[] {
  const out: SavedImage[] = [];
  for (const n of names) {
    const image = store.resolve(n);
    if (!image) throw new ArchiveError(`No such image: ${n}`);
    let tag: string | undefined;
    try {
      const r = parseReference(n);
      if (r.digest === undefined && !/^(sha256:)?[a-f0-9]{12,64}$/.test(n)) {
        const full = withDefaultTag(parseReference(image.ref.includes('@') ? n : image.ref));
        tag = `${familiarName(full)}:${full.tag}`;
      }
    } catch {
      tag = undefined;
    }
    const same = out.find((s) => s.image.manifestDigest === image.manifestDigest);
    const entry = same ?? { image, tags: [] };
    if (tag && !entry.tags.includes(tag)) entry.tags.push(tag);
    if (!same) out.push(entry);
  }
  return out;
}

/** The tar of IMAGES, as a stream. */
export function saveTar(store: ImageStore, images: SavedImage[]): Pack {
  const p = pack();
  const write = async () => {
    const file = (name: string, body: string | Buffer) =>
      new Promise<void>((res, rej) =>
        p.entry({ name, mode: 0o644, mtime: new Date(0) }, body, (e) => (e ? rej(e) : res())),
      );
    const dir = (name: string) =>
      new Promise<void>((res, rej) =>
        (
          p.entry({ name, type: 'directory', mode: 0o755, mtime: new Date(0) }, (e) =>
            e ? rej(e) : res(),
          ) as unknown as { end(): void }
        ).end(),
      );
    await dir('blobs/');
    await dir('blobs/sha256/');
    const written = new Set<string>();
    for (const { image } of images) {
      for (const d of [image.manifestDigest, image.configDigest, ...image.manifest.layers.map((l) => l.digest)]) {
        if (written.has(d)) continue;
        written.add(d);
        await blob(p, store.blobPath(d), `blobs/sha256/${d.slice(7)}`);
      }
    }
    await file('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }) + '\n');
    const index: OciIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] };
    for (const { image, tags } of images) {
      const desc: Descriptor = {
        mediaType: image.manifest.mediaType ?? MediaType.ociManifest,
        digest: image.manifestDigest,
        size: store.blobSize(image.manifestDigest) ?? 0,
      };
      if (!tags.length) index.manifests.push(desc);
      for (const t of tags) {
        const full = withDefaultTag(parseReference(t));
        index.manifests.push({
          ...desc,
          annotations: { [CONTAINERD_NAME_ANNOTATION]: formatReference(full), [REF_NAME_ANNOTATION]: full.tag! },
        });
      }
    }
    await file('index.json', JSON.stringify(index) + '\n');
    const manifest = images.map(({ image, tags }) => ({
      Config: `blobs/sha256/${image.configDigest.slice(7)}`,
      RepoTags: tags,
      Layers: image.manifest.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
    }));
    await file('manifest.json', JSON.stringify(manifest) + '\n');
    const repositories: Record<string, Record<string, string>> = {};
    for (const { image, tags } of images)
      for (const t of tags) {
        const i = t.lastIndexOf(':');
        (repositories[t.slice(0, i)] ??= {})[t.slice(i + 1)] = image.configDigest.slice(7);
      }
    if (Object.keys(repositories).length) await file('repositories', JSON.stringify(repositories) + '\n');
  };
  write().then(
    () => p.finalize(),
    (e: unknown) => p.destroy(e instanceof Error ? e : new Error(String(e))),
  );
  return p;
}

async function blob(p: Pack, path: string, name: string): Promise<void> {
  const size = statSync(path).size;
  await new Promise<void>((res, rej) => {
    const sink = p.entry({ name, size, mode: 0o644, mtime: new Date(0) }, (e) => (e ? rej(e) : res()));
    const src = createReadStream(path);
    src.on('error', rej);
    src.pipe(sink as unknown as NodeJS.WritableStream);
  });
}

// ------------------------------------------------------------------------------------------ load

export interface LoadResult {
  /** docker's lines: "Loaded image: busybox:latest", or "Loaded image ID: sha256:…" for an untagged one. */
  lines: string[];
}

interface Ingested {
  /** Path in the tar → digest of what the store holds for it. */
  blobs: Map<string, string>;
  /** The small files, by path. */
  json: Map<string, Buffer>;
}

const JSON_FILES = new Set(['manifest.json', 'index.json', 'repositories', 'oci-layout']);

/** Reads the tar (plain or gzipped) into the store's blobs: every file's bytes ingested, hashed as
 *  they are written. */
async function ingestTar(store: ImageStore, input: Readable, lease: Lease): Promise<Ingested> {
  const blobs = new Map<string, string>();
  const json = new Map<string, Buffer>();
  const x = extract();
  const head = await firstBytes(input);
  let src: Readable = head.stream;
  const kind = head.bytes.length >= 4 ? compressionOf(head.bytes) : 'none';
  const d = decompressor(kind);
  if (d) src = src.pipe(d as unknown as PassThrough);
  src.on('error', (e) => x.destroy(e));
  src.pipe(x as unknown as NodeJS.WritableStream);
  let entries = 0;
  try {
    for await (const entry of x) {
      entries++;
      const name = entry.header.name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
      if (entry.header.type !== 'file' && entry.header.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      if (JSON_FILES.has(name)) {
        if (entry.header.size > MAX_JSON)
          throw new ArchiveError(`${name} in the archive is larger than ${MAX_JSON} bytes`);
        const chunks: Buffer[] = [];
        for await (const c of entry) chunks.push(c as Buffer);
        json.set(name, Buffer.concat(chunks));
        continue;
      }
      const m = /^blobs\/sha256\/([a-f0-9]{64})$/.exec(name);
      try {
        const w = await store.writeBlob(
          entry as unknown as AsyncIterable<Uint8Array>,
          m ? `sha256:${m[1]}` : undefined,
        );
        blobs.set(name, w.digest);
        lease.add(w.digest);
      } catch (e) {
        throw new ArchiveError(
          m
            ? `${name} in the archive is corrupt: its content does not have the digest its name says (${(e as Error).message})`
            : `${name}: ${(e as Error).message}`,
        );
      }
    }
  } catch (e) {
    if (e instanceof NsxError) throw e;
    throw new ArchiveError(`the input is not a readable tar archive: ${(e as Error).message}`, { hint: LOAD_HINT });
  }
  if (!entries) throw new ArchiveError('the input is empty or not a tar archive', { hint: LOAD_HINT });
  return { blobs, json };
}

const LOAD_HINT =
  'docker load reads what docker save writes: a tar with manifest.json, or an OCI image layout (index.json, blobs/)';

async function firstBytes(input: Readable): Promise<{ bytes: Buffer; stream: Readable }> {
  const out = new PassThrough();
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const onData = (c: Buffer) => {
      input.off('end', onEnd);
      input.pause();
      input.off('data', onData);
      resolve(c);
    };
    const onEnd = () => resolve(Buffer.alloc(0));
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', reject);
  });
  out.write(bytes);
  input.pipe(out);
  input.resume();
  return { bytes, stream: out };
}

function parseJson<T>(name: string, b: Buffer): T {
  try {
    return JSON.parse(b.toString('utf8')) as T;
  } catch (e) {
    throw new ArchiveError(`${name} in the archive is not JSON: ${(e as Error).message}`, { hint: LOAD_HINT });
  }
}

interface LegacyEntry {
  Config: string;
  RepoTags?: string[] | null;
  Layers: string[];
}

/** A full reference from an annotation or a RepoTag, or undefined when it is not one. */
function refOf(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    return formatReference(withDefaultTag(parseReference(text)));
  } catch {
    return undefined;
  }
}

/** docker load: the tar on INPUT into the store. */
export async function loadTar(store: ImageStore, input: Readable): Promise<LoadResult> {
  const lease = store.lease();
  let ingested: Ingested;
  try {
    ingested = await ingestTar(store, input, lease);
  } catch (e) {
    store.discardBlobs(lease.digests, lease);
    lease.release();
    throw e;
  }
  const { blobs, json } = ingested;
  let unpacked: string[] = []; // the layers the image being loaded unpacked: they go again if it fails
  const added: { manifestDigest: string; names: string[] }[] = [];
  try {
    const legacy = json.has('manifest.json')
      ? parseJson<LegacyEntry[]>('manifest.json', json.get('manifest.json')!)
      : undefined;
    if (json.has('index.json')) {
      const index = parseJson<OciIndex>('index.json', json.get('index.json')!);
      if (!Array.isArray(index.manifests)) throw new ArchiveError('index.json in the archive has no manifests list');
      const byManifest = new Map<string, string[]>();
      for (const d of index.manifests) {
        if (!blobs.has(`blobs/sha256/${d.digest?.slice(7)}`))
          throw new ArchiveError(`index.json names ${d.digest}, which the archive does not have`, { hint: LOAD_HINT });
        if (d.mediaType === MediaType.ociIndex || d.mediaType === MediaType.dockerManifestList)
          throw new ArchiveError(`index.json names an image index (${d.digest}): nsx loads single-platform images`);
        const names = byManifest.get(d.digest) ?? [];
        const name =
          refOf(d.annotations?.[CONTAINERD_NAME_ANNOTATION]) ??
          refOf(d.annotations?.[IMAGE_NAME_ANNOTATION]) ??
          fullRef(d.annotations?.[REF_NAME_ANNOTATION]);
        if (name && !names.includes(name)) names.push(name);
        byManifest.set(d.digest, names);
      }
      for (const [digest, names] of byManifest) {
        const manifest = store.readJson<OciManifest>(digest);
        if (!names.length && legacy) {
          const l = legacy.find((e) => blobs.get(e.Config) === manifest.config.digest);
          for (const t of l?.RepoTags ?? []) if (refOf(t)) names.push(refOf(t)!);
        }
        added.push({ manifestDigest: digest, names });
      }
    } else if (legacy) {
      if (!Array.isArray(legacy))
        throw new ArchiveError('manifest.json in the archive is not a list', { hint: LOAD_HINT });
      for (const e of legacy)
        added.push({
          manifestDigest: await legacyManifest(store, blobs, e),
          names: (e.RepoTags ?? []).map((t) => refOf(t)).filter((t): t is string => !!t),
        });
    } else throw new ArchiveError('the archive has neither manifest.json nor index.json', { hint: LOAD_HINT });

    const lines: string[] = [];
    for (const a of added) {
      const manifest = store.readJson<OciManifest>(a.manifestDigest);
      try {
        checkImageManifest(manifest, a.manifestDigest);
      } catch (e) {
        throw new ArchiveError((e as Error).message);
      }
      for (const d of [manifest.config, ...manifest.layers])
        if (!store.hasBlob(d.digest))
          throw new ArchiveError(`image ${a.manifestDigest} names blob ${d.digest}, which the archive does not have`);
      const config = store.readJson<OciImageConfig>(manifest.config.digest);
      // As a pull does: every layer unpacked now, its diff id and every entry's path checked.
      unpacked = [];
      for (const id of config.rootfs?.diff_ids ?? []) if (!readLayerRecord(store.root, id)) unpacked.push(id);
      await unpackImage(store, {
        ref: a.names[0] ?? a.manifestDigest,
        manifestDigest: a.manifestDigest,
        manifest,
        config,
      });
      unpacked = [];
      if (!a.names.length) {
        store.updateIndex((index) => {
          if (!index.manifests.some((m) => m.digest === a.manifestDigest))
            index.manifests.push({
              mediaType: manifest.mediaType ?? MediaType.ociManifest,
              digest: a.manifestDigest,
              size: store.blobSize(a.manifestDigest) ?? 0,
            });
        });
        lines.push(`Loaded image ID: ${manifest.config.digest}`);
      }
      for (const n of a.names) {
        store.addImage(n, a.manifestDigest);
        const r = parseReference(n);
        lines.push(`Loaded image: ${familiarName(r)}:${r.tag}`);
      }
    }
    return { lines };
  } catch (e) {
    for (const id of unpacked) removeLayer(store.root, id);
    store.discardBlobs(blobs.values(), lease);
    throw e;
  } finally {
    lease.release();
  }
}

/** org.opencontainers.image.ref.name is often only a tag ("latest"): a name only when it is a full one. */
function fullRef(text: string | undefined): string | undefined {
  return text && /[/:]/.test(text) ? refOf(text) : undefined;
}

/** docker's older format: an OCI manifest made for the config and layers manifest.json names. */
async function legacyManifest(store: ImageStore, blobs: Map<string, string>, e: LegacyEntry): Promise<string> {
  const need = (path: string) => {
    const d = blobs.get(String(path).replace(/^(\.\/)+/, ''));
    if (!d) throw new ArchiveError(`manifest.json names ${path}, which the archive does not have`, { hint: LOAD_HINT });
    return d;
  };
  if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers))
    throw new ArchiveError('manifest.json in the archive has an entry without Config and Layers', { hint: LOAD_HINT });
  const config = need(e.Config);
  const layers = e.Layers.map((l) => {
    const digest = need(l);
    const head = Buffer.alloc(4);
    const fd = openSync(store.blobPath(digest), 'r');
    readSync(fd, head, 0, 4, 0);
    closeSync(fd);
    const kind = head.length >= 4 ? compressionOf(head) : 'none';
    return {
      mediaType:
        kind === 'gzip' ? MediaType.ociLayerGzip : kind === 'zstd' ? MediaType.ociLayerZstd : MediaType.ociLayer,
      digest,
      size: store.blobSize(digest) ?? 0,
    };
  });
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: config, size: store.blobSize(config) ?? 0 },
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const w = await store.writeBlob(bytes, sha256(bytes));
  blobs.set(`<manifest of ${e.Config}>`, w.digest);
  return w.digest;
}
