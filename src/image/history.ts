// docker history: an image's config history (image-spec config.md "history"), newest first, one row
// per entry; an entry with empty_layer changed only the config, the others each made the next layer
// of rootfs.diff_ids, in order. The top row's IMAGE is the image; a row below it is an image of the
// store only where this store made it (commit, build: the parent annotations of commit.ts), and
// "<missing>" otherwise — a pulled image's history names no images, as docker shows it.
import { annotationOf, PARENT_ANNOTATION } from './commit.js';
import { readLayerRecord } from './layers.js';
import type { ImageStore, ResolvedImage } from './store.js';

/** One row as GET /images/{name}/history answers it (moby's image.HistoryResponseItem). */
export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

export function imageHistory(store: ImageStore, image: ResolvedImage): HistoryItem[] {
  const history = image.config.history ?? [];
  const diffIds = image.config.rootfs.diff_ids;
  const index = store.readIndex();
  // The images of the store this one descends from, each with how many history entries it has.
  const ids = new Map<number, { id: string; tags: string[] }>();
  let at: ResolvedImage | undefined = image;
  while (at) {
    ids.set((at.config.history ?? []).length, { id: at.configDigest, tags: store.namesOf(at.manifestDigest).repoTags });
    const parent = annotationOf(store, at.manifestDigest, PARENT_ANNOTATION, index);
    at = parent ? store.resolve(parent) : undefined;
  }
  const rows: HistoryItem[] = [];
  let layer = 0;
  history.forEach((h, i) => {
    let size = 0;
    if (!h.empty_layer) {
      const d = diffIds[layer];
      size = (d ? readLayerRecord(store.root, d)?.size : undefined) ?? image.manifest.layers[layer]?.size ?? 0;
      layer++;
    }
    const self = ids.get(i + 1);
    const created = h.created ? Date.parse(h.created) : NaN;
    rows.push({
      Id: self?.id ?? '<missing>',
      Created: Number.isFinite(created) ? Math.floor(created / 1000) : 0,
      CreatedBy: h.created_by ?? '',
      Tags: self?.tags.length ? self.tags : null,
      Size: size,
      Comment: h.comment ?? '',
    });
  });
  return rows.reverse();
}
