// The docker CLI's container verbs without an engine: update's body as the CLI sends it (every
// UpdateConfig field, most zero), container prune's answer as the CLI prints it, the filters.
import { describe, expect, it } from '@jest/globals';
import { humanSize } from '../../src/cli/engine/lifecycle-handlers.js';
import { ApiError } from '../../src/engine/errors.js';
import { filtersOf, noSuchEndpoint } from '../../src/engine/system-api.js';
import { updateBody } from '../../src/engine/verbs/update.js';

describe("docker update's body", () => {
  // What docker 28's `docker update --memory 64m --pids-limit 50 X` sends (zero fields included).
  const fromCli = {
    BlkioWeight: 0,
    BlkioWeightDevice: null,
    CgroupParent: '',
    CpuShares: 0,
    CpuPeriod: 0,
    CpuQuota: 0,
    CpusetCpus: '',
    Devices: null,
    DeviceCgroupRules: null,
    Memory: 67108864,
    MemoryReservation: 0,
    MemorySwap: 0,
    NanoCpus: 0,
    OomKillDisable: null,
    PidsLimit: 50,
    Ulimits: null,
    RestartPolicy: { Name: '', MaximumRetryCount: 0 },
  };

  it('takes what the CLI sends: the limits nsx sets, the zero fields ignored', () => {
    expect(updateBody(fromCli)).toEqual({ Memory: 67108864, PidsLimit: 50 });
    expect(updateBody({ NanoCpus: 5e8, RestartPolicy: { Name: 'always' } })).toEqual({
      NanoCpus: 5e8,
      RestartPolicy: { Name: 'always' },
    });
    expect(updateBody({ PidsLimit: -1 })).toEqual({ PidsLimit: -1 }); // unlimited
  });

  it('refuses a limit nsx does not set, naming it and the ones it does', () => {
    const go = () => updateBody({ ...fromCli, BlkioWeight: 300, CpuShares: 512 });
    expect(go).toThrow(ApiError);
    expect(go).toThrow("nsx's update does not change BlkioWeight, CpuShares: it changes Memory (--memory)");
    expect(() => updateBody({ Memory: 'lots' })).toThrow('Memory must be a whole number');
    expect(() => updateBody([])).toThrow('the update body must be a JSON object');
  });
});

describe('the system endpoints', () => {
  it("reads docker's filters, in both of its spellings", () => {
    const q = new URLSearchParams({ filters: JSON.stringify({ until: ['24h'], label: { a: true } }) });
    expect(filtersOf(q)).toEqual({ until: ['24h'], label: ['a'] });
    expect(filtersOf(new URLSearchParams())).toEqual({});
    expect(() => filtersOf(new URLSearchParams({ filters: '{' }))).toThrow('invalid filters: {');
  });

  it('answers an unknown path with what nsx speaks, a 404, never "page not found"', () => {
    const e = noSuchEndpoint('GET', '/swarm');
    expect(e.status).toBe(404);
    expect(e.message).toMatch(/^nsx's engine has no GET \/swarm: it implements/);
  });

  it("prints sizes as docker's CLI does (go-units HumanSize: decimal, 4 significant digits)", () => {
    expect([0, 999, 2048, 13_100_000, 1_500_000_000].map(humanSize)).toEqual([
      '0B',
      '999B',
      '2.048kB',
      '13.1MB',
      '1.5GB',
    ]);
  });
});
