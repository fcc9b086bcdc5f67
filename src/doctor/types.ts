// What one preflight check reports.

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface Check {
  /** Stable name for scripts, e.g. "ns-user", "cgroup-memory". */
  id: string;
  title: string;
  status: CheckStatus;
  /** What was found, read from the kernel (never assumed). */
  detail: string;
  /** A plain command or step that fixes a warning or failure. */
  fix?: string;
  /** true when this check failing means `nsx run` cannot work here: then doctor exits 1. */
  critical: boolean;
}

/** Builds checks that share an id, title and criticality. */
export function checker(id: string, title: string, critical: boolean) {
  return {
    ok: (detail: string): Check => ({ id, title, status: 'ok', detail, critical }),
    warn: (detail: string, fix: string): Check => ({ id, title, status: 'warn', detail, fix, critical }),
    fail: (detail: string, fix: string): Check => ({ id, title, status: 'fail', detail, fix, critical }),
    /** fail when critical, warn otherwise. */
    bad: (detail: string, fix: string): Check => ({
      id,
      title,
      status: critical ? 'fail' : 'warn',
      detail,
      fix,
      critical,
    }),
  };
}
