import type { Lesson } from '../../src/learn/lesson.js';
import { checkSideBySide } from './check.js';
import { startVmLab } from './lab.js';

// A real VM beside a real container, both asked the same questions by the same script, measured in
// this run. The lab (lab.ts) builds the busybox root filesystem and the initramfs offline; vm-lab
// (vm-lab.ts) boots, runs, measures and compares; the teardown ends whatever is left running.
const vmVsContainer: Lesson = {
  id: 'vm-vs-container',
  title: 'A VM and a container, side by side: whose kernel answers?',
  minutes: 10,
  needsRoot: true,
  manPages: [
    'qemu-system(1)',
    'uname(2)',
    'random(4)',
    'proc(5)',
    'sysfs(5)',
    'reboot(2)',
    'cgroups(7)',
    'systemd-detect-virt(1)',
  ],
  focus: [],
  demos: [],
  tour: {
    setup: () => startVmLab(),
    stops: [
      {
        id: 'host',
        title: 'The host: one kernel, asked six questions',
        commands: [
          {
            command: ['cat', '{facts}'],
            notice:
              'The questions, as a script: the kernel release, the boot id, the memory, the CPU, the machine, the PCI devices. The VM and the container run this same file.',
          },
          {
            command: ['sh', '{facts}'],
            notice:
              "The host's answers: the kernel that runs everything on this machine, and the hardware it was given.",
          },
        ],
      },
      {
        id: 'initramfs',
        title: "A VM's whole world: a kernel image and an initramfs",
        commands: [
          {
            command: ['sh', '-c', 'ls -l /boot/vmlinuz-*'],
            notice:
              'The kernel images installed on this machine (Debian keeps them in /boot): the VM boots one of them, its own copy, in its own memory.',
          },
          {
            command: ['cat', '{rootfs}/init'],
            notice: "The VM's first and only program: it mounts /proc and /sys, runs the questions, and powers off.",
          },
          {
            command: ['ls', '-l', '{initramfs}'],
            notice:
              'busybox, a link per applet, the script and /init, packed as a cpio archive (newc) and gzipped: built here, offline, a moment ago.',
          },
        ],
      },
      {
        id: 'vm',
        title: 'Boot it: qemu, a kernel, the initramfs',
        commands: [
          {
            command: ['vm-lab', 'vm'],
            notice:
              "Seconds before the first line: the emulated firmware, the kernel unpacking and starting itself, finding its (emulated) hardware, then /init. The answers are another kernel's: its own boot id, the RAM qemu gave it, qemu's CPU and board.",
            seconds: 300,
          },
        ],
      },
      {
        id: 'container',
        title: 'The same script in a container',
        commands: [
          {
            command: ['vm-lab', 'container'],
            notice:
              "The same files as the VM's initramfs, now a root filesystem: the answers come at once, and they are the host's — its kernel, its boot id, its memory, its CPU and devices.",
            seconds: 90,
          },
        ],
      },
      {
        id: 'compare',
        title: 'Side by side',
        commands: [
          {
            command: ['vm-lab', 'compare'],
            notice:
              'Every number measured in this run. The container is the host kernel answering about itself; the VM is a second kernel on emulated hardware.',
          },
        ],
      },
      {
        id: 'outer',
        title: 'Complementary: this machine may be a VM itself',
        commands: [
          {
            command: ['systemd-detect-virt'],
            notice: 'Whether the machine the course runs on is itself virtualized, and by what ("none": not).',
            needs: { program: 'systemd-detect-virt', why: "part of Debian's systemd package" },
          },
          {
            command: ['vm-lab', 'outer'],
            notice:
              "The clues a kernel has that it runs on a hypervisor, and this machine's own boot, recorded when it was provisioned, beside this run's VM and container.",
          },
        ],
      },
    ],
  },
  check: async () => checkSideBySide(),
  hints: [
    'Both at once: a VM whose /init keeps running (a shell, not poweroff) and a container whose program lasts (sleep). The check looks at them from the host while they run.',
    "The VM, by hand: a directory with busybox and an executable /init, packed with busybox's own cpio (find . | busybox cpio -o -H newc | gzip); then qemu with -kernel from /boot, -initrd your archive, -append console=ttyS0 and -nographic (Ctrl-A then x quits it).",
    'In a second terminal, while the VM runs: sudo nsx run -d busybox sleep 600 (the engine running: sudo nsx engine start), then sudo nsx check vm-vs-container.',
  ],
  quiz: [
    {
      question: 'Inside a container, uname -r prints the same release as on the host. Why?',
      choices: [
        'The image was built for that kernel',
        "There is no other kernel: uname(2) is answered by the host's kernel, the only one running",
        'The runtime copies the host kernel into the container',
      ],
      answer: 1,
      why: "uname(2) returns the running kernel's release; a container's processes are ordinary processes of the host's kernel (in namespaces of their own), so the host's kernel answers. The lesson's boot ids agree: /proc/sys/kernel/random/boot_id is generated once per boot (random(4)), and the container's equals the host's while the VM's does not.",
    },
    {
      question: 'A container is started with -m 256m. What does free (MemTotal in /proc/meminfo) show inside it?',
      choices: ['256 MiB', "The host's whole memory", 'Whatever the container has used so far'],
      answer: 1,
      why: "/proc/meminfo describes the kernel's memory, and the kernel is the host's: the limit is a cgroup's (memory.max, or memory.limit_in_bytes in v1; cgroups(7), Documentation/admin-guide/cgroup-v2.rst), enforced when memory is charged, not a smaller machine. (Tools like LXCFS mount a file of their own over /proc/meminfo to show the limit; nsx, like runc, does not.) The VM's MemTotal was its own: qemu gave its kernel that much RAM.",
    },
    {
      question: 'Why do VMs and containers complement each other rather than compete?',
      choices: [
        'Containers are a kind of VM',
        'A VM gives another kernel on its own (emulated or virtualized) hardware; containers share one kernel; so containers are often run inside VMs',
        'VMs are obsolete since containers',
      ],
      answer: 1,
      why: 'They isolate at different levels: a VM virtualizes hardware and runs a whole operating system with its own kernel (the lesson booted one), a container isolates processes on the one kernel it shares. Clouds run containers inside VMs, as this course may run inside one (systemd-detect-virt(1)).',
    },
  ],
};

export default vmVsContainer;
