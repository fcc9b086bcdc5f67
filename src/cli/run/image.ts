// nsx run IMAGE: docker run's first half. The image is found in the store or pulled (--pull
// always|missing|never, docker's words on stderr), its layers are unpacked once, and the run options
// get a view of them for their checks; the container's root filesystem (its writable layer under
// <root>/containers/<id>/) is made only when every option is known good, and removed with it.
import { NsxError } from '../../runtime/errors.js';
import type { ImageRun } from '../../runtime/options.js';
import { pull, type PullPolicy } from '../../image/pull.js';
import { createRootfs, LayeredView, unpackImage, unpackOnPull, type PreparedRootfs } from '../../image/rootfs.js';
import { ImageStore } from '../../image/store.js';
import { pullRenderer } from '../../render/pull.js';

const POLICIES = ['always', 'missing', 'never'] as const;

export function parsePullPolicy(v: string | undefined): PullPolicy {
  if (v === undefined) return 'missing';
  if ((POLICIES as readonly string[]).includes(v)) return v as PullPolicy;
  throw new NsxError(`--pull ${v}: unknown policy`, {
    hint: 'use always (ask the registry every time), missing (the default: only when not in the store) or never',
  });
}

export interface RunImage {
  run: ImageRun;
  view: LayeredView;
  /** The container's root filesystem once run.prepare made it. */
  readonly prepared: PreparedRootfs | undefined;
  /** Removes the container's directory (its writable layer); returns what went, for the cleanup report. */
  remove(): string[];
}

export async function imageForRun(text: string, policy: PullPolicy, rootless: boolean): Promise<RunImage> {
  const store = new ImageStore();
  const render = pullRenderer(process.stderr);
  let image;
  try {
    ({ image } = await pull(text, {
      store,
      pull: policy,
      onEvent: (e) => render.onEvent(e),
      prepare: unpackOnPull(store, { rootless }),
    }));
  } finally {
    render.finish();
  }
  // Unpacked when pulled; an image that came into the store another way is unpacked now.
  const layers = await unpackImage(store, image, { rootless });
  const view = new LayeredView([...layers].reverse());
  let prepared: PreparedRootfs | undefined;
  return {
    view,
    get prepared() {
      return prepared;
    },
    run: {
      ref: text,
      config: image.config.config ?? {},
      view,
      prepare: (id, maps) => {
        prepared = createRootfs(store.root, image, layers, id, { rootless, ...maps });
        if (prepared.overlay) return { path: prepared.path, overlay: prepared.overlay };
        return { path: prepared.path, copied: { layers: layers.length, reason: prepared.reason ?? 'copy mode' } };
      },
    },
    remove: () => {
      if (!prepared) return [];
      const dir = prepared.upper.slice(0, prepared.upper.lastIndexOf('/'));
      prepared.remove();
      return [`${dir} (the container's writable layer)`];
    },
  };
}
