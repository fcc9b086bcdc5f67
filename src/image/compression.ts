// A layer's compression, told by its first bytes (image-spec media types: tar, tar+gzip, tar+zstd),
// and the stream that decompresses it.
import * as zlib from 'node:zlib';
import { LayerError } from './layers.js';

export function compressionOf(head: Buffer): 'gzip' | 'zstd' | 'none' {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head[0] === 0x42 && head[1] === 0x5a && head[2] === 0x68)
    throw new LayerError('a bzip2-compressed layer: not supported', {
      hint: 'OCI layers are tar, tar+gzip or tar+zstd',
    });
  if (head[0] === 0xfd && head.subarray(1, 6).toString('latin1') === '7zXZ\0')
    throw new LayerError('an xz-compressed layer: not supported', { hint: 'OCI layers are tar, tar+gzip or tar+zstd' });
  return 'none';
}

export function decompressor(kind: 'gzip' | 'zstd' | 'none'): NodeJS.ReadWriteStream | undefined {
  if (kind === 'gzip') return zlib.createGunzip({ chunkSize: 256 * 1024 });
  if (kind === 'zstd') {
    const make = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
    if (!make) {
      throw new LayerError(`a zstd-compressed layer: this Node.js (${process.version}) has no zstd decoder`, {
        hint: 'Node.js 22.15 or newer decodes zstd; or use an image with gzip layers (docker pushes gzip unless told otherwise)',
      });
    }
    return make();
  }
  return undefined;
}
