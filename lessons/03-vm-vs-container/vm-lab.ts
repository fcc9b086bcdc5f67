// vm-lab: the vm-vs-container lesson's commands (its lab puts this on PATH, lab.ts). Each boots or
// runs one thing, measures it as it happens and keeps the numbers in the lab for `vm-lab compare`:
//   vm-lab vm          boot a VM: qemu, the machine's own kernel from /boot, the lab's initramfs
//   vm-lab container   run the same script in a container: nsx runtime run on the lab's rootfs
//   vm-lab compare     the two side by side, with the host's own answers
//   vm-lab outer       the machine the course runs on: a VM itself? its recorded boot
// The lab's directory: $NSX_VM_LAB.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLayout } from '../../src/runtime/cgroups/index.js';
import { cgroupDirOf, nsPidsOf, statusField } from '../../src/learn/kernel.js';
import { pidDir } from './lab.js';
import { emulator, kernelImage, kvm, qemuArgv } from './machine.js';
import { endAll, factsOf, measure, stamp, type Line, type Measured } from './measure.js';

/** The VM's RAM, and the container's memory limit: the same number for both. */
export const MEMORY_MIB = 256;
/** How long KVM may stay silent before the lesson gives up on it (it can hang, nested). */
const KVM_SILENT_SECONDS = 15;
/** The longest a boot under TCG may take (about 6 s on a 2-core VM; CI machines are slower). */
const TCG_SECONDS = 120;

export type Facts = Record<string, string>;

export type VmResult =
  | { ran: false; why: string }
  | {
      ran: true;
      accel: 'kvm' | 'tcg';
      accelWhy: string;
      kernel: string;
      kernelRelease: string;
      sameRelease: boolean;
      memoryMiB: number;
      firstOutput?: number;
      factsAt?: number;
      ended: number;
      poweredOff: boolean;
      endedBecause?: string;
      /** qemu's peak resident set (VmHWM of /proc/PID/status), in KiB. */
      rssPeakKiB?: number;
      facts: Facts;
    };

export interface ContainerResult {
  firstOutput?: number;
  factsAt?: number;
  ended: number;
  exitCode: number | null;
  facts: Facts;
  memory?: { dir: string; peakFile: string; peakBytes?: number; limitBytes?: number };
  memoryWhy?: string;
}

const lab = () => {
  const dir = process.env.NSX_VM_LAB;
  if (!dir || !existsSync(dir)) throw new Error("vm-lab runs in the lesson's lab only ($NSX_VM_LAB)");
  return dir;
};
const out = (s = '') => process.stdout.write(s + '\n');
const save = (name: string, value: unknown) =>
  writeFileSync(join(lab(), `${name}.json`), JSON.stringify(value, null, 2) + '\n');
function load<T>(name: string): T | undefined {
  try {
    return JSON.parse(readFileSync(join(lab(), `${name}.json`), 'utf8')) as T;
  } catch {
    return undefined;
  }
}
const plain = (facts: Record<string, Line>): Facts =>
  Object.fromEntries(Object.entries(facts).map(([k, v]) => [k, v.text]));
const echo = (l: Line) => out(`${stamp(l.t)} ${l.text}`);
const mib = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;

/** A shell-like line of argv, quoting what needs it (for showing, not for running). */
function shown(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
}

async function bootOnce(
  accel: 'kvm' | 'tcg',
  argvFor: (a: 'kvm' | 'tcg') => string[],
): Promise<{ m: Measured; rss?: number }> {
  let rss: number | undefined;
  const argv = argvFor(accel);
  out(`$ ${shown(argv)}`);
  const m = await measure(argv, {
    pidDir: pidDir(lab()),
    seconds: accel === 'kvm' ? 60 : TCG_SECONDS,
    silentSeconds: accel === 'kvm' ? KVM_SILENT_SECONDS : undefined,
    echo,
    sample: (pid) => {
      const kib = Number(/^(\d+)/.exec(statusField(pid, 'VmHWM') ?? '')?.[1]);
      if (kib) rss = Math.max(rss ?? 0, kib);
    },
  });
  return { m, rss };
}

