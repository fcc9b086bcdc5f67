// Where unpacked layers live and what is known of each: <root>/layers/sha256/<hex>/diff (the tree,
// an overlayfs lower dir) and layer.json (its record), shared by every image that has the layer.
// extract.ts unpacks into them; rootfs.ts reads them, rmi (verbs.ts) removes the unused ones.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NsxError } from '../runtime/errors.js';
import { removeTree } from './tree.js';

export interface LayerRecord {
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  entries: number;
  /** Paths (relative to the root, no leading "/") this layer deletes from the layers below. */
  whiteouts: string[];
  /** Directories ("" is the root) whose contents in the layers below this layer hides. */
  opaque: string[];
  /** How diff/ is marked for overlayfs; absent when it is not (see overlayUnavailable). */
  overlay?: { whiteouts: 'chardev-0-0'; opaqueXattrs: string[] };
  /** Why overlayfs cannot use this layer (the copying fallback still can). */
  overlayUnavailable?: string;
  /** preserved: uid/gid from the tar (root); invoking-user: all files belong to the user who unpacked it. */
  ownership: 'preserved' | 'invoking-user';
}

/** A layer that may not be unpacked: the message names the entry and the rule. */
export class LayerError extends NsxError {}

const DIFFID = /^sha256:([0-9a-f]{64})$/;

export function hexOf(diffId: string): string {
  const m = DIFFID.exec(diffId);
  if (!m)
    throw new NsxError(`${diffId}: not a sha256 diff id`, {
      hint: 'diff ids look like sha256: followed by 64 hex digits (image config rootfs.diff_ids)',
    });
  return m[1];
}

export function layersDir(root: string): string {
  return join(root, 'layers', 'sha256');
}

/** <root>/layers/sha256/<hex>: holds diff/ (the tree) and layer.json (the record). */
export function layerDir(root: string, diffId: string): string {
  return join(layersDir(root), hexOf(diffId));
}

/** The unpacked tree, usable as an overlayfs lower dir. */
export function layerDiffDir(root: string, diffId: string): string {
  return join(layerDir(root, diffId), 'diff');
}

/** The record of an unpacked layer, or undefined when it is not (completely) unpacked. */
export function readLayerRecord(root: string, diffId: string): LayerRecord | undefined {
  try {
    return JSON.parse(readFileSync(join(layerDir(root, diffId), 'layer.json'), 'utf8')) as LayerRecord;
  } catch {
    return undefined;
  }
}

/** Removes an unpacked layer (when no image uses it any more). */
export function removeLayer(root: string, diffId: string): void {
  removeTree(layerDir(root, diffId));
}
