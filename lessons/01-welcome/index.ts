import type { Lesson } from '../../src/learn/lesson.js';
import { processes } from '../../src/learn/kernel.js';
import { shimPath } from '../../src/paths.js';

const welcome: Lesson = {
  id: 'welcome',
  title: 'Welcome: a container is a process',
  minutes: 4,
  needsRoot: false,
  manPages: ['namespaces(7)', 'cgroups(7)'],
  focus: [],
  demos: [],
  // The task: a container paused half-built by `nsx run --step`, seen from another terminal.
  async check() {
    const shim = shimPath();
    const paused = processes().filter((p) => p.cmdline.startsWith(shim) || p.comm === 'nsx-shim');
    if (paused.length === 0)
      return {
        ok: false,
        message:
          'No half-built container found: start one with nsx run --step and leave it at a prompt, then check again from a second terminal.',
      };
    return {
      ok: true,
      message: `Found it: a half-built container, process ${paused[paused.length - 1].pid}. It is an ordinary process; the steps you apply change what it can see.`,
    };
  },
  hints: [
    'The command is in the intro: nsx run with the option that pauses before every step.',
    'Leave the first terminal waiting at a prompt; run the check in a second terminal (same machine).',
  ],
  quiz: [
    {
      question: 'A container running on a Linux host: whose kernel does it use?',
      choices: ['Its own kernel, booted from the image', "The host's kernel", 'A kernel emulated by the runtime'],
      answer: 1,
      why: 'A container is a process (or a tree of them) on the host; namespaces and cgroups are kernel features that limit what it sees and uses, not a separate kernel (namespaces(7), cgroups(7)). A virtual machine boots its own kernel on virtual hardware.',
    },
  ],
};

export default welcome;
