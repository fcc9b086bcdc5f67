// docker commit: the container's writable layer — its overlay upper directory — becomes one more
// layer of its image, and a new image in the store: the container's config (its command, env,
// workdir, user) with --change's instructions applied, the image's history with one entry more
// (CREATED BY the container's command, COMMENT the message). While the layer is read the container
// is frozen (docker's --pause, default on: the cgroup freezer, as docker pause), so no file changes
// under the tar writer.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { NsxError } from '../../runtime/errors.js';
import type { EngineContainer } from '../container.js';
import type { Engine } from '../engine.js';
import { ApiError } from '../errors.js';

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  pause?: boolean;
}

/** The image (manifest digest) a container's root was made from: its directory's container.json
 *  (rootfs.ts), which names the image by digest, not by a name that may have moved since. */
function manifestOf(upper: string): string {
  try {
    return (JSON.parse(readFileSync(join(dirname(upper), 'container.json'), 'utf8')) as { manifestDigest: string })
      .manifestDigest;
  } catch (e) {
    throw new ApiError(500, `the container's root has no record (${(e as Error).message})`);
  }
}

/** Owners as the image records them. A rootless engine's container writes its files as the engine's
 *  user, whom its user namespace maps to root: in the layer they are root's again (uid 0 inside is the
 *  invoking uid outside, user_namespaces(7)). As root, owners are what they are. */
export function containerOwner(root: boolean): ((uid: number, gid: number) => [number, number]) | undefined {
  if (root) return undefined;
  const [u, g] = [process.getuid?.() ?? 0, process.getgid?.() ?? 0];
  return (uid, gid) => [uid === u ? 0 : uid, gid === g ? 0 : gid];
}

export async function commit(engine: Engine, c: EngineContainer, o: CommitOptions): Promise<{ Id: string }> {
  const r = c.record;
  const overlay = r.Root?.overlay;
  if (!r.Root)
    throw new ApiError(
      400,
      `container ${c.id.slice(0, 12)} runs a root filesystem directory (${r.Rootfs}), not an image: there is no image to add a layer to`,
    );
  if (!overlay)
    throw new ApiError(
      501,
      `nsx commits only overlay containers: ${c.id.slice(0, 12)}'s layers were copied (${r.Root.copied?.reason ?? 'copy mode'}), so its own changes are not apart from the image's`,
    );
  const [{ ImageStore }, { writeLayer, writeImage }, { upperTar }, { applyChanges }] = await Promise.all([
    import('../../image/store.js'),
    import('../../image/commit.js'),
    import('../../image/upper.js'),
    import('../../image/dockerfile.js'),
  ]);
  const store = new ImageStore();
  const parent = store.resolve(manifestOf(overlay.upper));
  if (!parent) throw new ApiError(404, `the image of container ${c.id.slice(0, 12)} is no longer in the store`);
  let ref: string | undefined;
  if (o.repo) ref = o.tag ? `${o.repo}:${o.tag}` : o.repo;
  let config: NonNullable<typeof parent.config.config>;
  try {
    // The container's config as docker's commit takes it: its env less what the runtime adds for the
    // run only (HOSTNAME, and TERM for a terminal: src/runtime/options.ts), its command (the image's
    // when it was run without one).
    const own = parent.config.config?.Env ?? [];
    const env = r.Config.Env.filter(
      (e) => own.includes(e) || !(e.startsWith('HOSTNAME=') || (e.startsWith('TERM=') && r.Config.Tty)),
    );
    config = applyChanges(o.changes ?? [], {
      ...parent.config.config,
      Env: env,
      Cmd: r.Config.Cmd.length ? r.Config.Cmd : (parent.config.config?.Cmd ?? null),
      Entrypoint: r.Config.Entrypoint ?? parent.config.config?.Entrypoint ?? null,
      WorkingDir: r.Config.WorkingDir ?? parent.config.config?.WorkingDir ?? '',
      User: r.Config.User ?? parent.config.config?.User ?? '',
    });
    if (ref) (await import('../../image/reference.js')).parseReference(ref);
  } catch (e) {
    if (e instanceof NsxError) throw new ApiError(400, e.message, e.info.hint);
    throw e;
  }
  const freeze = o.pause !== false && c.status === 'running' && engine.root;
  if (freeze) await engine.pause(c.id);
  try {
    const layer = await writeLayer(store, upperTar(overlay.upper, { owner: containerOwner(engine.root) }));
    const made = await writeImage(store, {
      parent,
      layer,
      config,
      createdBy: [r.Path, ...r.Args].join(' '),
      comment: o.comment,
      author: o.author,
      ref,
    });
    return { Id: made.id };
  } catch (e) {
    if (e instanceof NsxError) throw new ApiError(500, e.message, e.info.hint);
    throw e;
  } finally {
    if (freeze) engine.unpause(c.id);
  }
}
