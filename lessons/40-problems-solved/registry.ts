// The problems-solved lab's registry: like engine-lab.ts's serveImage, but serving several
// repositories and WRITABLE, so a tag can be moved by a push (the consistency stop). The OCI
// distribution spec's endpoints, in memory, on loopback:
//   GET/HEAD /v2/, /v2/<repo>/manifests/<tag|digest>, /v2/<repo>/blobs/<digest>   (pull)
//   POST /v2/<repo>/blobs/uploads/, PATCH and PUT <location>?digest=               (blob upload)
//   PUT /v2/<repo>/manifests/<tag>                                                 (publish: moves the tag)
// Every request is appended to `log` as "METHOD PATH STATUS". Nothing is downloaded from anywhere.
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { BuiltImage } from '../../src/image/build.js';
import { listenOnLoopback, registryReplies, type LabRegistry } from '../engine-lab.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Serves `images` (repository = the ref without its tag and docker.io/ prefix). */
/** `aliases`: more tags, "repo:tag" -> the "repo:tag" whose manifest they start on. */
export async function serveWritable(
  images: BuiltImage[],
  log: string,
  aliases: Record<string, string> = {},
): Promise<LabRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { bytes: Buffer; type: string }>(); // by digest
  const tags = new Map<string, string>(); // "repo:tag" -> digest
  const uploads = new Map<string, Buffer[]>();
  for (const image of images) {
    const [name, tag] = image.ref.replace(/^docker\.io\/(library\/)?/, '').split(':');
    for (const b of [image.configBlob, ...image.layers]) blobs.set(b.digest, b.bytes);
    manifests.set(image.manifestBlob.digest, {
      bytes: image.manifestBlob.bytes,
      type: image.manifest.mediaType ?? 'application/vnd.oci.image.manifest.v1+json',
    });
    tags.set(`${name}:${tag}`, image.manifestBlob.digest);
  }
  for (const [alias, target] of Object.entries(aliases)) {
    const digest = tags.get(target);
    if (digest) tags.set(alias, digest);
  }

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://lab');
    const path = url.pathname;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const { answer, notFound } = registryReplies(req, res, path, log);
      if (path === '/v2/' || path === '/v2') return answer(200, '{}', { 'Content-Type': 'application/json' });
      const upload = /^\/v2\/(.+)\/blobs\/uploads\/([^/]*)$/.exec(path);
      if (upload) {
        const [, repo, id] = upload;
        if (req.method === 'POST' && !id) {
          const fresh = randomUUID();
          uploads.set(fresh, []);
          return answer(202, '', { Location: `/v2/${repo}/blobs/uploads/${fresh}`, 'Docker-Upload-UUID': fresh });
        }
        const parts = uploads.get(id);
        if (!parts) return notFound('BLOB_UPLOAD_UNKNOWN');
        parts.push(body);
        if (req.method === 'PATCH') {
          const size = parts.reduce((n, p) => n + p.length, 0);
          return answer(202, '', { Location: `/v2/${repo}/blobs/uploads/${id}`, Range: `0-${Math.max(0, size - 1)}` });
        }
        if (req.method === 'PUT') {
          const bytes = Buffer.concat(parts);
          const digest = url.searchParams.get('digest') ?? '';
          uploads.delete(id);
          if (sha(bytes) !== digest) return answer(400, JSON.stringify({ errors: [{ code: 'DIGEST_INVALID' }] }));
          blobs.set(digest, bytes);
          return answer(201, '', { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest });
        }
        return answer(405);
      }
      const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
      if (!m) return notFound('NAME_UNKNOWN');
      const [, repo, kind, ref] = m;
      if (kind === 'manifests') {
        if (req.method === 'PUT') {
          const digest = sha(body);
          manifests.set(digest, { bytes: body, type: req.headers['content-type'] ?? '' });
          if (!ref.startsWith('sha256:')) tags.set(`${repo}:${ref}`, digest);
          return answer(201, '', { Location: `/v2/${repo}/manifests/${digest}`, 'Docker-Content-Digest': digest });
        }
        if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405);
        const digest = ref.startsWith('sha256:') ? ref : tags.get(`${repo}:${ref}`);
        const found = digest ? manifests.get(digest) : undefined;
        if (!digest || !found) return notFound('MANIFEST_UNKNOWN');
        return answer(200, found.bytes, { 'Content-Type': found.type, 'Docker-Content-Digest': digest });
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') return answer(405);
      const blob = blobs.get(ref);
      if (!blob) return notFound('BLOB_UNKNOWN');
      return answer(200, blob, { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': ref });
    });
  });
  return listenOnLoopback(server);
}
