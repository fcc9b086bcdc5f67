// Words as a learner would type them into a POSIX shell.

/** Bare when safe; else in single quotes ('' for the empty word); a word that holds a single quote
 *  but nothing double quotes would expand ($ ` \ " !) goes in double quotes, which read better than
 *  '\'' (see "Quoting" in sh(1p): inside "…" only $ ` \ and " are special, and bash's ! history). */
export function shellQuote(word: string): string {
  if (word === '') return "''";
  if (/^[\w@%+=:,./{}-]+$/.test(word)) return word;
  if (word.includes("'") && !/[$`\\"!]/.test(word)) return `"${word}"`;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** argv as one command line. */
export function shellLine(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}
