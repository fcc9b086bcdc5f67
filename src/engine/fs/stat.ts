// docker's PathStat (GET/HEAD /containers/{id}/archive, header X-Docker-Container-Path-Stat: base64 of
// {"name","size","mode","mtime","linkTarget"}). Its mode is Go's os.FileMode, not st_mode: the
// permission bits and Go's own type bits (pkg os, type FileMode: ModeDir = 1<<31, ModeSymlink = 1<<27,
// ModeDevice = 1<<26, ModeNamedPipe = 1<<25, ModeSocket = 1<<24, ModeSetuid = 1<<23, ModeSetgid =
// 1<<22, ModeCharDevice = 1<<21, ModeSticky = 1<<20), which the docker CLI tests with IsDir() and
// Mode&ModeSymlink.
import type { Stats } from 'node:fs';

export const GO_MODE = {
  dir: 2 ** 31,
  symlink: 2 ** 27,
  device: 2 ** 26,
  namedPipe: 2 ** 25,
  socket: 2 ** 24,
  setuid: 2 ** 23,
  setgid: 2 ** 22,
  charDevice: 2 ** 21,
  sticky: 2 ** 20,
} as const;

/** st_mode (stat(2)) as Go's os.FileMode (what os.Lstat's FileInfo.Mode() gives). */
export function goFileMode(st: Stats): number {
  let m = st.mode & 0o777;
  if (st.isDirectory()) m += GO_MODE.dir;
  else if (st.isSymbolicLink()) m += GO_MODE.symlink;
  else if (st.isCharacterDevice()) m += GO_MODE.device + GO_MODE.charDevice;
  else if (st.isBlockDevice()) m += GO_MODE.device;
  else if (st.isFIFO()) m += GO_MODE.namedPipe;
  else if (st.isSocket()) m += GO_MODE.socket;
  if (st.mode & 0o4000) m += GO_MODE.setuid;
  if (st.mode & 0o2000) m += GO_MODE.setgid;
  if (st.mode & 0o1000) m += GO_MODE.sticky;
  return m;
}

export interface PathStat {
  name: string;
  size: number;
  mode: number;
  mtime: string;
  linkTarget: string;
}

export const PATH_STAT_HEADER = 'X-Docker-Container-Path-Stat';

export function pathStat(name: string, st: Stats, linkTarget: string): PathStat {
  return { name, size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget };
}

/** The header's value: base64 of the JSON (moby's setContainerPathStatHeader). */
export function statHeader(s: PathStat): string {
  return Buffer.from(JSON.stringify(s)).toString('base64');
}