async function vm(): Promise<number> {
  const emu = emulator();
  const kernel = kernelImage();
  if (!emu.ok || !kernel.ok) {
    const why = [!emu.ok && emu.why, !kernel.ok && kernel.why].filter(Boolean).join('; and ');
    out(`(no VM booted: ${why}.`);
    out(' The container half of the lesson runs all the same.)');
    save('vm', { ran: false, why } satisfies VmResult);
    return 0;
  }
  const dir = lab();
  const argvFor = (accel: 'kvm' | 'tcg') =>
    qemuArgv({
      program: emu.program,
      console: emu.console,
      kernel: kernel.path,
      initrd: join(dir, 'initramfs.cpio.gz'),
      accel,
      memoryMiB: MEMORY_MIB,
      pidfile: join(dir, 'qemu.pid'),
    });
  const k = kvm();
  out(`kernel image: ${kernel.path}${kernel.sameAsHost ? ' (the release the host runs, booted anew)' : ''}`);
  let accel: 'kvm' | 'tcg' = 'tcg';
  let accelWhy: string;
  let run: { m: Measured; rss?: number } | undefined;
  if (k.tryIt) {
    out(`accelerator: KVM first, as ${k.why}; TCG if it prints nothing in ${KVM_SILENT_SECONDS} s`);
    const tried = await bootOnce('kvm', argvFor);
    if (tried.m.firstOutput !== undefined && factsOf(tried.m.lines)['boot id']) {
      run = tried;
      accel = 'kvm';
      accelWhy = `KVM (hardware virtualization): ${k.why}, and it booted`;
    } else {
      const what = tried.m.endedBecause ?? `qemu exited (${tried.m.code ?? tried.m.signal}) without the facts`;
      accelWhy = `TCG (software emulation): KVM was tried and failed (${what})`;
      out(`KVM did not boot it: ${what}. Again, with TCG:`);
    }
  } else accelWhy = `TCG (software emulation): ${k.why}`;
  if (!run) {
    if (!k.tryIt) out(`accelerator: ${accelWhy}`);
    rmSync(join(dir, 'qemu.pid'), { force: true });
    run = await bootOnce('tcg', argvFor);
  }
  const { m, rss } = run;
  const facts = factsOf(m.lines);
  const poweredOff = m.code === 0 && !m.endedBecause;
  const result: VmResult = {
    ran: true,
    accel,
    accelWhy,
    kernel: kernel.path,
    kernelRelease: kernel.release,
    sameRelease: kernel.sameAsHost,
    memoryMiB: MEMORY_MIB,
    firstOutput: m.firstOutput,
    factsAt: facts['pci devices']?.t,
    ended: m.ended,
    poweredOff,
    ...(m.endedBecause ? { endedBecause: m.endedBecause } : {}),
    rssPeakKiB: rss,
    facts: plain(facts),
  };
  save('vm', result);
  out(
    poweredOff
      ? `${stamp(m.ended)} qemu exited: the VM powered itself off`
      : `${stamp(m.ended)} qemu ended: ${m.endedBecause ?? `status ${m.code ?? m.signal}`}`,
  );
  if (m.firstOutput !== undefined)
    out(`first output after ${m.firstOutput.toFixed(2)} s, under ${accel.toUpperCase()}`);
  if (rss) out(`qemu's resident set peaked at ${mib(rss)} (VmHWM) for a VM given ${MEMORY_MIB} MiB`);
  return poweredOff && facts['boot id'] ? 0 : 1;
}

/** The container's first process as the host numbers it: a descendant of pid in a PID namespace
 *  of its own (NSpid has more than one number). */
