// Device cgroup rules: which device nodes a container may create (mknod) and open (read, write).
//
// A device node is only a name for (type, major, minor); with CAP_MKNOD a container can make a node for
// the host's disk (b 8:0) or kernel log (c 1:11, /dev/kmsg) and open it, whatever its mount namespace
// shows. The device cgroup is the kernel's check on that, at mknod(2) and at open(2): a refused access
// fails with EPERM. Cgroup v1 has a controller with files (devices.allow, devices.deny, devices.list:
// Documentation/admin-guide/cgroup-v1/devices.rst); cgroup v2 has no files, it runs an eBPF program
// attached to the cgroup (Documentation/admin-guide/cgroup-v2.rst "Device controller"; see ebpf.ts).
//
// DEFAULT_DEVICE_RULES is what a Docker container ends up with: moby's oci/defaults.go DefaultLinuxSpec
// (moby/moby at 0a86509) sets Resources.Devices (deny all rwm, then allow c 1:5, 1:3, 1:9, 1:8, 5:0, 5:1
// rwm, deny c 10:229 rwm), and runc appends its AllowedDevices (libcontainer/specconv/spec_linux.go,
// opencontainers/runc at 7d84a12: c *:* m, b *:* m, c 1:3, 1:8, 1:7, 5:0, 1:5, 1:9, 136:*, 5:2, 10:200
// rwm) after them ("these rules are appended to the user-provided set"). Left out here:
//  - c 10:200 (/dev/net/tun), which runc keeps for backward compatibility only: nsx's /dev has no tun;
//  - moby's explicit deny of c 10:229 (/dev/fuse): after the deny-all rule it changes nothing.
// So mknod still succeeds for any node (c *:* m, b *:* m: "mknod for any device", runc's comment calls
// it questionable) and opening anything outside the list fails with EPERM.
//
// Semantics: the LAST rule that matches a request decides it; no rule matching means deny (ebpf.ts
// compiles it so). A request (one open(2) may ask for read and write at once) matches a rule when type,
// major and minor match and: for an allow rule, all of its access bits are in the rule's access; for a
// deny rule, any of them is. That is what v1's kernel does with its exceptions (security/
// device_cgroup.c: an allow exception must cover the whole request, a deny exception refuses on any
// overlap), so a "deny c 1:11 w" also refuses an O_RDWR open. v1 keeps exceptions, not a list
// (devices.rst): v1Writes accepts only the lists v1 applies exactly, and for those both agree. (runc
// gets the same agreement the other way round: its libcontainer/cgroups/devices/devicefilter.go first
// runs the rules through an emulator of v1, then compiles what v1 would hold.)
import { NsxError } from '../errors.js';

export interface DeviceRule {
  allow: boolean;
  /** a = every device (type, major and minor), c = character, b = block. */
  type: 'a' | 'c' | 'b';
  /** undefined = any ("*" in v1's syntax). */
  major?: number;
  minor?: number;
  /** A subset of "rwm": read, write, mknod. */
  access: string;
}

const chr = (major: number, minor?: number): DeviceRule => ({ allow: true, type: 'c', major, minor, access: 'rwm' });

/** Docker's default (see the header): deny everything, then allow mknod of any node and rwm of the
 *  devices a container's /dev holds. */
export const DEFAULT_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  { allow: false, type: 'a', access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  chr(1, 3), // /dev/null
  chr(1, 5), // /dev/zero
  chr(1, 7), // /dev/full
  chr(1, 8), // /dev/random
  chr(1, 9), // /dev/urandom
  chr(5, 0), // /dev/tty
  chr(5, 1), // /dev/console
  chr(5, 2), // /dev/ptmx
  chr(136), // /dev/pts/*: Unix98 pty peers (Documentation/admin-guide/devices.txt, major 136-143)
]);

/** docker run --privileged: every device (moby gives a privileged container all of the host's). */
export const PRIVILEGED_DEVICE_RULES: readonly DeviceRule[] = Object.freeze([
  { allow: true, type: 'a', access: 'rwm' },
]);

/** The access bits of a request or rule, as struct bpf_cgroup_dev_ctx's (include/uapi/linux/bpf.h). */
export const ACCESS = { m: 1, r: 2, w: 4 } as const;

export function accessBits(access: string): number {
  let bits = 0;
  for (const ch of access) {
    const bit = ACCESS[ch as keyof typeof ACCESS];
    if (bit === undefined) {
      throw new NsxError(`device rule access "${access}": "${ch}" is not one of r, w, m`, {
        hint: 'access is a subset of "rwm" (devices.rst)',
      });
    }
    bits |= bit;
  }
  return bits;
}

