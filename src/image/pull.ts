// Pulling an image: "image downloaded? → find it on the registry → download → store".
//
//   1. local lookup (per --pull: always | missing | never)
//   2. for each registry the name may live in (one for a qualified name; registries.json's search
//      list for an unqualified one): GET the manifest by tag or digest
//   3. a multi-platform index → the manifest for this machine's platform
//   4. config and layers: skipped when already in the store, else downloaded, 3 at a time, each
//      verified against its digest before it is renamed into the store
//   5. a `prepare` hook (unpacking layers) may still refuse the image; then the manifest, and the name
//      in index.json. Any failure removes what this pull added: the store is as before.
//
// Everything is told as events (PullEvent); src/render/pull.ts prints docker's words from them.
import { NsxError } from '../runtime/errors.js';
import {
  candidates,
  familiarName,
  familiarString,
  formatReference,
  manifestReference,
  normalize,
  parseReference,
  type ImageReference,
} from './reference.js';
import { loadRegistriesConfig, type RegistriesConfig } from './registries.js';
import {
  checkImageManifest,
  formatPlatform,
  hostPlatform,
  RegistryClient,
  RegistryError,
  selectManifest,
  type Credentials,
  type FetchedManifest,
} from './registry.js';
import { shortId, type ImageStore, type Lease, type ResolvedImage } from './store.js';
import {
  INDEX_TYPES,
  type Descriptor,
  type OciImageConfig,
  type OciIndex,
  type OciManifest,
  type Platform,
} from './types.js';

export type PullPolicy = 'always' | 'missing' | 'never';

export type LayerStatus =
  | 'Pulling fs layer'
  | 'Waiting'
  | 'Downloading'
  | 'Verifying Checksum'
  | 'Download complete'
  | 'Already exists'
  | 'Extracting'
  | 'Pull complete';

export type PullEvent =
  /** Looking up a name in one registry (one per search registry for unqualified names). */
  | { type: 'resolving'; ref: string; registry: string }
  /** --pull missing and the image is not in the store: docker's "Unable to find image '…' locally". */
  | { type: 'missing-locally'; ref: string }
  /** "latest: Pulling from library/busybox". */
  | { type: 'pulling-from'; tag: string; repository: string; registry: string }
  /** A multi-platform index: which manifest this machine gets. */
  | { type: 'platform'; platform: string; digest: string }
  /** id: the layer digest's first 12 hex digits, as docker prints it. */
  | { type: 'layer'; id: string; digest: string; status: LayerStatus; current?: number; total?: number }
  /** The digest the registry served for the reference (an index's, for a multi-platform image). */
  | { type: 'digest'; digest: string }
  | { type: 'status'; status: 'downloaded' | 'up-to-date'; message: string; ref: string };

export interface PrepareContext {
  ref: string;
  manifestDigest: string;
  manifest: OciManifest;
  config: OciImageConfig;
  emit: (e: PullEvent) => void;
}

export interface PullOptions {
  store: ImageStore;
  pull?: PullPolicy;
  onEvent?: (e: PullEvent) => void;
  /** The platform to pull from a multi-platform index (default: this machine's). */
  platform?: Platform;
  /** Search list and insecure registries (default: registries.json). */
  registries?: RegistriesConfig;
  timeoutMs?: number;
  credentials?: (domain: string) => Credentials | undefined;
  /** Called once every blob is in the store and before the image is named in index.json; a throw
   *  fails the pull and undoes it (PART B unpacks layers here). */
  prepare?: (ctx: PrepareContext) => Promise<void>;
  /** Layers downloaded at once (docker: 3). */
  concurrency?: number;
}

export interface PullResult {
  /** The full normalized reference the image is stored under. */
  ref: string;
  image: ResolvedImage;
  /** False when the local image was used without asking a registry. */
  pulled: boolean;
  /** True when nothing new was downloaded. */
  upToDate: boolean;
}

