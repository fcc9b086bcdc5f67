// Which state saves may skip fsync(2) (src/engine/durability.ts): the filesystem and its options,
// read from a mountinfo as the kernel writes it (proc(5)), and what of a record must survive a power loss.
import { describe, expect, it } from '@jest/globals';
import { lastingPart, mountOf, renameOrder } from '../../src/engine/durability.js';

const line = (id: number, point: string, fstype: string, options: string) =>
  `${id} 1 254:0 / ${point} rw,relatime shared:1 - ${fstype} /dev/vda ${options}`;

describe('renameOrder', () => {
  const mounts = [
    line(26, '/', 'ext4', 'rw,discard'),
    line(30, '/var/lib', 'xfs', 'rw,attr2'),
    line(31, '/var/lib/nsx', 'ext4', 'rw,noauto_da_alloc'),
    line(32, '/srv', 'ext4', 'rw,data=writeback'),
    line(33, '/run', 'tmpfs', 'rw,mode=755'),
    line(34, '/mnt/with\\040space', 'btrfs', 'rw'),
  ].join('\n');

  it('finds the mount that holds a path: the longest mount point', () => {
    expect(mountOf('/var/lib/nsx/engine', mounts)?.point).toBe('/var/lib/nsx');
    expect(mountOf('/var/lib/docker', mounts)?.fstype).toBe('xfs');
    expect(mountOf('/var/library', mounts)?.point).toBe('/'); // a prefix of the name is not its mount
    expect(mountOf('/mnt/with space/x', mounts)?.fstype).toBe('btrfs');
  });

  it('skips the fsync only on ext4 with auto_da_alloc and data=ordered, and on tmpfs', () => {
    // realpathSync of '/' is '/': the verdict for every path comes from the mountinfo given.
    const of = (fstype: string, options: string) => renameOrder('/', line(1, '/', fstype, options));
    expect(of('ext4', 'rw,discard').ordered).toBe(true);
    expect(of('ext3', 'rw').ordered).toBe(true);
    expect(of('tmpfs', 'rw').ordered).toBe(true);
    expect(of('ext4', 'rw,noauto_da_alloc')).toEqual({
      ordered: false,
      why: expect.stringMatching(/noauto_da_alloc/),
    });
    expect(of('ext4', 'rw,data=writeback').ordered).toBe(false);
    expect(of('xfs', 'rw').ordered).toBe(false);
    expect(of('btrfs', 'rw').ordered).toBe(false);
    expect(renameOrder('/', '').ordered).toBe(false); // no mount found
    expect(renameOrder('/no/such/dir').ordered).toBe(false); // realpath fails: fsync
  });
});

describe('lastingPart', () => {
  const rec = { Id: 'a', Name: 'x', State: { Status: 'created', Pid: 0 }, HostConfig: {} };
  it('leaves out State and nothing else', () => {
    const running = { ...rec, State: { Status: 'running', Pid: 42 } };
    expect(lastingPart([running])).toBe(lastingPart([rec]));
    expect(lastingPart([{ ...rec, ManuallyStopped: true }])).not.toBe(lastingPart([rec]));
    expect(lastingPart([{ ...rec, Name: 'y' }])).not.toBe(lastingPart([rec]));
    expect(lastingPart([])).not.toBe(lastingPart([rec]));
  });
});
