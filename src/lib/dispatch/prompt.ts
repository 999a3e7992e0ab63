/**
 * Prompt templates (`dispatch.prompt`, `swap.resumePrompt`, `watch.resumePrompt`) and the
 * shell quoting of the values put into them. An agent reads the prompt and runs the command
 * it names in its Bash tool, so every value is written as one shell word: a task id such as
 * `$(touch x)` or `a;b` reaches `claude-failover task done` as data, never as shell syntax.
 */
import fs from 'node:fs';
import { packageFile } from '../core/package-root.js';

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
 * Quotes `value` as one shell word: bare when it is plainly safe, in single quotes
 * otherwise, and as ANSI-C `$'...'` (bash, zsh, ksh; POSIX 2024) when it holds characters
 * that must not be written raw, such as a newline. The result is always one line.
 */
export function shellQuote(value: string): string {
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

/**
 * The argv that runs this install's CLI without a PATH lookup: the node running us
 * (`process.execPath`, absolute, whichever version manager put it there) and the real path
 * of the package's `bin/claude-failover.js` (an `npm link`ed or globally installed bin is a
 * symlink to it).
 */
export function cliArgv(): [node: string, script: string] {
  const script = packageFile('bin', 'claude-failover.js');
  let real = script;
  try {
    real = fs.realpathSync(script);
  } catch {
    // Not there (a bundle moved without its bin/): the path still says what was meant.
  }
  return [process.execPath, real];
}

/**
 * `{cli}`: the absolute command of this install, node and the CLI script, each quoted as one
 * shell word, e.g. `/usr/bin/node /opt/cf/bin/claude-failover.js`. An agent's Bash tool runs
 * in a snapshot of the user's login shell, whose profile may reset PATH; this needs none.
 */
export function cliCommand(): string {
  return cliArgv().map(shellQuote).join(' ');
}

export interface PromptVars {
  taskPath: string;
  taskId: string;
  project: string;
  session: string;
  /** What `{cli}` becomes; `cliCommand()` when not given. */
  cli?: string;
}

/**
 * Fills `{taskPath}`, `{taskId}`, `{project}` and `{session}` in a prompt template, each as
 * one shell word (see `shellQuote`), and `{cli}` with the command of this install (see
 * `cliCommand`); other braces are left alone. The result is one line when the template is.
 */
export function renderPrompt(template: string, vars: PromptVars): string {
  return template.replace(
    /\{(taskPath|taskId|project|session|cli)\}/g,
    (_m, k: keyof PromptVars) => (k === 'cli' ? (vars.cli ?? cliCommand()) : shellQuote(vars[k])),
  );
}

/** An id as a human reads it in a log line: JSON-quoted when it holds invisible characters. */
export function showId(id: string): string {
  return NEEDS_ESCAPE.test(id) ? JSON.stringify(id) : id;
}
