// nsx seccomp's work: load the profile, compile it for this machine as a container with Docker's
// default capabilities gets it (compile.ts; the seccomp step compiles with the container's own set),
// print its size and its top, and trace each --trace call through it (trace.ts).
import { release } from 'node:os';
import { DOCKER_DEFAULT_CAPS } from '../../runtime/capabilities.js';
import { NsxError } from '../../runtime/errors.js';
import { hostArch } from '../../runtime/host.js';
import {
  AUDIT_ARCH,
  SYSCALLS,
  compileProfile,
  defaultProfile,
  defaultProfilePath,
  disassemble,
  loadProfileFile,
  renderTrace,
  traceFilter,
  type SeccompArch,
} from '../../runtime/seccomp/index.js';

/** "personality:0x40008" → the call's name and its arguments. */
export function parseTraceSpec(spec: string, arch: SeccompArch): { name: string; nr: number; args: bigint[] } {
  const [name, list] = spec.split(':', 2);
  const nr = SYSCALLS[arch].get(name);
  if (nr === undefined)
    throw new NsxError(`seccomp --trace ${spec}: "${name}" is not a system call on ${arch}`, {
      hint: `name one of the kernel's system calls as the profile does (e.g. read, keyctl${arch === 'aarch64' ? ', mkdirat' : ', mkdir'})`,
    });
  const args = (list ? list.split(',') : []).map((a) => {
    try {
      return BigInt(a.trim());
    } catch {
      throw new NsxError(`seccomp --trace ${spec}: "${a}" is not a number`, {
        hint: 'arguments are numbers, decimal or 0x hexadecimal: personality:0x40008',
      });
    }
  });
  if (args.length > 6)
    throw new NsxError(`seccomp --trace ${spec}: ${args.length} arguments`, { hint: 'a system call has at most 6' });
  return { name, nr, args };
}

export function seccompLines(o: { profile?: string; trace: string[]; full: boolean }): string[] {
  const arch = hostArch();
  const profile = o.profile ? loadProfileFile(o.profile) : defaultProfile();
  const path = o.profile ?? defaultProfilePath();
  const kernel = release();
  const { filter, instructions, skipped } = compileProfile(profile, { arch, caps: DOCKER_DEFAULT_CAPS, kernel });
  const byNr = new Map([...SYSCALLS[arch]].map(([n, nr]) => [nr, n]));
  const errno = profile.defaultErrnoRet === undefined ? '' : `, errno ${profile.defaultErrnoRet}`;
  const out = [
    `${o.profile ? 'Profile' : "Docker's default profile"} ${path}: ${profile.syscalls.length} rules, defaultAction ${profile.defaultAction}${errno}`,
    `compiled for ${arch} (kernel ${kernel}, Docker's ${DOCKER_DEFAULT_CAPS.length} default capabilities): ${instructions} BPF instructions, ${filter.length} bytes`,
  ];
  if (skipped.length)
    out.push(`(${skipped.length} names in rules that apply are not ${arch} system calls: left out, as runc does)`);
  const listing = disassemble(filter);
  if (o.full) out.push('', ...listing);
  else {
    const firstNr = listing.findIndex((l, i) => i > 3 && / jeq /.test(l));
    out.push(
      '',
      `The top: the architecture check (0x${AUDIT_ARCH[arch].toString(16)} is AUDIT_ARCH_${arch.toUpperCase()})`,
    );
    out.push(...listing.slice(0, firstNr + 1), `      … ${instructions - firstNr - 1} more`);
  }
  for (const spec of o.trace) {
    const { name, nr, args } = parseTraceSpec(spec, arch);
    const trace = traceFilter(filter, { nr, arch: AUDIT_ARCH[arch], args });
    const shownArgs = args.length ? `(${args.map((a) => '0x' + a.toString(16)).join(', ')})` : '';
    out.push('', `${name}${shownArgs}, nr ${nr}: ${trace.steps.length} instructions run`);
    out.push(...renderTrace(filter, trace, { nameOf: (n) => byNr.get(n) }));
  }
  return out;
}

export function showSeccomp(a: { profile?: string; trace: string[]; full: boolean }): number {
  process.stdout.write(seccompLines(a).join('\n') + '\n');
  return 0;
}
