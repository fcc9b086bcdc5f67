// New images in the store, made from an image and (optionally) one more layer: what docker commit and
// each step of docker build do. The layer is a tar stream (upper.ts's, from a container's upper
// directory): hashed as it passes (its diff id, image-spec config.md rootfs.diff_ids), gzipped, and
// written to the store as a blob; the config is the parent's with the new runnable config, the diff
// id appended and one history entry more (empty_layer when there is no layer); the manifest names the
// parent's layers and the new one. Where the image came from (its parent image, the build step it
// caches) is kept as annotations of its entry in index.json, the store's own metadata, as docker
// keeps an image's parent in its local store and not in the image.
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { readFileSync } from 'node:fs';
import type { ResolvedImage } from './store.js';
import { sha256, type ImageStore } from './store.js';
import { MediaType, type Descriptor, type OciImageConfig, type OciIndex, type OciManifest } from './types.js';

/** The image this one was made from (its config digest): docker's Parent. */
export const PARENT_ANNOTATION = 'io.github.nsx.parent';
/** The build step this image is the result of (builder.ts's cache key). */
export const BUILD_CACHE_ANNOTATION = 'io.github.nsx.build-cache';

export interface NewLayer {
  /** The gzipped blob's digest and size. */
  digest: string;
  size: number;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
}

/** Writes a layer tar to the store as a gzipped blob, hashing the tar on the way (one pass). */
export async function writeLayer(store: ImageStore, tar: Readable): Promise<NewLayer> {
  const hash = createHash('sha256');
  let tarSize = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      tarSize += chunk.length;
      done(null, chunk);
    },
  });
  tar.on('error', (e) => tee.destroy(e));
  const gz = createGzip(); // zlib's header: no mtime, no name, so the same tar gives the same blob
  tee.on('error', (e) => gz.destroy(e));
  const written = await store.writeBlob(tar.pipe(tee).pipe(gz));
  return { digest: written.digest, size: written.size, diffId: `sha256:${hash.digest('hex')}`, tarSize };
}

export interface ImageDraft {
  /** undefined: FROM scratch. */
  parent?: ResolvedImage;
  layer?: NewLayer;
  /** The runnable config of the new image (Env, Cmd, …) whole. */
  config: NonNullable<OciImageConfig['config']>;
  createdBy: string;
  comment?: string;
  author?: string;
  /** Annotations of the image's entry in index.json (PARENT_ANNOTATION is added). */
  annotations?: Record<string, string>;
  /** The image's name, or none (docker's <none>:<none>). */
  ref?: string;
}

export interface MadeImage {
  manifestDigest: string;
  /** The image id: the config's digest. */
  id: string;
}

const PLATFORM = (): Pick<OciImageConfig, 'architecture' | 'os'> => ({
  os: 'linux',
  architecture: process.arch === 'x64' ? 'amd64' : process.arch,
});

/** The new image's config, manifest and index entry, written to the store. */
export async function writeImage(store: ImageStore, d: ImageDraft): Promise<MadeImage> {
  const created = new Date().toISOString();
  const p = d.parent?.config;
  const config: OciImageConfig = {
    created,
    ...(d.author ? { author: d.author } : {}),
    ...(p ? { architecture: p.architecture, os: p.os, ...(p.variant ? { variant: p.variant } : {}) } : PLATFORM()),
    config: d.config,
    rootfs: { type: 'layers', diff_ids: [...(p?.rootfs.diff_ids ?? []), ...(d.layer ? [d.layer.diffId] : [])] },
    history: [
      ...(p?.history ?? []),
      {
        created,
        created_by: d.createdBy,
        ...(d.author ? { author: d.author } : {}),
        ...(d.comment ? { comment: d.comment } : {}),
        ...(d.layer ? {} : { empty_layer: true }),
      },
    ],
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configBlob = await store.writeBlob(configBytes, sha256(configBytes));
  const layers: Descriptor[] = [
    ...(d.parent?.manifest.layers ?? []),
    ...(d.layer ? [{ mediaType: MediaType.ociLayerGzip, digest: d.layer.digest, size: d.layer.size }] : []),
  ];
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const m = await store.writeBlob(manifestBytes, sha256(manifestBytes));
  const annotations = {
    ...(d.parent ? { [PARENT_ANNOTATION]: d.parent.configDigest } : {}),
    ...d.annotations,
  };
  if (d.ref) store.addImage(d.ref, m.digest, { annotations });
  else addUntagged(store, m.digest, annotations);
  return { manifestDigest: m.digest, id: configBlob.digest };
}

/** An image without a name (docker's <none>:<none>: a build step's, a commit without a repository),
 *  unless the store has it already; ANNOTATIONS on its entry in index.json. */
export function addUntagged(store: ImageStore, manifestDigest: string, annotations: Record<string, string> = {}): void {
  const path = store.blobPath(manifestDigest);
  store.updateIndex((index) => {
    if (index.manifests.some((m) => m.digest === manifestDigest)) return;
    const bytes = readFileSync(path);
    const manifest = JSON.parse(bytes.toString('utf8')) as OciManifest;
    index.manifests.push({
      mediaType: manifest.mediaType ?? MediaType.ociManifest,
      digest: manifestDigest,
      size: bytes.length,
      annotations,
    });
  });
}

/** An annotation of an image's entries in index.json (any of its names' entries). */
export function annotationOf(
  store: ImageStore,
  manifestDigest: string,
  key: string,
  index?: OciIndex,
): string | undefined {
  return (index ?? store.readIndex()).manifests.find((m) => m.digest === manifestDigest && m.annotations?.[key])
    ?.annotations?.[key];
}
