// From a record to the runtime's options: what create and every start (and exec) build the spec and
// plan from, with planContainer (src/runtime/make.ts). Made again at every start, so an engine that
// restarted can start a container it did not create.
import type { LayeredView } from '../../image/rootfs.js';
import type { MakeOptions } from '../../runtime/make.js';
import type { ImageRun } from '../../runtime/options.js';
import { loadSeccomp } from '../../runtime/seccomp-host.js';
import { ApiError } from '../errors.js';
import type { ContainerRecord } from '../state.js';

/** The options a record asks for. On a user's behalf (Nsx.RunAs) the plan is a rootless one: no
 *  cgroup, the unprivileged id-map rules, as that user could have run it. */
export function makeOptions(root: boolean, r: ContainerRecord, name?: string, image?: ImageRun): MakeOptions {
  const h = r.HostConfig;
  const n = r.Nsx ?? {};
  const network = h.NetworkMode && !['default', 'bridge'].includes(h.NetworkMode) ? h.NetworkMode : undefined;
  const ep = r.Config.Entrypoint;
  return {
    ...(image ? { image, entrypoint: ep === undefined ? undefined : ep.join(' ') } : { rootfs: r.Rootfs }),
    command: r.Config.Cmd,
    name: name ?? r.Name,
    hostname: r.Config.Hostname || undefined,
    env: r.Config.Env,
    workdir: r.Config.WorkingDir || undefined,
    user: r.Config.User || undefined,
    tty: r.Config.Tty,
    userns: h.UsernsMode || undefined,
    cgroupns: h.CgroupnsMode || undefined,
    unsafeChroot: n.UnsafeChroot,
    memory: h.Memory ? String(h.Memory) : undefined,
    pidsLimit: h.PidsLimit || undefined,
    cpus: h.NanoCpus ? h.NanoCpus / 1e9 : undefined,
    capAdd: h.CapAdd ?? undefined,
    capDrop: h.CapDrop ?? undefined,
    privileged: h.Privileged,
    securityOpt: h.SecurityOpt ?? undefined,
    network,
    ...(n.TimeNamespace ? { timeNamespace: true } : {}),
    ...(n.TimeOffsets ? { timeOffsets: n.TimeOffsets } : {}),
    ...(n.Swap ? { swap: n.Swap } : {}),
    loadSeccomp,
    ...(n.RunAs ? { root: false, uid: n.RunAs.uid, gid: n.RunAs.gid } : { root }),
  };
}

export interface ImageForRun {
  run: ImageRun;
  view: LayeredView;
  prepared: () => ContainerRecord['Root'];
}

/** An image from the store, its layers unpacked, as the run options take it. Its container's root
 *  filesystem is made once, at create (prepare), and the same one is used by every start. */
export async function imageRun(root: boolean, ref: string, existing?: ContainerRecord['Root']): Promise<ImageForRun> {
  const { ImageStore } = await import('../../image/store.js');
  const { LayeredView, createRootfs, unpackImage } = await import('../../image/rootfs.js');
  const store = new ImageStore();
  const image = store.resolve(ref);
  if (!image)
    throw new ApiError(
      404,
      `No such image: ${ref}`,
      'the engine runs images from the store: nsx pull it first (nsx images lists the store)',
    );
  const rootless = !root;
  const layers = await unpackImage(store, image, { rootless });
  let made = existing;
  const view = new LayeredView([...layers].reverse());
  return {
    prepared: () => made,
    view,
    run: {
      ref,
      config: image.config.config ?? {},
      view,
      prepare: (id, maps) => {
        if (made) return made;
        const p = createRootfs(store.root, image, layers, id, { rootless, keep: true, ...maps }); // kept: the engine owns it, across its restarts
        made = p.overlay
          ? { path: p.path, overlay: p.overlay }
          : { path: p.path, copied: { layers: layers.length, reason: p.reason ?? 'copy mode' } };
        return made;
      },
    },
  };
}
