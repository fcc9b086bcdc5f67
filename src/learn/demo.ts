// Demo commands are data, but some need facts only the running container knows (its host PID, the
// veth pair's addresses): they name them as {placeholders}, filled in right before the demo runs.
// Pure, so the substitution is unit-tested apart from any container.

/** The facts a demo command may name, as {name}. */
export const DEMO_PLACEHOLDERS = ['pid', 'id', 'rootfs', 'hostIf', 'hostAddress', 'containerAddress'] as const;
export type DemoPlaceholder = (typeof DEMO_PLACEHOLDERS)[number];
export type DemoVars = Partial<Record<DemoPlaceholder, string>>;

/** What a container exposes for the placeholders (structurally: Container, or a fake in tests). */
export interface DemoSource {
  id: string;
  pid: number | undefined;
  spec: { root: { path: string } };
  network?: { hostIf: string; hostAddress: string; containerAddress: string } | undefined;
}

export function demoVars(c: DemoSource): DemoVars {
  return {
    pid: c.pid === undefined ? undefined : String(c.pid),
    id: c.id,
    rootfs: c.spec.root.path,
    hostIf: c.network?.hostIf,
    hostAddress: c.network?.hostAddress,
    containerAddress: c.network?.containerAddress,
  };
}

/** {name}, but not a shell's ${name}. */
const PLACEHOLDER = /(?<!\$)\{([A-Za-z]+)\}/g;

/** The placeholders an argv names ({pid} → "pid"), known or not. */
export function placeholdersIn(argv: string[]): string[] {
  return [...new Set(argv.flatMap((a) => [...a.matchAll(PLACEHOLDER)].map((m) => m[1])))];
}

/** argv with every {name} replaced; or the first name that is unknown or has no value now. */
export function fillPlaceholders(argv: string[], vars: DemoVars): { argv: string[] } | { missing: string } {
  for (const name of placeholdersIn(argv)) {
    if (!(DEMO_PLACEHOLDERS as readonly string[]).includes(name) || vars[name as DemoPlaceholder] === undefined) return { missing: name };
  }
  return { argv: argv.map((a) => a.replace(PLACEHOLDER, (_, n: string) => vars[n as DemoPlaceholder]!)) };
}

/** argv as a learner would type it: arguments with spaces or shell characters in single quotes. */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (a === '' ? "''" : /^[\w@%+=:,./{}-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}
