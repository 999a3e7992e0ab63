/**
 * Shell words without a shell. Two quoting dialects: `shQuote` for command lines that
 * /bin/sh runs (hook commands, crontab lines, systemctl steps), and `bashQuote` for words an
 * agent's Bash tool runs (prompt values), which may need ANSI-C `$'...'`. `shellWords` reads
 * a command line back the way that Bash tool splits it; nothing is ever expanded.
 */
import { spawn } from 'node:child_process';

/** Single-quotes a word for /bin/sh; a plainly safe word stays bare. */
export function shQuote(word: string): string {
  return /^[A-Za-z0-9_./=:@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

// Characters that need no quoting in any POSIX shell, anywhere in a word.
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;
// Characters that cannot stay on one line or would be invisible to whoever reads the prompt:
// controls (newline, tab, ESC), format characters (zero-width, bidi overrides) and the
// Unicode line and paragraph separators. They are written as escapes in $'...'.
const NEEDS_ESCAPE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

const ANSI_C: Record<string, string> = {
  '\n': '\\n',
  '\t': '\\t',
  '\r': '\\r',
  '\\': '\\\\',
  "'": "\\'",
};

/**
 * Quotes `value` as one shell word for bash, the shell of Claude Code's Bash tool: bare when it is plainly safe, in single quotes
 * otherwise, and as ANSI-C `$'...'` (bash, zsh, ksh; POSIX 2024) when it holds characters
 * that must not be written raw, such as a newline. The result is always one line.
 */
export function bashQuote(value: string): string {
  if (value === '') return "''";
  if (SAFE_WORD.test(value)) return value;
  if (!NEEDS_ESCAPE.test(value)) return `'${value.replace(/'/g, "'\\''")}'`;
  let out = "$'";
  for (const ch of value) {
    const mapped = ANSI_C[ch];
    if (mapped) out += mapped;
    else if (NEEDS_ESCAPE.test(ch)) {
      const cp = ch.codePointAt(0)!;
      out +=
        cp < 0x80
          ? `\\x${cp.toString(16).padStart(2, '0')}`
          : cp <= 0xffff
            ? `\\u${cp.toString(16).padStart(4, '0')}`
            : `\\U${cp.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return `${out}'`;
}

/** An id as a human reads it in a log line: JSON-quoted when it holds invisible characters. */
export function showId(id: string): string {
  return NEEDS_ESCAPE.test(id) ? JSON.stringify(id) : id;
}

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

/**
 * Runs a user's own shell command line with text on stdin and returns its stdout: what
 * Claude Code does with hook and statusline commands (they are shell command lines by
 * design). Never used for anything claude-failover builds itself: those are argv arrays.
 */
export function runShellCommand(
  command: string,
  stdin: string,
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    let stdout = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.on('error', () => resolve(''));
    child.on('close', () => {
      clearTimeout(timer);
      resolve(stdout);
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}
