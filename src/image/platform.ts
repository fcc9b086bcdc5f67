// Platforms: which manifest of a multi-platform index this machine runs (the OCI image index's
// "platform" field: os, architecture, variant). Used by the registry client and by pull's --platform.
import { NsxError } from '../runtime/errors.js';
import { IMAGE_MANIFEST_TYPES, type Descriptor, type OciIndex, type Platform } from './types.js';

// Platforms: which manifest of a multi-platform index this machine runs.

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** linux/amd64, or linux/arm64/v8. */
export function hostPlatform(arch: string = process.arch): Platform {
  const architecture = NODE_ARCH[arch] ?? arch;
  return architecture === 'arm64' ? { os: 'linux', architecture, variant: 'v8' } : { os: 'linux', architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Parses "linux/arm64/v8", "linux/amd64", "arm64". */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length === 1) return hostPlatformFor('linux', parts[0]);
  if (parts.length > 3 || parts.some((p) => !p))
    throw new NsxError(`invalid platform "${text}": expected os/arch[/variant], e.g. linux/arm64`);
  const p = hostPlatformFor(parts[0], parts[1]);
  return parts[2] ? { ...p, variant: parts[2] } : p;
}

function hostPlatformFor(os: string, architecture: string): Platform {
  return architecture === 'arm64' ? { os, architecture, variant: 'v8' } : { os, architecture };
}

/** arm64's only variant is v8, and an index may leave it out: the two mean the same. */
function normalVariant(p: Platform): string | undefined {
  return p.architecture === 'arm64' && (p.variant === undefined || p.variant === '') ? 'v8' : p.variant || undefined;
}

/**
 * The entry of INDEX for WANT (containerd's matcher, simplified): same os and architecture, and the
 * same variant; an entry without a variant matches when no exact one exists. Entries that are not
 * image manifests (attestations, nested indexes) are never chosen.
 */
export function selectManifest(index: OciIndex, want: Platform): Descriptor | undefined {
  const images = index.manifests.filter((d) => IMAGE_MANIFEST_TYPES.includes(d.mediaType) && d.platform);
  const same = images.filter((d) => d.platform!.os === want.os && d.platform!.architecture === want.architecture);
  const wantVariant = normalVariant(want);
  return (
    same.find((d) => normalVariant(d.platform!) === wantVariant) ??
    same.find((d) => normalVariant(d.platform!) === undefined) ??
    (wantVariant === undefined ? same[0] : undefined)
  );
}
