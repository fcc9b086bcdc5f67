// Linux capabilities by number, as in <linux/capability.h>; see capabilities(7).
import { NsxError } from './errors.js';

/** Index = capability number. */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
] as const;

export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/** Docker's default set for a container (moby oci/caps/defaults.go). */
export const DOCKER_DEFAULT_CAPS: CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap), else our table's. */
export function lastCap(readLastCap: () => string | undefined = () => undefined): number {
  const text = readLastCap();
  const n = text === undefined ? NaN : Number(text.trim());
  return Number.isInteger(n) ? n : CAPABILITY_NAMES.length - 1;
}

export function capNumber(name: CapabilityName): number {
  return CAPABILITY_NAMES.indexOf(name);
}

/** "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" → "CAP_NET_ADMIN"; NsxError for unknown names. */
export function normalizeCap(text: string, option = '--cap-add'): CapabilityName {
  const upper = text.trim().toUpperCase();
  const name = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if ((CAPABILITY_NAMES as readonly string[]).includes(name)) return name as CapabilityName;
  const near = CAPABILITY_NAMES.filter((c) => c.includes(upper.replace(/^CAP_/, '').slice(0, 4)));
  throw new NsxError(`${option} ${text}: unknown capability`, {
    hint: `capabilities are named as in capabilities(7), e.g. NET_ADMIN or CAP_SYS_TIME${
      near.length ? ` (did you mean ${near.slice(0, 3).join(', ')}?)` : ''
    }; ALL means every capability`,
  });
}

/** Docker's rule (moby oci/caps/utils.go TweakCapabilities): --privileged → all; --cap-add ALL → all
 *  but --cap-drop; --cap-drop ALL → only --cap-add; otherwise the defaults minus drops plus adds. */
export function effectiveCaps(opts: {
  add?: string[];
  drop?: string[];
  privileged?: boolean;
  base?: CapabilityName[];
}): CapabilityName[] {
  const all = [...CAPABILITY_NAMES];
  if (opts.privileged) return all;
  const isAll = (x: string) => x.toUpperCase() === 'ALL' || x.toUpperCase() === 'CAP_ALL';
  const add = opts.add ?? [];
  const drop = opts.drop ?? [];
  const addNames = add.filter((a) => !isAll(a)).map((a) => normalizeCap(a, '--cap-add'));
  const dropNames = drop.filter((d) => !isAll(d)).map((d) => normalizeCap(d, '--cap-drop'));
  let caps: Set<CapabilityName>;
  if (add.some(isAll)) caps = new Set(all.filter((c) => !dropNames.includes(c)));
  else if (drop.some(isAll)) caps = new Set(addNames);
  else caps = new Set([...(opts.base ?? DOCKER_DEFAULT_CAPS).filter((c) => !dropNames.includes(c)), ...addNames]);
  return all.filter((c) => caps.has(c));
}

/** Capability names → 64-bit mask as a bigint. */
export function capsToMask(caps: readonly CapabilityName[]): bigint {
  return caps.reduce((m, c) => m | (1n << BigInt(capNumber(c))), 0n);
}

/** A mask as /proc/PID/status shows it (CapEff: 00000000a80425fb) → names, unknown bits as "cap_N". */
export function decodeCapMask(hex: string | bigint): string[] {
  const mask = typeof hex === 'bigint' ? hex : BigInt('0x' + hex.trim());
  const out: string[] = [];
  for (let i = 0; i < 64; i++) if (mask & (1n << BigInt(i))) out.push(CAPABILITY_NAMES[i] ?? `cap_${i}`);
  return out;
}
