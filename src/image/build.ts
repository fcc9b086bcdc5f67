// The sandbox images, built offline from Debian's busybox-static: recipes in sandbox/images/images.json,
// layer contents in sandbox/images/layers/ (plus the generated busybox layer), each image written as
// an OCI image layout directory (which skopeo reads: `skopeo copy oci:DIR:TAG docker://…`), and
// optionally loaded into the nsx store and pushed to a registry.
//
//   npm run sandbox:images                                   sandbox/images/oci/<image>/
//   npm run sandbox:images -- --load                         … and into the store (NSX_ROOT)
//   npm run sandbox:images -- --push localhost:5000          … and to a registry, as localhost:5000/<name>
//
// Reproducible: the same recipes, layer files and busybox binary give the same digests. Entries are
// sorted, owned by 0:0 (unless the recipe says otherwise), dated at the recipe's `created`, and
// gzipped at a fixed level with gzip's header fixed (mtime 0, OS byte 3); JSON has a fixed key order.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';
import { NsxError } from '../runtime/errors.js';
import { packageRoot } from '../paths.js';
import { formatReference, normalize } from './reference.js';
import type { ImageStore } from './store.js';
import { MediaType, REF_NAME_ANNOTATION, type OciImageConfig, type OciIndex, type OciManifest } from './types.js';

/** The full reference a layout's image is meant to have (a layout's ref.name is just the tag). */
export const IMAGE_NAME_ANNOTATION = 'io.github.nsx.image.name';

export type LayerRecipe =
  /** Generated: /bin/busybox, one symlink per applet, /etc/passwd and /etc/group, the usual directories. */
  | { busybox: string }
  /** A directory's tree (relative to the recipes file); files named .wh.NAME are whiteouts. */
  | { dir: string };

export interface ImageRecipe {
  ref: string;
  layers: string[];
  config: NonNullable<OciImageConfig['config']>;
  /** One line for the image's history (docker history's CREATED BY). */
  comment?: string;
}

export interface Recipes {
  /** Every date in the images: config.created, history, and each file's mtime. */
  created: string;
  layers: Record<string, LayerRecipe>;
  images: ImageRecipe[];
}

export interface TarFile {
  name: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  uid?: number;
  gid?: number;
  body?: Buffer;
  linkname?: string;
}

export interface BuiltBlob {
  bytes: Buffer;
  digest: string;
  size: number;
}

export interface BuiltLayer extends BuiltBlob {
  diffId: string;
  name: string;
}