function containerProcess(pid: number): number | undefined {
  const children = new Map<number, number[]>();
  for (const line of execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' }).split('\n')) {
    const [p, pp] = line.trim().split(/\s+/).map(Number);
    if (p) children.set(pp, [...(children.get(pp) ?? []), p]);
  }
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    if (p !== pid && nsPidsOf(p).length > 1) return p;
    queue.push(...(children.get(p) ?? []));
  }
  return undefined;
}

const readNumber = (file: string): number | undefined => {
  try {
    const v = readFileSync(file, 'utf8').trim();
    return /^\d+$/.test(v) ? Number(v) : undefined; // "max": no limit
  } catch {
    return undefined;
  }
};

/** The memory the container's cgroup was charged at its peak, read from the host: memory.peak
 *  (cgroup v2, Linux 5.19+) or memory.max_usage_in_bytes (v1), cgroup-v2.rst and cgroup-v1/memory.rst. */
function cgroupMemory(pid: number): ContainerResult['memory'] | string {
  const layout = detectLayout();
  const dir = cgroupDirOf(pid, 'memory', layout);
  if (!dir) return `no memory cgroup found for process ${pid}`;
  const v1 = layout.v1.memory !== undefined;
  const peakFile = join(dir, v1 ? 'memory.max_usage_in_bytes' : 'memory.peak');
  const limitBytes = readNumber(join(dir, v1 ? 'memory.limit_in_bytes' : 'memory.max'));
  if (!existsSync(peakFile))
    return `${peakFile} does not exist (memory.peak came with Linux 5.19); memory.current was ${readNumber(join(dir, 'memory.current'))} bytes`;
  return { dir, peakFile, peakBytes: readNumber(peakFile), limitBytes };
}

async function container(): Promise<number> {
  const dir = lab();
  const argv = [
    'nsx',
    'runtime',
    'run',
    '-m',
    `${MEMORY_MIB}m`,
    '--network',
    'none',
    '--rootfs',
    join(dir, 'rootfs'),
    '/bin/sh',
    '-c',
    '/facts.sh; read _',
  ];
  out(`$ ${shown(argv)}`);
  let memory: ContainerResult['memory'];
  let memoryWhy: string | undefined;
  const m = await measure(argv, {
    pidDir: pidDir(dir),
    seconds: 60,
    echo,
    // Its last answer printed, it waits on `read`: the host reads its cgroup, then lets it end.
    onLine: (line, { stdin, pid }) => {
      if (!line.text.startsWith('pci devices:')) return;
      const p = containerProcess(pid);
      const r = p ? cgroupMemory(p) : 'its process was not found';
      if (typeof r === 'string') memoryWhy = r;
      else memory = r;
      stdin.end('\n');
    },
  });
  const facts = factsOf(m.lines);
  const result: ContainerResult = {
    firstOutput: m.firstOutput,
    factsAt: facts['pci devices']?.t,
    ended: m.ended,
    exitCode: m.code,
    facts: plain(facts),
    ...(memory ? { memory } : {}),
    ...(memoryWhy ? { memoryWhy } : {}),
  };
  save('container', result);
  out(`${stamp(m.ended)} nsx exited (${m.code ?? m.signal}): the container is gone`);
  if (m.firstOutput !== undefined) out(`first output after ${m.firstOutput.toFixed(2)} s`);
  if (memory?.peakBytes !== undefined)
    out(
      `its cgroup's memory peaked at ${mib(memory.peakBytes / 1024)}, limit ${memory.limitBytes !== undefined ? mib(memory.limitBytes / 1024) : 'none'}; read from the host in ${memory.peakFile}`,
    );
  else if (memoryWhy) out(`its cgroup's memory: not read (${memoryWhy})`);
  return m.code === 0 && facts['boot id'] ? 0 : 1;
}

