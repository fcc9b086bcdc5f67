// nsx check images: the learner made an image (nsx commit, or nsx build) since the task was shown,
// one layer more than an image it was made from, both in the machine's store (an OCI image layout:
// src/image/store.ts). Read from the store's files; the engine need not run.
import { ImageStore } from '../../src/image/store.js';
import type { OciImageConfig, OciManifest } from '../../src/image/types.js';
import type { CheckResult } from '../../src/learn/lesson.js';
import { countingSince } from '../../src/learn/kernel.js';

interface Stored {
  name: string;
  id: string;
  created: number;
  diffIds: string[];
}

function storedImages(store: ImageStore): Stored[] {
  const out: Stored[] = [];
  for (const row of store.list()) {
    try {
      const manifest = store.readJson<OciManifest>(row.manifestDigest);
      const config = store.readJson<OciImageConfig>(manifest.config.digest);
      out.push({
        name: row.repository === '<none>' ? row.id.slice(7, 19) : `${row.repository}:${row.tag}`,
        id: row.id,
        created: Date.parse(config.created ?? '') || 0,
        diffIds: config.rootfs?.diff_ids ?? [],
      });
    } catch {
      /* an unreadable entry is nobody's work */
    }
  }
  return out;
}

export async function checkImages(root?: string): Promise<CheckResult> {
  const store = new ImageStore(root);
  let all: Stored[];
  try {
    all = storedImages(store);
  } catch (e) {
    return {
      ok: false,
      message: `The image store could not be read (${(e as Error).message}): run the check with sudo.`,
    };
  }
  const since = countingSince() ?? 0;
  // Named images first: a build's intermediate images (no name) are found only when nothing else is.
  const made = all
    .filter((i) => i.created >= since && i.diffIds.length > 1)
    .sort((a, b) => Number(a.name.includes(':') ? 0 : 1) - Number(b.name.includes(':') ? 0 : 1));
  for (const child of made) {
    const base = child.diffIds.slice(0, -1);
    const parent = all.find(
      (p) => p.id !== child.id && p.diffIds.length === base.length && p.diffIds.every((d, k) => d === base[k]),
    );
    if (parent)
      return {
        ok: true,
        message: `${child.name} has ${child.diffIds.length} layers: the ${base.length} of ${parent.name} and one more, ${child.diffIds.at(-1)!.slice(0, 19)}….`,
      };
  }
  if (!all.length)
    return { ok: false, message: 'The store has no image: pull one (sudo nsx pull busybox) to start from.' };
  return {
    ok: false,
    message: made.length
      ? 'An image was made, but no image in the store is its base with one layer less: keep the image you started from.'
      : 'No image made since the task was shown has one layer more than another: commit a changed container, or build.',
  };
}