/** Pulls TEXT ("busybox", "localhost:5000/x:1@sha256:…") per the policy; returns the stored image. */
export async function pull(text: string, opts: PullOptions): Promise<PullResult> {
  const policy = opts.pull ?? 'always';
  const emit = opts.onEvent ?? (() => undefined);
  const ref = normalize(text);
  const registries = opts.registries ?? loadRegistriesConfig();
  if (policy !== 'always') {
    const local = opts.store.resolve(text);
    if (local) return { ref: local.ref, image: local, pulled: false, upToDate: true };
    if (policy === 'never') {
      throw new NsxError(`Error response from daemon: No such image: ${familiarString(ref)}`, {
        hint: 'With --pull never the image must already be in the store (nsx images lists it; nsx pull fetches it).',
      });
    }
    emit({ type: 'missing-locally', ref: familiarString(ref) });
  }
  const tried: { registry: string; error: RegistryError }[] = [];
  const list = candidates(ref, registries.unqualifiedSearchRegistries);
  for (const c of list) {
    emit({ type: 'resolving', ref: formatReference(c), registry: c.domain });
    try {
      return await pullFrom(c, opts, registries, emit);
    } catch (e) {
      // An unqualified name moves on to the next registry only when this one does not have it (or
      // cannot be reached); a corrupt or refused download is never papered over by another registry.
      const next =
        e instanceof RegistryError &&
        (e.kind === 'not-found' || e.kind === 'denied' || e.kind === 'unreachable') &&
        c !== list[list.length - 1];
      if (!next) {
        if (tried.length && e instanceof NsxError) {
          const where = [
            ...tried.map((t) => `${t.registry} (${t.error.message.replace(/^Error response from daemon: /, '')})`),
            `${c.domain}`,
          ];
          throw new NsxError(e.message, {
            ...e.info,
            hint: `${e.info.hint ? e.info.hint + ' ' : ''}Looked in, in order: ${where.join('; ')}.`,
          });
        }
        throw e;
      }
      tried.push({ registry: c.domain, error: e as RegistryError });
    }
  }
  throw new NsxError(`no registry to look ${text} up in`); // unreachable: candidates() is never empty
}

async function pullFrom(
  c: ImageReference,
  opts: PullOptions,
  registries: RegistriesConfig,
  emit: (e: PullEvent) => void,
): Promise<PullResult> {
  const { store } = opts;
  const client = new RegistryClient(c.domain, {
    insecure: registries.insecure,
    timeoutMs: opts.timeoutMs,
    credentials: opts.credentials,
  });
  const full = formatReference(c);
  const familiar = familiarString(c);
  const names = { familiar: familiarName(c), subject: familiar };
  const top = await client.getManifest(c.path, manifestReference(c), names);
  emit({ type: 'pulling-from', tag: c.digest ?? c.tag ?? 'latest', repository: c.path, registry: c.domain });

  let chosen: FetchedManifest = top;
  if (INDEX_TYPES.includes(top.mediaType)) {
    const want = opts.platform ?? hostPlatform();
    const entry = selectManifest(top.json as OciIndex, want);
    if (!entry) {
      const offered = (top.json as OciIndex).manifests
        .filter((d) => d.platform && d.platform.os !== 'unknown')
        .map((d) => formatPlatform(d.platform!));
      throw new RegistryError(
        `no matching manifest for ${formatPlatform(want)} in the manifest list entries`,
        'not-found',
        undefined,
        undefined,
        `${familiar} is built for: ${offered.join(', ') || 'no platform nsx knows'}.`,
      );
    }
    emit({ type: 'platform', platform: formatPlatform(entry.platform!), digest: entry.digest });
    chosen = await client.getManifest(c.path, entry.digest, names);
    if (INDEX_TYPES.includes(chosen.mediaType))
      throw new RegistryError(`${familiar}: an index inside an index is not supported`, 'unsupported');
  }
  const manifest = chosen.json as OciManifest;
  checkImageManifest(manifest, familiar);

  const before = store.resolve(full);
  store.cleanIngest(); // what an nsx killed mid-pull left half-written
  const lease = store.lease();
  const added: string[] = [];
  const fetch = async (desc: Descriptor, onProgress?: (n: number) => void) => {
    lease.add(desc.digest);
    const w = await client.downloadBlob(c.path, desc, store, onProgress);
    if (!w.existed) added.push(w.digest);
  };
  try {
    // The config first: small, and it says which layers (diff_ids) the image is made of.
    if (!store.hasBlob(manifest.config.digest)) await fetch(manifest.config);
    else lease.add(manifest.config.digest);
    const config = store.readJson<OciImageConfig>(manifest.config.digest);
    checkConfig(config, manifest, familiar);

    // The same image as the name already has, complete: nothing to download, nothing to show.
    const complete = before?.manifestDigest === chosen.digest && manifest.layers.every((l) => store.hasBlob(l.digest));
    if (complete) manifest.layers.forEach((l) => lease.add(l.digest));
    else await downloadLayers(manifest.layers, store, lease, fetch, emit, opts.concurrency ?? 3);

    lease.add(chosen.digest);
    const wm = await store.writeBlob(chosen.body, chosen.digest);
    if (!wm.existed) added.push(wm.digest);
    await opts.prepare?.({ ref: full, manifestDigest: chosen.digest, manifest, config, emit });
    const upToDate = added.length === 0 && before?.manifestDigest === chosen.digest;
    store.addImage(full, chosen.digest, { repoDigest: top.digest });
    for (const l of manifest.layers)
      if (added.includes(l.digest))
        emit({ type: 'layer', id: shortId(l.digest), digest: l.digest, status: 'Pull complete' });
    emit({ type: 'digest', digest: top.digest });
    emit({
      type: 'status',
      status: upToDate ? 'up-to-date' : 'downloaded',
      message: upToDate ? `Image is up to date for ${familiar}` : `Downloaded newer image for ${familiar}`,
      ref: full,
    });
    const image = store.resolve(full)!;
    return { ref: full, image, pulled: true, upToDate };
  } catch (e) {
    store.discardBlobs(added, lease);
    throw e;
  } finally {
    lease.release();
  }
}

