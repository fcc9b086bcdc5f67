// Hand-made layer tars for the extraction tests: any name, any type, any target, written with
// tar-stream's packer (which, unlike a tar command, writes exactly the names it is given).
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack, type Header } from 'tar-stream';

export type TarEntry = Partial<Header> & { name: string; body?: string | Buffer };

export async function makeTar(entries: TarEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on('end', () => r()));
  for (const { body, ...h } of entries) {
    const header = {
      mode: h.type === 'directory' ? 0o755 : 0o644,
      uid: 0,
      gid: 0,
      mtime: new Date(1_000_000_000_000),
      ...h,
    };
    await new Promise<void>((resolve, reject) => {
      if (body !== undefined) p.entry(header, body, (e) => (e ? reject(e) : resolve()));
      else (p.entry(header, (e) => (e ? reject(e) : resolve())) as unknown as { end(): void }).end();
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Writes the tar (gzipped unless told otherwise) as a blob file; returns its path and the diff id. */
export async function layerBlob(
  dir: string,
  entries: TarEntry[],
  opts: { gzip?: boolean } = {},
): Promise<{ blob: string; diffId: string; tar: Buffer }> {
  const tar = await makeTar(entries);
  const data = opts.gzip === false ? tar : gzipSync(tar);
  const blob = join(dir, `blob-${sha256(data).slice(7, 19)}`);
  writeFileSync(blob, data);
  return { blob, diffId: sha256(tar), tar };
}
