// What the tests that boot another kernel share (apparmor-vm.test.ts, apparmor-lesson-vm.test.ts):
// finding a kernel with AppArmor in /boot, why such a test must skip here, the boot through
// scripts/kernel-vm.sh, and the guest script's marked sections. One boot per test file: each costs
// minutes under emulation.
import { it } from '@jest/globals';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { arch } from 'node:os';
import { join } from 'node:path';
import { apparmorEnabled } from '../src/runtime/lsm/apparmor.js';
import { isRoot, ROOT } from './helpers.js';

/** The newest kernel in /boot with its modules and AppArmor built in (its config says so). */
export function kernelWithAppArmor(): string | undefined {
  const releases = existsSync('/boot')
    ? readdirSync('/boot')
        .filter((f) => f.startsWith('vmlinuz-'))
        .map((f) => f.slice('vmlinuz-'.length))
    : [];
  const ok = releases.filter((r) => {
    const config = join('/boot', `config-${r}`);
    return (
      existsSync(join('/lib/modules', r)) &&
      existsSync(config) &&
      /^CONFIG_SECURITY_APPARMOR=y$/m.test(readFileSync(config, 'utf8'))
    );
  });
  return ok.sort((a, b) => a.localeCompare(b, undefined, { numeric: true })).pop();
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
export const release = kernelWithAppArmor();

/** What scripts/kernel-vm.sh gives a tmpfs in the guest (its "for d in" line): a checkout under one
 *  of them is not there for the guest to run. */
const GUEST_TMPFS = ['/tmp', '/var/tmp', '/var/lib/nsx', '/var/cache/apparmor', '/root', '/run'];

/** Why an AppArmor test in the VM cannot run here, or undefined when it can. */
export const vmSkipReason: string | undefined = !isRoot
  ? 'needs root (qemu, mounts in the guest)'
  : apparmorEnabled()
    ? "this machine's kernel has AppArmor: the tests on the host see it directly"
    : arch() !== 'x64'
      ? `scripts/kernel-vm.sh boots x86_64 kernels only (this machine is ${arch()})`
      : !has('qemu-system-x86_64')
        ? 'no qemu-system-x86_64 (apt-get install qemu-system-x86)'
        : !has('apparmor_parser')
          ? 'no apparmor_parser (apt-get install apparmor)'
          : !release
            ? 'no kernel with AppArmor in /boot with its modules (apt-get install linux-image-amd64)'
            : GUEST_TMPFS.some((d) => ROOT === d || ROOT.startsWith(`${d}/`))
              ? `this checkout (${ROOT}) is under a directory the guest covers with a tmpfs (${GUEST_TMPFS.join(' ')})`
              : undefined;

/** it, or a skip that prints its reason. */
export const itVm =
  vmSkipReason === undefined ? it : (name: string) => it.skip(`${name} [skipped: ${vmSkipReason}]`, () => {});

/** Starts nsxd in the guest and waits for its socket: under emulation its start can take longer than
 *  the 10 s an autostarting nsx waits. */
export const START_ENGINE = `
${process.execPath} ${join(ROOT, 'dist', 'src', 'engine', 'nsxd.js')} >/tmp/nsxd.log 2>&1 &
i=0; while [ ! -S /run/nsx/nsxd.sock ] && [ $i -lt 300 ]; do sleep 1; i=$((i+1)); done
`;

/** A shell function for the guest: case_ NAME CMD... prints CMD's output and status between markers,
 *  so that the serial console's other lines do not matter (read back with cases()). */
export const CASE_FN = 'case_() { echo "<<$1"; shift; "$@" 2>&1; echo "exit $?"; echo ">>"; }';

/** Boots the kernel with SCRIPT as the guest's command, from the repository's root. */
export function boot(script: string, timeoutSeconds = 900): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [join(ROOT, 'scripts', 'kernel-vm.sh'), release!, script], {
      cwd: ROOT,
      env: { ...process.env, KERNEL_VM_TIMEOUT: String(timeoutSeconds) },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
    child.on('close', (code) => resolve({ code, out: out.replace(/\r/g, '') }));
  });
}

/** The sections CASE_FN printed, by name. */
export function cases(out: string): Record<string, string> {
  const found: Record<string, string> = {};
  for (const m of out.matchAll(/^<<(\S+)\n([\s\S]*?)^>>$/gm)) found[m[1]] = m[2];
  return found;
}
