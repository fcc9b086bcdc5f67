// docker image prune: removes the dangling images — those without a name that no other image is made
// from (moby's daemon/images/image_prune.go: "dangling" = untagged and not a parent) — and, with -a,
// every image no container uses. Removing one removes the nameless images it was made from that
// nothing else needs (a build's intermediate steps), as docker's ImageDelete with prune does.
// The answer is docker's {ImagesDeleted: [{Untagged}|{Deleted}], SpaceReclaimed}.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PARENT_ANNOTATION } from './commit.js';
import { layersDir } from './layers.js';
import { REF_NAME_ANNOTATION } from './types.js';
import type { ImageStore } from './store.js';

export interface PruneResult {
  ImagesDeleted: ({ Untagged: string } | { Deleted: string })[] | null;
  SpaceReclaimed: number;
}

/** The image ids (config digests) other images of the store were made from: docker's intermediate
 *  images, which `docker images` leaves out and prune keeps while a child needs them. */
export function parentIds(store: ImageStore): Set<string> {
  const out = new Set<string>();
  for (const m of store.readIndex().manifests) {
    const p = m.annotations?.[PARENT_ANNOTATION];
    if (p) out.add(p);
  }
  return out;
}

/** Bytes of the store's blobs and unpacked layers (what prune can give back). */
function storeBytes(store: ImageStore): number {
  let total = 0;
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = statSync(p, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.isDirectory()) walk(p);
        else total += st.size;
      } catch {
        /* gone meanwhile */
      }
    }
  };
  walk(store.blobsDir);
  walk(layersDir(store.root));
  return total;
}

export function pruneImages(
  store: ImageStore,
  opts: { all?: boolean; remove: (ref: string) => string[]; inUse: (manifestDigest: string) => boolean | string },
): PruneResult {
  const before = storeBytes(store);
  const lines: string[] = [];
  const configOf = (digest: string) => store.resolve(digest)?.configDigest;
  if (opts.all) {
    for (const m of store.readIndex().manifests) {
      const name = m.annotations?.[REF_NAME_ANNOTATION];
      if (!name || opts.inUse(m.digest)) continue;
      lines.push(...opts.remove(name));
    }
  }
  // Dangling ones, children first: a removed child may leave its parent dangling, taken next round.
  for (let round = 0; round < 1000; round++) {
    const parents = parentIds(store);
    const index = store.readIndex();
    const named = new Set(index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION]).map((m) => m.digest));
    const dangling = [...new Set(index.manifests.map((m) => m.digest))].filter((d) => {
      if (named.has(d) || opts.inUse(d)) return false;
      const id = configOf(d);
      return id !== undefined && !parents.has(id);
    });
    if (!dangling.length) break;
    for (const d of dangling) lines.push(...opts.remove(configOf(d)!));
  }
  const deleted = lines.map((l) => {
    const m = /^(Untagged|Deleted): (.*)$/.exec(l)!;
    return m[1] === 'Untagged' ? { Untagged: m[2] } : { Deleted: m[2] };
  });
  return { ImagesDeleted: deleted.length ? deleted : null, SpaceReclaimed: Math.max(0, before - storeBytes(store)) };
}