export interface BuiltImage {
  ref: string;
  manifest: OciManifest;
  manifestBlob: BuiltBlob;
  config: OciImageConfig;
  configBlob: BuiltBlob;
  layers: BuiltLayer[];
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blob = (bytes: Buffer): BuiltBlob => ({ bytes, digest: sha(bytes), size: bytes.length });

/** The platform of the busybox binary: this machine's. */
function platform(): { architecture: string; os: string; variant?: string } {
  if (process.arch === 'x64') return { os: 'linux', architecture: 'amd64' };
  if (process.arch === 'arm64') return { os: 'linux', architecture: 'arm64', variant: 'v8' };
  throw new NsxError(`the sandbox images are built for this machine, and ${process.arch} is not one nsx supports`);
}

/** A tar of FILES, sorted by name, every date MTIME. */
export async function tarOf(files: TarFile[], mtime: Date): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r, j) => {
    p.on('end', () => r());
    p.on('error', j);
  });
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const f of sorted) {
    const header: Header = {
      name: f.type === 'directory' ? `${f.name}/` : f.name,
      type: f.type,
      mode: f.mode,
      uid: f.uid ?? 0,
      gid: f.gid ?? 0,
      uname: '',
      gname: '',
      mtime,
      size: f.body?.length ?? 0,
      linkname: f.linkname ?? '',
      devmajor: 0,
      devminor: 0,
    };
    await new Promise<void>((res, rej) => {
      const cb = (e?: Error | null) => (e ? rej(e) : res());
      if (f.type === 'file') p.entry(header, f.body ?? Buffer.alloc(0), cb);
      else (p.entry(header, cb) as unknown as { end(): void }).end();
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** gzip with nothing of the moment or the machine in it. */
export function reproducibleGzip(data: Buffer): Buffer {
  const gz = gzipSync(data, { level: 9 });
  gz.writeUInt32LE(0, 4); // MTIME: none
  gz[9] = 3; // OS: Unix, whatever zlib was built for
  return gz;
}

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
learner:x:1000:1000:learner:/home/learner:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
`;
const GROUP = `root:x:0:
daemon:x:1:
tty:x:5:
learner:x:1000:
nogroup:x:65534:
`;

/** The busybox base layer: what sandbox/build-busybox-rootfs.sh makes, as tar entries. */
export function busyboxFiles(busybox: string): TarFile[] {
  let applets: string[];
  try {
    applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  } catch {
    throw new NsxError(`no busybox at ${busybox}`, {
      hint: 'sudo apt-get install busybox-static (or set BUSYBOX=/path/to/a/static/busybox)',
    });
  }
  const dir = (name: string, mode = 0o755, uid = 0): TarFile => ({ name, type: 'directory', mode, uid, gid: uid });
  const files: TarFile[] = [
    ...['bin', 'sbin', 'usr', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'home', 'var', 'run'].map((d) =>
      dir(d),
    ),
    dir('tmp', 0o1777),
    dir('root', 0o700),
    dir('home/learner', 0o755, 1000),
    { name: 'bin/busybox', type: 'file', mode: 0o755, body: readFileSync(busybox) },
    { name: 'etc/passwd', type: 'file', mode: 0o644, body: Buffer.from(PASSWD) },
    { name: 'etc/group', type: 'file', mode: 0o644, body: Buffer.from(GROUP) },
  ];
  for (const a of applets)
    if (a !== 'bin/busybox') files.push({ name: a, type: 'symlink', mode: 0o777, linkname: '/bin/busybox' });
  return files;
}

/** A directory's tree as tar entries: modes normalized (0755 for directories and executables, 0644
 *  for the rest, as git keeps only the executable bit), owners 0:0. */
export function dirFiles(root: string): TarFile[] {
  const out: TarFile[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(rel ? join(root, rel) : root).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) {
        out.push({ name: r, type: 'directory', mode: 0o755 });
        walk(r);
      } else if (st.isSymbolicLink())
        out.push({ name: r, type: 'symlink', mode: 0o777, linkname: readlinkSync(join(root, r)) });
      else if (st.isFile())
        out.push({ name: r, type: 'file', mode: st.mode & 0o111 ? 0o755 : 0o644, body: readFileSync(join(root, r)) });
      else throw new NsxError(`${join(root, r)}: only files, directories and symlinks can go into a sandbox layer`);
    }
  };
  walk('');
  return out;
}

export async function buildLayer(name: string, files: TarFile[], mtime: Date): Promise<BuiltLayer> {
  const tar = await tarOf(files, mtime);
  return { name, ...blob(reproducibleGzip(tar)), diffId: sha(tar) };
}

/** One image from its recipe and its (already built) layers. */
export function buildImage(recipe: ImageRecipe, layers: BuiltLayer[], created: string): BuiltImage {
  const config: OciImageConfig = {
    created,
    architecture: platform().architecture,
    os: 'linux',
    ...(platform().variant ? { variant: platform().variant } : {}),
    config: {
      ...recipe.config,
      Env: recipe.config.Env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({
      created,
      created_by: `nsx sandbox image layer "${l.name}" (src/image/build.ts)`,
      ...(recipe.comment ? { comment: recipe.comment } : {}),
    })),
  };
  const configBlob = blob(Buffer.from(JSON.stringify(config)));
  const manifest: OciManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: { mediaType: MediaType.ociConfig, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => ({ mediaType: MediaType.ociLayerGzip, digest: l.digest, size: l.size })),
  };
  return {
    ref: formatReference(normalize(recipe.ref)),
    manifest,
    manifestBlob: blob(Buffer.from(JSON.stringify(manifest))),
    config,
    configBlob,
    layers,
  };
}

export function readRecipes(file: string): Recipes {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Recipes;
  } catch (e) {
    throw new NsxError(`${file}: ${(e as Error).message}`, {
      hint: 'the recipes are JSON: { created, layers, images }',
    });
  }
}

/** Every image of the recipes; each layer is built once, however many images share it. */
export async function buildAll(recipesFile: string, opts: { busybox?: string } = {}): Promise<BuiltImage[]> {
  const r = readRecipes(recipesFile);
  const mtime = new Date(r.created);
  const built = new Map<string, BuiltLayer>();
  const layer = async (name: string) => {
    if (built.has(name)) return built.get(name)!;
    const spec = r.layers[name];
    if (!spec) throw new NsxError(`${recipesFile}: no layer "${name}"`);
    const files =
      'busybox' in spec
        ? busyboxFiles(opts.busybox ?? spec.busybox)
        : dirFiles(resolve(dirname(recipesFile), spec.dir));
    const l = await buildLayer(name, files, mtime);
    built.set(name, l);
    return l;
  };
  const images: BuiltImage[] = [];
  for (const recipe of r.images) {
    const layers: BuiltLayer[] = [];
    for (const name of recipe.layers) layers.push(await layer(name));
    images.push(buildImage(recipe, layers, r.created));
  }
  return images;
}

/** The layout directory's name for an image: "nsx-sandbox/server:1" → "nsx-sandbox_server_1". */
export function layoutName(ref: string): string {
  const r = normalize(ref);
  return `${r.path.replace(/^library\//, '')}_${r.tag ?? 'latest'}`.replace(/[/:@]/g, '_');
}

/** An OCI image layout (image-spec image-layout.md) holding the image, named by its tag. */
export function writeLayout(dir: string, image: BuiltImage): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const blobs = join(tmp, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  for (const b of [image.manifestBlob, image.configBlob, ...image.layers])
    writeFileSync(join(blobs, b.digest.slice(7)), b.bytes);
  writeFileSync(join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }) + '\n');
  const index: OciIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      {
        mediaType: MediaType.ociManifest,
        digest: image.manifestBlob.digest,
        size: image.manifestBlob.size,
        annotations: {
          [REF_NAME_ANNOTATION]: normalize(image.ref).tag ?? 'latest',
          [IMAGE_NAME_ANNOTATION]: image.ref,
        },
      },
    ],
  };
  writeFileSync(join(tmp, 'index.json'), JSON.stringify(index, null, 2) + '\n');
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** Imports every image of an OCI image layout into the store (nsx's own annotation names it, else
 *  NAME, else its ref.name as a tag of "sandbox"). Blobs are verified as they are written. */
export async function loadLayout(store: ImageStore, dir: string, name?: string): Promise<string[]> {
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as OciIndex;
  const read = (digest: string) => readFileSync(join(dir, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
  const refs: string[] = [];
  for (const d of index.manifests) {
    if (d.mediaType !== MediaType.ociManifest && d.mediaType !== MediaType.dockerManifest) {
      throw new NsxError(`${dir}: ${d.mediaType} entries are not loaded; only image manifests`);
    }
    const manifest = JSON.parse(read(d.digest).toString('utf8')) as OciManifest;
    for (const b of [manifest.config, ...manifest.layers])
      if (!store.hasBlob(b.digest)) await store.writeBlob(read(b.digest), b.digest);
    await store.writeBlob(read(d.digest), d.digest);
    const ref =
      name ?? d.annotations?.[IMAGE_NAME_ANNOTATION] ?? `sandbox:${d.annotations?.[REF_NAME_ANNOTATION] ?? 'latest'}`;
    store.addImage(ref, d.digest);
    refs.push(formatReference(normalize(ref)));
  }
  return refs;
}

/** `npm run sandbox:images -- [--out DIR] [--load] [--push REGISTRY]`. */
export async function main(argv: string[]): Promise<number> {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const recipes = resolve(arg('--recipes') ?? join(packageRoot(), 'sandbox', 'images', 'images.json'));
  const out = resolve(arg('--out') ?? join(packageRoot(), 'sandbox', 'images', 'oci'));
  const registry = arg('--push');
  const images = await buildAll(recipes, { busybox: process.env.BUSYBOX });
  mkdirSync(out, { recursive: true });
  for (const img of images) {
    const dir = join(out, layoutName(img.ref));
    writeLayout(dir, img);
    process.stdout.write(`${img.ref}\n  ${dir}\n  ${img.manifestBlob.digest}\n`);
  }
  if (!argv.includes('--load') && !registry) return 0;
  const { ImageStore } = await import('./store.js');
  const store = new ImageStore();
  for (const img of images) {
    const [ref] = await loadLayout(store, join(out, layoutName(img.ref)));
    process.stdout.write(`loaded ${ref} into ${store.root}\n`);
    if (!registry) continue;
    const { push } = await import('./push.js');
    const { pushRenderer } = await import('../render/pull.js');
    const target = `${registry}/${normalize(img.ref).path.replace(/^library\//, '')}:${normalize(img.ref).tag ?? 'latest'}`;
    store.tag(ref, target);
    const render = pushRenderer(process.stdout);
    try {
      await push(target, { store, onEvent: (e) => render.onEvent(e) });
    } finally {
      render.finish();
    }
  }
  return 0;
}

/** Whether the layout directories are there (for the tests' setup). */
export function layoutsBuilt(out: string, images: string[]): boolean {
  return images.every((ref) => existsSync(join(out, layoutName(ref), 'index.json')));
}
