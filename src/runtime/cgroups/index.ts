// Control groups: the kernel feature that limits what a container may *use* (memory, processes,
// CPU time), where namespaces only limit what it can *see* (cgroups(7)). Split by concern, as
// crun's cgroup.c / cgroup-setup.c / cgroup-resources.c are:
//   layout.ts     which cgroup filesystems are mounted (v1, v2, hybrid) and where each controller is
//   files.ts      the interface files: write a limit, read a counter, one function per file
//   limits.ts     the limits a container's cgroup takes, in kernel units, and their validation
//   container.ts  a container's cgroup: create with limits, add a process, open, read, remove
// This file is the public API; importers need nothing else.
export {
  ContainerCgroup,
  removeStaleCgroups,
  type CgroupDirs,
  type CgroupFacts,
  type CgroupFsOptions,
} from './container.js';
export { CPU_PERIOD_US, MIN_MEMORY_BYTES, type CgroupLimits } from './limits.js';
export {
  NSX_CONTROLLERS,
  detectLayout,
  parseProcCgroup,
  processCgroups,
  type CgroupLayout,
  type CgroupVersion,
  type NsxController,
  type ProcCgroupEntry,
} from './layout.js';
