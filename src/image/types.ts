// The OCI image format's documents (image-spec v1.1), and the Docker schema2 equivalents they
// replaced: same shape, other media types. See https://github.com/opencontainers/image-spec.

export const MediaType = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  /** Docker's first manifest format (signed JSON, no content-addressed config). Refused. */
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** Manifests of one image (for one platform). */
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MediaType.ociManifest, MediaType.dockerManifest];
/** Lists of manifests, one per platform. */
export const INDEX_TYPES: readonly string[] = [MediaType.ociIndex, MediaType.dockerManifestList];
export const CONFIG_TYPES: readonly string[] = [MediaType.ociConfig, MediaType.dockerConfig];
/** Layer blobs nsx can unpack: tar, gzip'd tar, zstd'd tar. */
export const LAYER_TYPES: readonly string[] = [
  MediaType.ociLayer,
  MediaType.ociLayerGzip,
  MediaType.ociLayerZstd,
  MediaType.dockerLayerGzip,
];
export const SCHEMA1_TYPES: readonly string[] = [MediaType.dockerSchema1, MediaType.dockerSchema1Signed];

/** The annotation an OCI image layout uses to name a manifest; nsx stores the full normalized
 *  reference there, e.g. "docker.io/library/busybox:latest". */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** nsx's own annotation: the digest the registry served for the reference (an index's digest for a
 *  multi-platform image), which docker shows as a RepoDigest. */
export const REPO_DIGEST_ANNOTATION = 'io.github.nsx.repo-digest';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface OciManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

/** The image config: how to run the image and which layers (uncompressed digests) make it. */
export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  variant?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, object>;
    Env?: string[];
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Volumes?: Record<string, object>;
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
  };
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: { created?: string; created_by?: string; author?: string; comment?: string; empty_layer?: boolean }[];
}

/** One row of `nsx images`, as `docker images` prints it. */
export interface ImageSummary {
  /** Familiar repository name ("busybox", "localhost:5000/x") or "<none>". */
  repository: string;
  /** Tag or "<none>". */
  tag: string;
  /** The manifest digest the registry served, or "<none>". */
  digest: string;
  /** The image id: the config's digest. */
  id: string;
  created?: string;
  /** Bytes: the compressed layers plus the config, as stored. */
  size: number;
  manifestDigest: string;
  /** The full normalized reference, when named. */
  ref?: string;
}