/** The host's own answers: the same script, run by the host's sh. */
export function hostFacts(dir: string): Facts {
  const text = execFileSync('/bin/sh', [join(dir, 'rootfs', 'facts.sh')], { encoding: 'utf8' });
  return plain(factsOf(text.split('\n').map((t) => ({ t: 0, text: t }))));
}

const secs = (t: number | undefined) => (t === undefined ? 'no output' : `${t.toFixed(2)} s`);

/** The side-by-side view: one block per question, a row per machine, the verdict after it. */
export function comparison(host: Facts, vmr: VmResult | undefined, c: ContainerResult | undefined): string[] {
  const lines: string[] = [];
  const vmFacts = vmr?.ran ? vmr.facts : undefined;
  const cf = c?.facts;
  const row = (who: string, value: string, note = '') =>
    lines.push(`  ${who.padEnd(10)} ${value}${note ? `  (${note})` : ''}`);
  const vmName = vmr?.ran ? `VM` : undefined;
  const same = (a: string | undefined, b: string | undefined) => a !== undefined && a === b;
  const block = (title: string, key: string, notes: { vm?: string; container?: string } = {}) => {
    lines.push(title);
    row('host', host[key] ?? '?');
    if (vmName) row(vmName, vmFacts?.[key] ?? '(not printed)', notes.vm);
    if (cf) row('container', cf[key] ?? '(not printed)', notes.container);
  };
  if (!vmr?.ran) lines.push(`No VM here: ${vmr?.why ?? 'vm-lab vm did not run'}.`, '');

  lines.push("time to first output (from the command's start, this run)");
  if (vmr?.ran)
    row('VM', secs(vmr.firstOutput), `${vmr.accel.toUpperCase()}; powered off after ${vmr.ended.toFixed(2)} s`);
  if (c) row('container', secs(c.firstOutput), `exited after ${c.ended.toFixed(2)} s`);
  if (vmr?.ran && c?.firstOutput && vmr.firstOutput)
    lines.push(`  the VM took ${(vmr.firstOutput / c.firstOutput).toFixed(0)} times as long to say anything`);

  const releaseNote = (r: string | undefined) =>
    same(r, host['kernel release']) ? "the host's release" : 'another release';
  block('kernel release', 'kernel release', {
    vm: vmr?.ran
      ? vmr.sameRelease
        ? "the same release as the host's, from /boot: only the boot id tells the kernels apart"
        : releaseNote(vmFacts?.['kernel release'])
      : undefined,
    container: releaseNote(cf?.['kernel release']),
  });
  const bootNote = (b: string | undefined) =>
    b === undefined
      ? undefined
      : same(b, host['boot id'])
        ? "the host's: the same kernel answered"
        : 'another boot: another kernel';
  block('boot id', 'boot id', { vm: bootNote(vmFacts?.['boot id']), container: bootNote(cf?.['boot id']) });
  block('memory the answering kernel manages (MemTotal)', 'memory seen', {
    vm: vmr?.ran ? `of the ${vmr.memoryMiB} MiB qemu gave it` : undefined,
    container: same(cf?.['memory seen'], host['memory seen'])
      ? "the host's: a cgroup limit does not show here"
      : undefined,
  });
  lines.push('memory used, seen from the host');
  if (vmr?.ran)
    row(
      'VM',
      vmr.rssPeakKiB ? `qemu's resident set ${mib(vmr.rssPeakKiB)} at its peak` : '?',
      `configured RAM ${vmr.memoryMiB} MiB`,
    );
  if (c)
    row(
      'container',
      c.memory?.peakBytes !== undefined
        ? `its cgroup's peak ${mib(c.memory.peakBytes / 1024)}`
        : `? (${c.memoryWhy ?? 'not read'})`,
      c.memory?.limitBytes !== undefined ? `limit ${mib(c.memory.limitBytes / 1024)}` : undefined,
    );
  block('cpu', 'cpu', {
    vm: vmFacts && !same(vmFacts.cpu, host.cpu) ? 'emulated' : undefined,
    container: same(cf?.cpu, host.cpu) ? "the host's" : undefined,
  });
  block('machine (DMI)', 'machine', {
    vm: vmFacts && !same(vmFacts.machine, host.machine) ? "qemu's emulated board" : undefined,
    container: same(cf?.machine, host.machine) ? "the host's" : undefined,
  });
  block('pci devices (vendor:device)', 'pci devices', {
    vm: vmFacts && !same(vmFacts['pci devices'], host['pci devices']) ? "qemu's, nothing of the host's" : undefined,
    container: same(cf?.['pci devices'], host['pci devices']) ? "the host's" : undefined,
  });
  const boots = new Set([host['boot id'], vmFacts?.['boot id'], cf?.['boot id']].filter(Boolean));
  lines.push('kernels that answered (distinct boot ids)');
  lines.push(
    `  ${boots.size}: the host's${cf && same(cf['boot id'], host['boot id']) ? ' (the container is its process)' : ''}${vmFacts && !same(vmFacts['boot id'], host['boot id']) ? ", and the VM's own, running inside qemu while it ran" : ''}`,
  );
  return lines;
}

