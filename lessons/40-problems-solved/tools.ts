// The problems-solved lab's measuring tools, one program (`lab-tool` on the lab's PATH):
//   lab-tool tree ROOT REF        unpacks REF's layers in the store at ROOT (as nsx does for a run) and
//                                 prints one hash of the resulting tree: every path, type, mode,
//                                 owner, link target and file content, in sorted order
//   lab-tool footprint ROOT STATE what the lab's containers occupy on the host: files under the store,
//                                 mounts, cgroups, processes (ids from ROOT/containers and STATE, kept
//                                 in ROOT/../seen-ids so the "after" count still looks for them)
//   lab-tool unpack LAYOUT DIR    an OCI image layout's image unpacked into DIR/rootfs (a runc bundle)
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { extractLayer } from '../../src/image/extract.js';
import { layerDiffDir } from '../../src/image/layers.js';
import { ImageStore } from '../../src/image/store.js';
import type { OciIndex, OciManifest, OciImageConfig } from '../../src/image/types.js';

/** path -> "type mode uid:gid content" for every entry under dir, relative ("/"-rooted). */
function describe(dir: string, into: Map<string, string>, rel = ''): void {
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = `${rel}/${name}`;
    const st = lstatSync(join(dir, p));
    const head = `${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}`;
    if (st.isSymbolicLink()) into.set(p, `l ${head} ${readlinkSync(join(dir, p))}`);
    else if (st.isDirectory()) {
      into.set(p, `d ${head}`);
      describe(dir, into, p);
    } else if (st.isFile())
      into.set(
        p,
        `f ${head} ${createHash('sha256')
          .update(readFileSync(join(dir, p)))
          .digest('hex')}`,
      );
    else into.set(p, `o ${head} ${st.rdev}`);
  }
}

async function tree(root: string, ref: string): Promise<void> {
  const store = new ImageStore(root);
  const image = store.resolve(ref);
  if (!image) throw new Error(`${ref} is not in the store at ${root}`);
  const diffIds = image.config.rootfs?.diff_ids ?? [];
  const entries = new Map<string, string>();
  for (const [i, layer] of image.manifest.layers.entries()) {
    await extractLayer(root, store.blobPath(layer.digest), diffIds[i]);
    // These images have no whiteouts: the upper layer's entries replace the lower's.
    describe(layerDiffDir(root, diffIds[i]), entries);
  }
  const listing = [...entries.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([p, d]) => `${p} ${d}\n`)
    .join('');
  const hash = createHash('sha256').update(listing).digest('hex');
  console.log(`tree sha256:${hash}  (${entries.size} entries, ${diffIds.length} layers unpacked under ${root}/layers)`);
}

function count(dir: string): number {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    n++;
    if (e.isDirectory()) n += count(join(dir, e.name));
  }
  return n;
}

const ID = /^[0-9a-f]{64}$/;

function cgroupDirs(ids: Set<string>, dir = '/sys/fs/cgroup', depth = 0): string[] {
  if (depth > 4) return [];
  const out: string[] = [];
  let list: import('node:fs').Dirent[] = [];
  try {
    list = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of list) {
    if (!e.isDirectory()) continue;
    const p = join(dir, e.name);
    if ([...ids].some((id) => e.name.includes(id))) out.push(p);
    out.push(...cgroupDirs(ids, p, depth + 1));
  }
  return out;
}

function footprint(root: string, state: string): void {
  const seenFile = join(dirname(root), 'seen-ids');
  const ids = new Set(existsSync(seenFile) ? readFileSync(seenFile, 'utf8').split('\n').filter(Boolean) : []);
  for (const d of [join(root, 'containers'), state, join(state, 'containers')])
    if (existsSync(d)) for (const n of readdirSync(d)) if (ID.test(n)) ids.add(n);
  writeFileSync(seenFile, [...ids].join('\n') + '\n');
  const procs: number[] = [];
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const cg = readFileSync(`/proc/${n}/cgroup`, 'utf8');
      if ([...ids].some((id) => cg.includes(id))) procs.push(Number(n));
    } catch {
      /* gone */
    }
  }
  // Mounts: the host's that name the store, plus every mount the lab's containers' processes see
  // in mount namespaces other than the host's (the rootfs, /proc, /dev … mounted inside).
  const hostNs = readlinkSync('/proc/self/ns/mnt');
  const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(root)).length;
  const seenNs = new Set<string>();
  let inside = 0;
  for (const pid of procs) {
    try {
      const ns = readlinkSync(`/proc/${pid}/ns/mnt`);
      if (ns === hostNs || seenNs.has(ns)) continue;
      seenNs.add(ns);
      inside += readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      /* gone */
    }
  }
  const sub = (d: string) => count(join(root, d));
  console.log(
    `files under the store: ${count(root)} (images ${sub('images')}, layers ${sub('layers')}, containers ${sub('containers')})`,
  );
  console.log(`mounts: ${hostMounts + inside} (on the host ${hostMounts}, in containers' mount namespaces ${inside})`);
  console.log(`cgroups: ${cgroupDirs(ids).length}`);
  console.log(`processes: ${procs.length}`);
}

/** An OCI layout's (one) image unpacked bottom-up into DIR/rootfs with tar, as a runc bundle. */
function unpack(layout: string, dir: string): void {
  const blob = (d: string) => join(layout, 'blobs', ...d.split(':'));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as OciIndex;
  const manifest = JSON.parse(readFileSync(blob(index.manifests[0].digest), 'utf8')) as OciManifest;
  const config = JSON.parse(readFileSync(blob(manifest.config.digest), 'utf8')) as OciImageConfig;
  const rootfs = join(dir, 'rootfs');
  mkdirSync(rootfs, { recursive: true });
  for (const l of manifest.layers) execFileSync('tar', ['-xzf', blob(l.digest), '-C', rootfs]);
  console.log(
    `${manifest.layers.length} layers unpacked into ${rootfs}; the image is for ${config.os}/${config.architecture}`,
  );
}

const [verb, a, b] = process.argv.slice(2);
try {
  if (verb === 'tree' && a && b) await tree(a, b);
  else if (verb === 'footprint' && a && b) footprint(a, b);
  else if (verb === 'unpack' && a && b) unpack(a, b);
  else {
    console.error('usage: lab-tool tree ROOT REF | footprint ROOT STATE | unpack LAYOUT DIR');
    process.exitCode = 2;
  }
} catch (e) {
  console.error(`lab-tool: ${(e as Error).message}`);
  process.exitCode = 1;
}
