// Words as a learner would type them into a POSIX shell.

/** Bare when safe, else in single quotes ('' for the empty word). */
export function shellQuote(word: string): string {
  if (word === '') return "''";
  return /^[\w@%+=:,./{}-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** argv as one command line. */
export function shellLine(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}