/** The config must be a Linux image whose layer list matches the manifest's. */
function checkConfig(config: OciImageConfig, manifest: OciManifest, name: string): void {
  if (!config || typeof config !== 'object' || !config.rootfs || !Array.isArray(config.rootfs.diff_ids)) {
    throw new RegistryError(`${name}: the image config has no rootfs.diff_ids`, 'protocol');
  }
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new RegistryError(
      `${name}: the image config lists ${config.rootfs.diff_ids.length} layers but the manifest has ${manifest.layers.length}`,
      'protocol',
    );
  }
  if (config.os && config.os !== 'linux')
    throw new RegistryError(
      `${name}: image operating system "${config.os}" cannot be used on this platform`,
      'unsupported',
    );
}

async function downloadLayers(
  layers: Descriptor[],
  store: ImageStore,
  lease: Lease,
  fetch: (d: Descriptor, onProgress?: (n: number) => void) => Promise<void>,
  emit: (e: PullEvent) => void,
  concurrency: number,
): Promise<void> {
  const todo: Descriptor[] = [];
  const seen = new Set<string>();
  for (const l of layers) {
    const id = shortId(l.digest);
    if (seen.has(l.digest)) continue; // the same layer twice in one image: downloaded once
    seen.add(l.digest);
    if (store.hasBlob(l.digest)) {
      lease.add(l.digest);
      emit({ type: 'layer', id, digest: l.digest, status: 'Already exists' });
    } else {
      todo.push(l);
      emit({ type: 'layer', id, digest: l.digest, status: 'Pulling fs layer' });
    }
  }
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < todo.length && failed === undefined) {
      const l = todo[next++];
      const id = shortId(l.digest);
      let last = 0;
      try {
        await fetch(l, (n) => {
          const now = Date.now();
          if (now - last < 100 && n < l.size) return; // at most ten progress events a second per layer
          last = now;
          emit({ type: 'layer', id, digest: l.digest, status: 'Downloading', current: n, total: l.size });
        });
      } catch (e) {
        failed ??= e;
        return;
      }
      emit({ type: 'layer', id, digest: l.digest, status: 'Verifying Checksum' });
      emit({ type: 'layer', id, digest: l.digest, status: 'Download complete' });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  if (failed !== undefined) throw failed;
}

/** The image for TEXT in the store, else pulled (docker run's --pull missing). */
export async function ensureImage(text: string, opts: PullOptions): Promise<PullResult> {
  return pull(text, { pull: 'missing', ...opts });
}

export { parseReference };