/** "c 1:3 rwm", "b *:* m", "a *:* rwm": the syntax of devices.allow/deny and devices.list. */
export function formatRule(rule: DeviceRule): string {
  validateRule(rule);
  const n = (v: number | undefined) => (v === undefined ? '*' : String(v));
  return `${rule.type} ${n(rule.major)}:${n(rule.minor)} ${canonicalAccess(rule.access)}`;
}

function canonicalAccess(access: string): string {
  const bits = accessBits(access);
  return (bits & ACCESS.r ? 'r' : '') + (bits & ACCESS.w ? 'w' : '') + (bits & ACCESS.m ? 'm' : '');
}

export function validateRule(rule: DeviceRule): void {
  // The kernel's dev_t has a 12-bit major and a 20-bit minor (include/linux/kdev_t.h, MINORBITS 20).
  for (const [name, v, max] of [
    ['major', rule.major, 0xfff],
    ['minor', rule.minor, 0xfffff],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > max)) {
      const hint = 'leave it out for "any" (*)';
      throw new NsxError(`device rule ${name} ${v} is not a number from 0 to ${max}`, { hint });
    }
  }
  if (rule.type === 'a' && (rule.major !== undefined || rule.minor !== undefined)) {
    const hint = 'use type c or b for one device';
    throw new NsxError('a device rule of type "a" (all) takes no major or minor', { hint });
  }
  if (accessBits(rule.access) === 0) throw new NsxError('a device rule needs some access: r, w or m', {});
}

/** Whether a rule decides a request (see the header): allow rules cover all of it, deny rules any of it. */
export function ruleMatches(r: DeviceRule, type: 'c' | 'b', major: number, minor: number, want: number): boolean {
  if (r.type !== 'a' && r.type !== type) return false;
  if (r.major !== undefined && r.major !== major) return false;
  if (r.minor !== undefined && r.minor !== minor) return false;
  const have = accessBits(r.access);
  return r.allow ? (want & have) === want : (want & have) !== 0;
}

/** What the rules decide for one request (type c or b, access: one or more of r, w, m): the last
 *  matching rule, or deny when none matches. The reference the compiled program is tested against. */
export function decide(
  rules: readonly DeviceRule[],
  type: 'c' | 'b',
  major: number,
  minor: number,
  access: string,
): boolean {
  const want = accessBits(access);
  if (want === 0) throw new NsxError('a device request asks for some access: r, w or m', {});
  for (let i = rules.length - 1; i >= 0; i--) {
    if (ruleMatches(rules[i], type, major, minor, want)) return rules[i].allow;
  }
  return false;
}

export type V1File = 'devices.allow' | 'devices.deny';

/** The writes that give a v1 devices cgroup these rules, in order: [file, line].
 *
 *  A v1 devices cgroup has a default (allow or deny) and a list of exceptions (devices.rst,
 *  security/device_cgroup.c). Writing "a" to devices.deny empties the list and makes the default deny
 *  ("a" to devices.allow: default allow, all devices); with a deny default, a line written to
 *  devices.allow adds an exception, and a line written to devices.deny only takes away access from an
 *  exception with the same type, major and minor. So a list is applied exactly when it starts with an
 *  "a *:* rwm" rule and every later rule goes the other way (allows after a deny-all, denies after an
 *  allow-all); other lists are refused rather than applied differently from the eBPF program. The
 *  kernel reads only the "a" of an "a" line (v1 cannot restrict "a" to some access). The cgroup must
 *  have no child cgroups yet: the kernel refuses to change the default of a cgroup with children. */
export function v1Writes(rules: readonly DeviceRule[]): [V1File, string][] {
  const first = rules[0];
  if (!first || first.type !== 'a' || accessBits(first.access) !== 7) {
    throw new NsxError('a v1 devices cgroup needs the rule list to start with "a *:* rwm" (allow or deny all)', {
      hint: 'without it the result would depend on what the cgroup inherited from its parent (devices.rst)',
    });
  }
  const out: [V1File, string][] = [[first.allow ? 'devices.allow' : 'devices.deny', 'a']];
  for (const rule of rules.slice(1)) {
    if (rule.type === 'a' || rule.allow === first.allow) {
      throw new NsxError(`device rule "${formatRule(rule)}" cannot be applied to a v1 devices cgroup as written`, {
        hint:
          `after "${formatRule(first)}" v1 takes only ${first.allow ? 'denies' : 'allows'} of c or b devices: ` +
          'its exception list has no order, so a later rule could not override an earlier one (devices.rst)',
      });
    }
    out.push([rule.allow ? 'devices.allow' : 'devices.deny', formatRule(rule)]);
  }
  return out;
}
