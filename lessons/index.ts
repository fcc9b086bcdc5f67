// The course: every lesson, in the order of the notes it follows (shared seed: docker-notes.md).
// A lesson is a folder lessons/<nn-slug>/ with index.ts (data) and lesson.md (the words); adding one
// is a folder plus one line here. The player (src/learn/) knows no topic.
import type { Lesson } from '../src/learn/lesson.js';
import welcome from './01-welcome/index.js';
import runFlow from './02-run-flow/index.js';
import vmVsContainer from './03-vm-vs-container/index.js';
import engineCli from './04-engine-cli/index.js';
import images from './05-images/index.js';
import pid from './10-pid/index.js';
import uts from './11-uts/index.js';
import mnt from './12-mnt/index.js';
import ipc from './13-ipc/index.js';
import net from './14-net/index.js';
import user from './15-user/index.js';
import chroot from './16-chroot/index.js';
import cgroups from './17-cgroups/index.js';
import capabilities from './18-capabilities/index.js';
import cgroupnsTimens from './19-cgroupns-timens/index.js';
import seccomp from './20-seccomp/index.js';
import securityModules from './21-security-modules/index.js';
import kernelOrder from './30-kernel-order/index.js';
import problemsSolved from './40-problems-solved/index.js';
import limitations from './41-limitations/index.js';
import biggerPicture from './42-bigger-picture/index.js';

export interface CourseEntry {
  /** The folder under lessons/. */
  dir: string;
  lesson: Lesson;
}

export const COURSE: CourseEntry[] = [
  { dir: '01-welcome', lesson: welcome },
  { dir: '02-run-flow', lesson: runFlow },
  { dir: '03-vm-vs-container', lesson: vmVsContainer },
  { dir: '04-engine-cli', lesson: engineCli },
  { dir: '05-images', lesson: images },
  { dir: '10-pid', lesson: pid },
  { dir: '11-uts', lesson: uts },
  { dir: '12-mnt', lesson: mnt },
  { dir: '13-ipc', lesson: ipc },
  { dir: '14-net', lesson: net },
  { dir: '15-user', lesson: user },
  { dir: '16-chroot', lesson: chroot },
  { dir: '17-cgroups', lesson: cgroups },
  { dir: '18-capabilities', lesson: capabilities },
  { dir: '19-cgroupns-timens', lesson: cgroupnsTimens },
  { dir: '20-seccomp', lesson: seccomp },
  { dir: '21-security-modules', lesson: securityModules },
  { dir: '30-kernel-order', lesson: kernelOrder },
  { dir: '40-problems-solved', lesson: problemsSolved },
  { dir: '41-limitations', lesson: limitations },
  { dir: '42-bigger-picture', lesson: biggerPicture },
];
