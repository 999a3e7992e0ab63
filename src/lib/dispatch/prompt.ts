/**
 * Prompt templates (`dispatch.prompt`, `swap.resumePrompt`, `watch.resumePrompt`) and the
 * shell quoting of the values put into them. An agent reads the prompt and runs the command
 * it names in its Bash tool, so every value is written as one shell word: a task id such as
 * `$(touch x)` or `a;b` reaches `claude-failover task done` as data, never as shell syntax.
 */
import { cliArgv } from '../core/package-root.js';
import { bashQuote } from '../core/shell.js';

/**
 * `{cli}`: the absolute command of this install, node and the CLI script, each quoted as one
 * shell word, e.g. `/usr/bin/node /opt/cf/bin/claude-failover.js`. An agent's Bash tool runs
 * in a snapshot of the user's login shell, whose profile may reset PATH; this needs none.
 */
export function cliCommand(): string {
  return cliArgv().map(bashQuote).join(' ');
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
 * one shell word (see `bashQuote`), and `{cli}` with the command of this install (see
 * `cliCommand`); other braces are left alone. The result is one line when the template is.
 */
export function renderPrompt(template: string, vars: PromptVars): string {
  return template.replace(
    /\{(taskPath|taskId|project|session|cli)\}/g,
    (_m, k: keyof PromptVars) => (k === 'cli' ? (vars.cli ?? cliCommand()) : bashQuote(vars[k])),
  );
}
