// A manifest as the registry client checks it: its media type, and that it describes a container
// image nsx can unpack (config and layer media types, sha256 digests, sizes).
import { RegistryError } from './registry-http.js';
import { CONFIG_TYPES, LAYER_TYPES, MediaType, type OciManifest } from './types.js';

/** The largest image config accepted. */
export const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** The media type of a manifest: the Content-Type header, else the document's own mediaType, else
 *  guessed from its shape (OCI allows leaving it out). */
export function manifestMediaType(contentType: string | null, json: Record<string, unknown>): string {
  const header = contentType?.split(';')[0].trim().toLowerCase();
  if (header && header !== 'application/json' && header !== 'application/octet-stream' && header !== 'text/plain')
    return header;
  if (typeof json.mediaType === 'string') return json.mediaType;
  if (json.schemaVersion === 1) return MediaType.dockerSchema1;
  if (Array.isArray(json.manifests)) return MediaType.ociIndex;
  if (json.config && Array.isArray(json.layers)) return MediaType.ociManifest;
  return header ?? 'unknown';
}

/** Checks that MANIFEST describes a container image nsx can unpack: config and layer media types. */
export function checkImageManifest(manifest: OciManifest, name: string): void {
  if (!manifest || typeof manifest !== 'object' || !manifest.config || !Array.isArray(manifest.layers)) {
    throw new RegistryError(`${name}: the manifest has no config or layers`, 'protocol');
  }
  for (const d of [manifest.config, ...manifest.layers]) {
    if (typeof d.digest !== 'string' || !/^sha256:[a-f0-9]{64}$/.test(d.digest))
      throw new RegistryError(
        `${name}: the manifest names an invalid digest "${d.digest}"`,
        'unsupported',
        undefined,
        undefined,
        'nsx accepts sha256 digests only.',
      );
    if (!Number.isSafeInteger(d.size) || d.size < 0)
      throw new RegistryError(`${name}: the manifest gives blob ${d.digest} an invalid size`, 'protocol');
  }
  if (!CONFIG_TYPES.includes(manifest.config.mediaType)) {
    throw new RegistryError(
      `${name}: unsupported media type ${manifest.config.mediaType} for the image config`,
      'unsupported',
      undefined,
      undefined,
      'This is an OCI artifact (a Helm chart, a signature…), not a container image.',
    );
  }
  if (manifest.config.size > MAX_CONFIG_BYTES)
    throw new RegistryError(
      `${name}: the image config is ${manifest.config.size} bytes, more than nsx accepts`,
      'unsupported',
    );
  for (const l of manifest.layers) {
    if (l.mediaType === MediaType.dockerForeignLayerGzip)
      throw new RegistryError(
        `${name}: layer ${l.digest} is a foreign (Windows) layer`,
        'unsupported',
        undefined,
        undefined,
        'nsx runs Linux images.',
      );
    if (!LAYER_TYPES.includes(l.mediaType))
      throw new RegistryError(
        `${name}: unsupported media type ${l.mediaType} for layer ${l.digest}`,
        'unsupported',
        undefined,
        undefined,
        'nsx unpacks tar layers, plain, gzip or zstd compressed.',
      );
  }
}
