// docker diff (GET /containers/{id}/changes): the container's overlay upper directory, its writable
// layer, read as docker's change list against the image's layers (src/image/upper.ts: whiteouts and
// opaque directories are deletions). It is a directory on the host whether the container runs or not:
// nothing is mounted to read it.
//
// A container without an overlay has no such list, and the engine says so rather than inventing one:
// a --rootfs DIR container's root is that directory itself, written in place (no lower layer kept to
// compare with), and an image's container whose layers were copied (NSX_ROOTFS_MODE=copy, or where
// overlayfs cannot be used) has its own full copy, with no record of what changed since. Both are
// answered 409 with that reason (docker has no such container; its graph drivers all keep a diff).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LayerRecord } from '../../image/layers.js';
import { LayeredView } from '../../image/rootfs.js';
import { CHANGE_KIND_CODE, upperChanges } from '../../image/upper.js';
import { NsxError } from '../../runtime/errors.js';
import type { EngineContainer } from '../container.js';
import { ApiError } from '../errors.js';

/** docker's change list: [{"Path": "/etc/passwd", "Kind": 0}] (0 modified, 1 added, 2 deleted). */
export function changes(c: EngineContainer): { Path: string; Kind: 0 | 1 | 2 }[] {
  const root = c.record.Root;
  const o = root?.overlay;
  if (!o) {
    const why = root?.copied
      ? `its image's layers were copied into a directory of its own (${root.copied.reason}), so no writable layer records what changed`
      : `its root is the directory ${c.record.Rootfs ?? root?.path} (--rootfs), written in place: there is no image layer to compare it with`;
    throw new ApiError(
      409,
      `cannot list the changes of container ${c.id}: ${why}`,
      "docker diff lists an image's container's writable layer (the overlay's upper directory)",
    );
  }
  // The layers' records sit beside their trees: <root>/layers/sha256/<hex>/{diff,layer.json}.
  const view = new LayeredView(
    o.lowerdirs.map((diff) => ({
      diff,
      record: JSON.parse(readFileSync(join(dirname(diff), 'layer.json'), 'utf8')) as LayerRecord,
    })),
  );
  try {
    return upperChanges(o.upper, view).map((x) => ({ Path: x.path, Kind: CHANGE_KIND_CODE[x.kind] }));
  } catch (e) {
    if (e instanceof NsxError) throw new ApiError(500, e.message, e.info.hint);
    throw e;
  }
}
