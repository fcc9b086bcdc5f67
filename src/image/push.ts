// Pushing an image: the blobs the registry lacks (layers, then the config), then the manifest,
// byte for byte as stored, so its digest on the registry is the one `nsx images --digests` shows.
import { readFileSync } from 'node:fs';
import { NsxError } from '../runtime/errors.js';
import { familiarString, formatReference, parseReference, repositoryName, withDefaultTag } from './reference.js';
import { loadRegistriesConfig, type RegistriesConfig } from './registries.js';
import { RegistryClient, type Credentials } from './registry.js';
import { shortId, type ImageStore } from './store.js';
import { REF_NAME_ANNOTATION, type Descriptor } from './types.js';

export type PushLayerStatus = 'Preparing' | 'Waiting' | 'Pushing' | 'Pushed' | 'Layer already exists' | 'Mounted from';

export type PushEvent =
  /** "The push refers to repository [docker.io/library/busybox]". */
  | { type: 'push-repository'; repository: string }
  | {
      type: 'push-layer';
      id: string;
      digest: string;
      status: PushLayerStatus;
      from?: string;
      current?: number;
      total?: number;
    }
  /** "latest: digest: sha256:… size: 527". */
  | { type: 'pushed'; tag: string; digest: string; size: number };

export interface PushOptions {
  store: ImageStore;
  onEvent?: (e: PushEvent) => void;
  registries?: RegistriesConfig;
  timeoutMs?: number;
  credentials?: (domain: string) => Credentials | undefined;
  /** Bytes per PATCH; blobs up to this size go in one PUT. */
  chunkBytes?: number;
}

/** Pushes the stored image named TEXT to the registry its name says (docker's rule: no registry is docker.io). */
export async function push(text: string, opts: PushOptions): Promise<{ digest: string; size: number; ref: string }> {
  const { store } = opts;
  const emit = opts.onEvent ?? (() => undefined);
  const ref = withDefaultTag({ ...parseReference(text), qualified: true });
  const full = formatReference(ref);
  const entry = store.readIndex().manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === full);
  if (!entry) {
    throw new NsxError(`An image does not exist locally with the tag: ${familiarString(ref).replace(/:latest$/, '')}`, {
      exitCode: 1,
      hint: `Name it for the registry first: nsx tag IMAGE ${familiarString(ref)}`,
    });
  }
  const image = store.resolve(full)!;
  const registries = opts.registries ?? loadRegistriesConfig();
  const client = new RegistryClient(ref.domain, {
    insecure: registries.insecure,
    timeoutMs: opts.timeoutMs,
    credentials: opts.credentials,
    chunkBytes: opts.chunkBytes,
  });
  emit({ type: 'push-repository', repository: repositoryName(ref) });

  // Another repository of the same registry that has the blob lets the registry mount it instead.
  const mountSource = (digest: string): string | undefined => {
    for (const m of store.readIndex().manifests) {
      const name = m.annotations?.[REF_NAME_ANNOTATION];
      if (!name || m.digest === undefined) continue;
      const r = parseReference(name);
      if (r.domain !== ref.domain || r.path === ref.path) continue;
      try {
        const man = store.readJson<{ layers: Descriptor[]; config: Descriptor }>(m.digest);
        if ([man.config, ...man.layers].some((d) => d.digest === digest)) return r.path;
      } catch {
        /* skip */
      }
    }
    return undefined;
  };

  const blobs = [...image.manifest.layers, image.manifest.config];
  const layers = image.manifest.layers;
  for (const l of layers) emit({ type: 'push-layer', id: shortId(l.digest), digest: l.digest, status: 'Preparing' });
  for (const d of blobs) {
    const isLayer = d !== image.manifest.config;
    const id = shortId(d.digest);
    const from = mountSource(d.digest);
    if (isLayer) emit({ type: 'push-layer', id, digest: d.digest, status: 'Pushing', current: 0, total: d.size });
    const result = await client.uploadBlob(ref.path, d, store, {
      mountFrom: from,
      onProgress: (n) =>
        isLayer && emit({ type: 'push-layer', id, digest: d.digest, status: 'Pushing', current: n, total: d.size }),
    });
    if (!isLayer) continue;
    if (result === 'exists') emit({ type: 'push-layer', id, digest: d.digest, status: 'Layer already exists' });
    else if (result === 'mounted') emit({ type: 'push-layer', id, digest: d.digest, status: 'Mounted from', from });
    else emit({ type: 'push-layer', id, digest: d.digest, status: 'Pushed' });
  }
  const body = readFileSync(store.blobPath(image.manifestDigest));
  const mediaType = entry.mediaType;
  const digest = await client.putManifest(ref.path, ref.digest ?? ref.tag!, mediaType, body);
  emit({ type: 'pushed', tag: ref.tag ?? ref.digest!, digest, size: body.length });
  return { digest, size: body.length, ref: full };
}
