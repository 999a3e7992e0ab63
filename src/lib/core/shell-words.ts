/**
 * Reading shell words without a shell: how an agent's Bash tool will split the command line
 * a prompt tells it to run. Used by `doctor` (which command does the prompt name?) and by
 * the simulated agent (which runs that line as argv). Nothing is ever expanded.
 */

const ANSI_C_ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  a: '\u0007',
  b: '\b',
  e: '\u001b',
  E: '\u001b',
  f: '\f',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

export interface ShellWord {
  word: string;
  /** Where reading stopped: the next word starts after this. */
  end: number;
  /** False when a quote was left open (the word runs to the end of the text). */
  closed: boolean;
}

/**
 * Reads one shell word starting at `text[start]` (after any blanks) the way bash reads it,
 * but expands nothing: bare characters (a backslash escapes the next one), '...', "..."
 * (where \\, \", \$ and \` are escapes) and ANSI-C $'...' (\n, \xHH, \uHHHH, ...). `$(...)`,
 * backticks and `;` are just characters of the word, as they are inside quotes. Null when
 * only blanks are left.
 */
export function readShellWord(text: string, start: number): ShellWord | null {
  let i = start;
  while (i < text.length && /[ \t\n]/.test(text[i]!)) i++;
  if (i >= text.length) return null;
  let word = '';
  let closed = true;
  while (i < text.length && !/[ \t\n]/.test(text[i]!)) {
    const c = text[i]!;
    if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) closed = false;
      const end = close < 0 ? text.length : close;
      word += text.slice(i + 1, end);
      i = end + 1;
    } else if (c === '$' && text[i + 1] === "'") {
      i += 2;
      while (i < text.length && text[i] !== "'") {
        if (text[i] !== '\\') {
          word += text[i++];
          continue;
        }
        const e = text[i + 1] ?? '';
        const hex = (n: number) => {
          const m = new RegExp(`^[0-9a-fA-F]{1,${n}}`).exec(text.slice(i + 2));
          if (!m) return '\\' + e;
          i += m[0].length;
          return String.fromCodePoint(parseInt(m[0], 16));
        };
        if (e === 'x') word += hex(2);
        else if (e === 'u') word += hex(4);
        else if (e === 'U') word += hex(8);
        else word += ANSI_C_ESCAPES[e] ?? `\\${e}`;
        i += 2;
      }
      if (i >= text.length) closed = false;
      i++;
    } else if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && '\\"$`'.includes(text[i + 1] ?? '')) i++;
        word += text[i++];
      }
      if (i >= text.length) closed = false;
      i++;
    } else if (c === '\\') {
      word += text[i + 1] ?? '';
      i += 2;
    } else {
      word += c;
      i++;
    }
  }
  return { word, end: i, closed };
}

/** Splits text into shell words (see `readShellWord`). Null when a quote is left open. */
export function shellWords(text: string): string[] | null {
  const words: string[] = [];
  for (let w = readShellWord(text, 0); w; w = readShellWord(text, w.end)) {
    if (!w.closed) return null;
    words.push(w.word);
  }
  return words;
}