async function compare(): Promise<number> {
  const dir = lab();
  for (const l of comparison(hostFacts(dir), load<VmResult>('vm'), load<ContainerResult>('container'))) out(l);
  return 0;
}

/** The machine the course itself runs on: virtualized? (systemd-detect-virt, the CPU's
 *  "hypervisor" flag, DMI), and its own boot, recorded at provisioning. */
async function outer(): Promise<number> {
  const flags = /^flags\s*:(.*)$/m.exec(readText('/proc/cpuinfo'))?.[1].split(/\s+/) ?? [];
  out(
    `cpu flag "hypervisor": ${flags.includes('hypervisor') ? 'set: this kernel runs on a hypervisor (a VM)' : 'not set'}`,
  );
  const vendor = readText('/sys/class/dmi/id/sys_vendor').trim();
  const product = readText('/sys/class/dmi/id/product_name').trim();
  out(
    `DMI: ${vendor || product ? `${vendor} ${product}` : 'none (/sys/class/dmi/id is absent: no firmware table, e.g. a microVM)'}`,
  );
  const file = '/var/lib/nsx/vm-boot-time.json';
  const rec = readText(file);
  if (!rec) out(`${file}: absent (written by scripts/provision.sh on the course's VM)`);
  else {
    const r = JSON.parse(rec) as { bootSeconds?: number | null; kernelSeconds?: number | null; notes?: string[] };
    out(
      `${file}: this machine's boot took ${r.bootSeconds ?? '?'} s (kernel and initrd: ${r.kernelSeconds ?? '?'} s)${r.notes?.length ? `; ${r.notes.join('; ')}` : ''}`,
    );
  }
  const vmr = load<VmResult>('vm');
  const c = load<ContainerResult>('container');
  if (vmr?.ran) out(`this run's VM: first output after ${secs(vmr.firstOutput)} (${vmr.accel.toUpperCase()})`);
  if (c) out(`this run's container: first output after ${secs(c.firstOutput)}`);
  return 0;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

const COMMANDS: Record<string, () => Promise<number>> = { vm, container, compare, outer };

async function main(argv: string[]): Promise<number> {
  const run = COMMANDS[argv[0] ?? ''];
  if (!run) {
    process.stderr.write('usage: vm-lab vm | container | compare | outer\n');
    return 2;
  }
  // q or Ctrl-C while a VM boots: it goes at once (its process group), and so does this.
  const stop = (code: number) => () => {
    endAll();
    process.exit(code);
  };
  process.on('SIGINT', stop(130));
  process.on('SIGTERM', stop(143));
  process.on('SIGHUP', stop(129));
  try {
    return await run();
  } catch (e) {
    process.stderr.write(`vm-lab: ${(e as Error).message}\n`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!))
  process.exitCode = await main(process.argv.slice(2));
