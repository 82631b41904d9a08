/**
 * systemd unit files as data: the server's and the client's installers both render through here,
 * so quoting and layout are written once. No I/O.
 */

/** One `[Section]`: keys in order; a key given an array is written once per value (e.g. `Environment`). */
export type UnitSection = ReadonlyArray<readonly [key: string, value: string | readonly string[]]>;

export interface UnitFile {
  /** A comment block at the top (each line gets `# `). */
  header?: readonly string[];
  sections: ReadonlyArray<readonly [name: string, body: UnitSection]>;
}

/**
 * One word of an `ExecStart=` command line. systemd.service(5) "Command lines": words are split on
 * whitespace unless double-quoted; `\` and `"` are escaped inside quotes; `%` is a specifier and `$`
 * an environment expansion in any word, so both are doubled to stay literal.
 */
export function quoteExecWord(word: string): string {
  if (word.includes('\n')) throw new Error('a unit command line cannot hold a newline');
  // A function, not '$$': in a replacement string '$$' means one '$'.
  const literal = word.replaceAll('%', '%%').replaceAll('$', () => '$$');
  if (literal !== '' && !/[\s"'\\;]/.test(literal)) return literal;
  return `"${literal.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** `ExecStart=` value for an argument vector (no shell: systemd runs it directly). */
export function execLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty command line');
  return argv.map(quoteExecWord).join(' ');
}

/**
 * `Environment=` value for one variable. systemd.exec(5): the assignment is one word, quoted when
 * it holds whitespace or quotes; `%` is still a specifier there.
 */
export function environmentAssignment(name: string, value: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a variable name: ${name}`);
  if (value.includes('\n')) throw new Error('an environment value in a unit cannot hold a newline');
  const assignment = `${name}=${value.replaceAll('%', '%%')}`;
  return /[\s"'\\]/.test(assignment)
    ? `"${assignment.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
    : assignment;
}

export function renderUnit(unit: UnitFile): string {
  const out: string[] = [];
  for (const line of unit.header ?? []) out.push(line === '' ? '#' : `# ${line}`);
  for (const [name, body] of unit.sections) {
    if (out.length > 0) out.push('');
    out.push(`[${name}]`);
    for (const [key, value] of body) {
      for (const v of typeof value === 'string' ? [value] : value) {
        if (v.includes('\n')) throw new Error(`${key}= cannot hold a newline`);
        out.push(`${key}=${v}`);
      }
    }
  }
  return `${out.join('\n')}\n`;
}
