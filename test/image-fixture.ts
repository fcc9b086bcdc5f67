// Tiny OCI images assembled in the tests from a few files (no builder, no download): a tar layer
// per file set, gzip'd, a config, a manifest; written into an nsx store or an OCI layout directory
// (which skopeo reads), optionally several platforms under one index.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ImageStore } from '../src/image/store.js';
import { MediaType, type OciImageConfig, type OciIndex, type OciManifest, type Platform } from '../src/image/types.js';

export const sha = (b: Buffer | string) => 'sha256:' + createHash('sha256').update(b).digest('hex');

/** A ustar archive of FILES (path → content); directories are implied. Deterministic. */
export function tarOf(files: Record<string, string | Buffer>): Buffer {
  const blocks: Buffer[] = [];
  const header = (name: string, size: number, type: '0' | '5', mode: number) => {
    const h = Buffer.alloc(512);
    h.write(name, 0, 100, 'utf8');
    h.write(mode.toString(8).padStart(7, '0') + '\0', 100);
    h.write('0000000\0', 108); // uid
    h.write('0000000\0', 116); // gid
    h.write(size.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136); // mtime 0: reproducible
    h.write('        ', 148); // checksum placeholder
    h.write(type, 156);
    h.write('ustar\0' + '00', 257);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    return h;
  };
  const dirs = new Set<string>();
  for (const path of Object.keys(files).sort()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/') + '/';
      if (!dirs.has(d)) {
        dirs.add(d);
        blocks.push(header(d, 0, '5', 0o755));
      }
    }
    const data = Buffer.isBuffer(files[path]) ? (files[path] as Buffer) : Buffer.from(files[path] as string);
    blocks.push(header(path, data.length, '0', 0o644), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export interface Blob {
  bytes: Buffer;
  digest: string;
  size: number;
}

export interface BuiltImage {
  manifest: OciManifest;
  manifestBytes: Buffer;
  manifestDigest: string;
  mediaType: string;
  config: OciImageConfig;
  configBlob: Blob;
  layers: (Blob & { diffId: string; mediaType: string })[];
  platform: Platform;
}

function blob(bytes: Buffer): Blob {
  return { bytes, digest: sha(bytes), size: bytes.length };
}

/** An image of LAYERS (each a file set), for PLATFORM, in OCI (default) or Docker schema 2 form. */
export function buildImage(opts: {
  layers: Record<string, string | Buffer>[];
  platform?: Platform;
  format?: 'oci' | 'docker';
  cmd?: string[];
  created?: string;
}): BuiltImage {
  const docker = opts.format === 'docker';
  const platform = opts.platform ?? { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' };
  const layers = opts.layers.map((files) => {
    const tar = tarOf(files);
    const gz = gzipSync(tar, { level: 6 });
    gz[9] = 3; // gzip's OS byte: the same on every host, so digests are reproducible
    return { ...blob(gz), diffId: sha(tar), mediaType: docker ? MediaType.dockerLayerGzip : MediaType.ociLayerGzip };
  });
  const config: OciImageConfig = {
    created: opts.created ?? '2024-01-02T03:04:05Z',
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: opts.cmd ?? ['/bin/sh'],
      WorkingDir: '/',
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map(() => ({
      created: opts.created ?? '2024-01-02T03:04:05Z',
      created_by: 'test/image-fixture.ts',
    })),
  };
  const configBlob = blob(Buffer.from(JSON.stringify(config)));
  const mediaType = docker ? MediaType.dockerManifest : MediaType.ociManifest;
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: docker ? MediaType.dockerConfig : MediaType.ociConfig,
      digest: configBlob.digest,
      size: configBlob.size,
    },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    manifest,
    manifestBytes,
    manifestDigest: sha(manifestBytes),
    mediaType,
    config,
    configBlob,
    layers,
    platform,
  };
}

/** An OCI index of IMAGES (one per platform). */
export function buildIndex(images: BuiltImage[]): { index: OciIndex; bytes: Buffer; digest: string } {
  const index: OciIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: images.map((i) => ({
      mediaType: i.mediaType,
      digest: i.manifestDigest,
      size: i.manifestBytes.length,
      platform: i.platform,
    })),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  return { index, bytes, digest: sha(bytes) };
}

/** Writes an OCI image layout at DIR whose index.json names TAG → the image (or an index of images). */
export function writeOciLayout(dir: string, tag: string, images: BuiltImage[], multi = images.length > 1): void {
  const blobs = join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const put = (b: Buffer) => writeFileSync(join(blobs, sha(b).slice(7)), b);
  for (const img of images) {
    put(img.manifestBytes);
    put(img.configBlob.bytes);
    for (const l of img.layers) put(l.bytes);
  }
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  let top: { mediaType: string; digest: string; size: number };
  if (multi) {
    const idx = buildIndex(images);
    put(idx.bytes);
    top = { mediaType: MediaType.ociIndex, digest: idx.digest, size: idx.bytes.length };
  } else
    top = { mediaType: images[0].mediaType, digest: images[0].manifestDigest, size: images[0].manifestBytes.length };
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...top, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
}

/** Puts IMAGE into an nsx store under REF, as a build would. */
export async function addToStore(store: ImageStore, ref: string, image: BuiltImage): Promise<void> {
  for (const l of image.layers) await store.writeBlob(l.bytes, l.digest);
  await store.writeBlob(image.configBlob.bytes, image.configBlob.digest);
  await store.writeBlob(image.manifestBytes, image.manifestDigest);
  store.addImage(ref, image.manifestDigest);
}

/** Every file under DIR with its size, for "the store is unchanged" checks (lock files excluded). */
export function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const p = join(d, n);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} ${st.size}`);
    }
  };
  walk(dir);
  return out;
}
