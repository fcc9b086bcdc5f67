import { describe, expect, it } from '@jest/globals';
import {
  CAPABILITY_NAMES,
  DOCKER_DEFAULT_CAPS,
  capsToMask,
  decodeCapMask,
  effectiveCaps,
  normalizeCap,
} from '../../src/runtime/capabilities.js';

describe('capabilities', () => {
  it('numbers match <linux/capability.h>', () => {
    expect(CAPABILITY_NAMES.indexOf('CAP_SYS_ADMIN')).toBe(21);
    expect(CAPABILITY_NAMES.indexOf('CAP_NET_RAW')).toBe(13);
    expect(CAPABILITY_NAMES.indexOf('CAP_CHECKPOINT_RESTORE')).toBe(40);
  });
  it("decodes Docker's default CapEff as docker shows it", () => {
    // CapEff of a default docker container: 00000000a80425fb
    expect(decodeCapMask('00000000a80425fb').sort()).toEqual([...DOCKER_DEFAULT_CAPS].sort());
    expect(capsToMask(DOCKER_DEFAULT_CAPS).toString(16)).toBe('a80425fb');
  });
  it('decodes unknown bits by number', () => {
    expect(decodeCapMask(1n << 50n)).toEqual(['cap_50']);
    expect(decodeCapMask('0000000000000000')).toEqual([]);
  });
  it('normalizes names in every spelling', () => {
    expect(normalizeCap('net_admin')).toBe('CAP_NET_ADMIN');
    expect(normalizeCap('CAP_SYS_TIME')).toBe('CAP_SYS_TIME');
    expect(() => normalizeCap('NET_ADMINN')).toThrow(/--cap-add NET_ADMINN: unknown capability/);
  });
  it('drops, then adds, as docker does', () => {
    expect(effectiveCaps({ drop: ['ALL'], add: ['NET_BIND_SERVICE'] })).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(effectiveCaps({ drop: ['chown'] })).not.toContain('CAP_CHOWN');
    expect(effectiveCaps({ add: ['SYS_ADMIN'] })).toContain('CAP_SYS_ADMIN');
    expect(effectiveCaps({ privileged: true })).toHaveLength(CAPABILITY_NAMES.length);
    expect(effectiveCaps({ add: ['ALL'] })).toHaveLength(CAPABILITY_NAMES.length);
  });
});

describe("docker's --cap-add ALL / --cap-drop ALL rule", () => {
  it('--cap-add ALL keeps out what --cap-drop names', () => {
    const caps = effectiveCaps({ add: ['ALL'], drop: ['NET_RAW'] });
    expect(caps).not.toContain('CAP_NET_RAW');
    expect(caps).toHaveLength(CAPABILITY_NAMES.length - 1);
  });
  it('--cap-drop ALL keeps only what --cap-add names', () => {
    expect(effectiveCaps({ drop: ['ALL'], add: ['CHOWN', 'KILL'] })).toEqual(['CAP_CHOWN', 'CAP_KILL']);
  });
});
