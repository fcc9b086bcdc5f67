// Last in the run (test/sequencer.cjs): after every other test, nothing may be left on the machine.
import { describe, expect, it } from '@jest/globals';
import { leftovers } from '../leaks.js';

describe('the whole suite', () => {
  it('left no mounts, cgroups, network namespaces, veth devices, shim processes or container directories behind', () => {
    expect(leftovers()).toEqual({ mounts: [], cgroups: [], netns: [], veths: [], processes: [], containers: [] });
  });
});
