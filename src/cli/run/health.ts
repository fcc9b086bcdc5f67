// docker run's health flags (--health-cmd, --health-interval, --health-timeout, --health-start-period,
// --health-retries, --no-healthcheck) → Config.Healthcheck, as the docker CLI makes it
// (cli/command/container/opts.go): the command is ["CMD-SHELL", cmd], durations Go's ("30s", "1m30s",
// "500ms") in nanoseconds; --no-healthcheck is ["NONE"] and goes with no other health flag.
import type { Healthcheck } from '../../engine/health.js';
import { NsxError } from '../../runtime/errors.js';
import type { RunArgs } from './index.js';

const UNIT: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, for the positive durations docker's flags take: nanoseconds. */
export function parseDuration(v: string, flag: string): number {
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join('') !== v)
    throw new NsxError(`${flag} ${v}: invalid duration`, {
      hint: `a number and a unit: e.g. ${flag} 2s, 500ms, 1m30s`,
    });
  return Math.round(parts.reduce((n, p) => n + Number(p[1]) * UNIT[p[2]], 0));
}

export const HEALTH_OPTIONS = {
  'health-cmd': { type: 'string', describe: 'Command to run to check health (in the container, as sh -c)' },
  'health-interval': { type: 'string', describe: 'Time between running the check (e.g. 2s; default 30s)' },
  'health-timeout': { type: 'string', describe: 'Maximum time to allow one check to run (default 30s)' },
  'health-start-period': { type: 'string', describe: 'Start period: failures then do not count (default 0s)' },
  'health-retries': { type: 'number', describe: 'Consecutive failures needed to report unhealthy (default 3)' },
  'no-healthcheck': { type: 'boolean', describe: 'Disable any container-specified HEALTHCHECK' },
} as const;

export const HEALTH_VALUE_OPTIONS = [
  'health-cmd',
  'health-interval',
  'health-timeout',
  'health-start-period',
  'health-retries',
];

/** The flags → Config.Healthcheck, or undefined when none is given. */
export function healthcheck(a: RunArgs): Healthcheck | undefined {
  const d = (k: 'health-interval' | 'health-timeout' | 'health-start-period') =>
    a[k] !== undefined ? parseDuration(a[k]!, `--${k}`) : undefined;
  const h: Healthcheck = {
    ...(a['health-cmd'] !== undefined ? { Test: ['CMD-SHELL', a['health-cmd']] } : {}),
    ...(a['health-interval'] !== undefined ? { Interval: d('health-interval') } : {}),
    ...(a['health-timeout'] !== undefined ? { Timeout: d('health-timeout') } : {}),
    ...(a['health-start-period'] !== undefined ? { StartPeriod: d('health-start-period') } : {}),
    ...(a['health-retries'] !== undefined ? { Retries: a['health-retries'] } : {}),
  };
  if (a['no-healthcheck']) {
    if (Object.keys(h).length)
      throw new NsxError('--no-healthcheck conflicts with --health-* options', {
        hint: 'leave out --no-healthcheck, or the --health-* options',
      });
    return { Test: ['NONE'] };
  }
  if (h.Retries !== undefined && (!Number.isInteger(h.Retries) || h.Retries < 0))
    throw new NsxError(`--health-retries ${h.Retries}: must be a whole number, 0 or more`, {
      hint: 'e.g. --health-retries 3',
    });
  return Object.keys(h).length ? h : undefined;
}
