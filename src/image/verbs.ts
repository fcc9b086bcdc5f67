// The image verbs as both nsx's CLI (in its own process) and the engine's API (nsxd) do them, so that
// `nsx pull` and POST /images/create, `nsx rmi` and DELETE /images/{name}, `nsx image inspect` and
// GET /images/{name}/json are the same code: only how they print differs.
import { readFileSync } from 'node:fs';
import { removeLayer } from './layers.js';
import { pull, type PullEvent, type PullResult } from './pull.js';
import { parsePlatform } from './registry.js';
import { containerUsing, unpackOnPull } from './rootfs.js';
import type { ImageStore, ResolvedImage } from './store.js';

/** docker pull NAME: always asks the registry; layers are unpacked as they come (docker's
 *  "Extracting"), so a layer nsx refuses fails the pull, which is then undone. */
export function pullImage(
  store: ImageStore,
  name: string,
  opts: { platform?: string; onEvent?: (e: PullEvent) => void } = {},
): Promise<PullResult> {
  return pull(name, {
    store,
    pull: 'always',
    onEvent: opts.onEvent,
    platform: opts.platform ? parsePlatform(opts.platform) : undefined,
    prepare: unpackOnPull(store),
  });
}

/** docker rmi [-f] REF: docker's "Untagged: …" / "Deleted: …" lines. An image a container uses
 *  (a running `nsx run`'s, or any of the engine's, which keep their root until rm) stays: docker's
 *  conflict. Unpacked layers no image uses any more go with their blobs. */
export function removeImage(store: ImageStore, ref: string, force = false): string[] {
  return store.remove(ref, {
    force,
    inUse: (d) => containerUsing(store.root, d),
    onLayerUnused: (diffId) => removeLayer(store.root, diffId),
  });
}

/** docker image inspect NAME's document, or undefined when the store has no such image. */
export function inspectImage(store: ImageStore, name: string): ReturnType<typeof inspectJson> | undefined {
  const image = store.resolve(name);
  if (!image) return undefined;
  const entry = store.readIndex().manifests.find((m) => m.digest === image.manifestDigest);
  const size = readFileSync(store.blobPath(image.manifestDigest)).length;
  return inspectJson(image, store.namesOf(image.manifestDigest), entry?.mediaType ?? '', size);
}

/** `docker image inspect`'s document for one image. */
export function inspectJson(
  image: ResolvedImage,
  names: { repoTags: string[]; repoDigests: string[] },
  manifestMediaType: string,
  manifestSize: number,
) {
  const c = image.config;
  const size = image.manifest.layers.reduce((n, l) => n + l.size, 0) + image.manifest.config.size;
  return {
    Id: image.configDigest,
    RepoTags: names.repoTags,
    RepoDigests: names.repoDigests,
    Parent: '',
    Comment: c.history?.[c.history.length - 1]?.comment ?? '',
    Created: c.created ?? '',
    DockerVersion: '',
    Author: c.author ?? '',
    Config: {
      User: c.config?.User ?? '',
      Env: c.config?.Env ?? null,
      Cmd: c.config?.Cmd ?? null,
      Entrypoint: c.config?.Entrypoint ?? null,
      WorkingDir: c.config?.WorkingDir ?? '',
      Labels: c.config?.Labels ?? null,
      ...(c.config?.ExposedPorts ? { ExposedPorts: c.config.ExposedPorts } : {}),
      ...(c.config?.Volumes ? { Volumes: c.config.Volumes } : {}),
      ...(c.config?.StopSignal ? { StopSignal: c.config.StopSignal } : {}),
    },
    Architecture: c.architecture,
    ...(c.variant ? { Variant: c.variant } : {}),
    Os: c.os,
    Size: size,
    RootFS: { Type: 'layers', Layers: c.rootfs.diff_ids },
    Descriptor: { mediaType: manifestMediaType, digest: image.manifestDigest, size: manifestSize },
  };
}
