/** The monitor prompt's line handling: words (with quotes), and tab completion of commands and VM names. */

/**
 * Splits a line into words: whitespace separates, '...' and "..." group, a backslash escapes the next character.
 * @example splitWords(`top -o mem --filter 'web *'`) // ["top", "-o", "mem", "--filter", "web *"]
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < line.length) {
      word = (word ?? "") + line[++i];
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? "") + c;
  }
  if (word !== null) words.push(word);
  return words;
}

/**
 * readline's completer: the first word completes to a command, the word after `enter` to a VM name.
 * @example complete("ent", ["enter", "exit"], []) // [["enter "], "ent"]
 */
export function complete(
  line: string,
  commands: readonly string[],
  vms: readonly string[],
): [string[], string] {
  const m = /^(\s*)(\S*)$/.exec(line);
  if (m) {
    // A trailing space, so that a unique command completes to the point where its argument starts.
    const hits = commands.filter((c) => c.startsWith(m[2]!)).map((c) => `${c} `);
    return [hits, m[2]!];
  }
  const e = /^\s*enter\s+(\S*)$/.exec(line);
  if (e) {
    return [vms.filter((v) => v.startsWith(e[1]!)), e[1]!];
  }
  return [[], line];
}
