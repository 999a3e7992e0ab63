/**
 * The command a prompt template tells the agent to run (`... run: {cli} task done -- {taskId}`),
 * and whether the agent's own shell can find it. Claude Code's Bash tool runs commands in a
 * snapshot of the user's login shell, started with the session's environment: the login
 * profile may replace PATH, so a command found on `agent.env.PATH` can still be `command not
 * found` there. `doctor` asks that login shell, the way the Bash tool would.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planLaunch } from '../agents/agent.js';
import type { Config, SessionConfig } from '../core/config.js';
import { ENV_ACCOUNT } from '../core/env-names.js';
import { ExternalCommandError } from '../core/errors.js';
import { findExecutable, run } from '../core/exec.js';
import { cliArgv } from '../core/package-root.js';
import { bashQuote, shellWords } from '../core/shell.js';
import { renderPrompt } from './prompt.js';

/** What runs `task done` (or `task fail`) in a template: this install's `{cli}`, or a word. */
export type PromptCommand = { kind: 'cli'; argv: string[] } | { kind: 'word'; word: string };

/**
 * The last shell word of `text`: the shortest tail that reads as exactly one word, so prose
 * with an apostrophe before it does not matter and a quoted path with spaces stays whole.
 */
function lastWord(text: string): string | null {
  const end = text.trimEnd();
  for (let start = end.length - 1; start >= 0; start--) {
    if (start > 0 && !/\s/.test(end[start - 1]!)) continue;
    const words = shellWords(end.slice(start));
    if (words?.length === 1) return words[0]!;
  }
  return null;
}

const TASK_COMMAND = /(?<=^|\s)task\s+(?:done|fail)(?=\s|$)/g;

/**
 * The commands that run `task done` / `task fail` in a template: `{cli}` right before it is
 * this install's argv; otherwise the shell word before it, after the placeholders are filled
 * in with `vars`. Empty when the template runs neither.
 */
export function promptCommands(
  template: string,
  vars: { project: string; session: string },
): PromptCommand[] {
  const out: PromptCommand[] = [];
  const seen = new Set<string>();
  for (const m of template.matchAll(TASK_COMMAND)) {
    const before = template.slice(0, m.index).trimEnd();
    let cmd: PromptCommand | null = null;
    if (before.endsWith('{cli}')) cmd = { kind: 'cli', argv: cliArgv() };
    else {
      const rendered = renderPrompt(before, { taskPath: '/task.md', taskId: 'task', ...vars });
      const word = lastWord(rendered);
      if (word) cmd = { kind: 'word', word };
    }
    const key = JSON.stringify(cmd);
    if (cmd && !seen.has(key)) {
      seen.add(key);
      out.push(cmd);
    }
  }
  return out;
}

// Claude Code's Bash tool runs bash or zsh; another login shell (fish, say) is not used.
const SUPPORTED_SHELL = /(?:^|\/)(?:bash|zsh)[^/]*$/;

/**
 * The shell an agent's Bash tool runs: `CLAUDE_CODE_SHELL` (Claude Code's own override),
 * else `$SHELL`, else the passwd entry, else /bin/bash; only an executable bash or zsh counts.
 */
export function agentShell(env: NodeJS.ProcessEnv): string {
  let passwd: string | null = null;
  try {
    passwd = os.userInfo().shell;
  } catch {
    passwd = null;
  }
  for (const candidate of [env.CLAUDE_CODE_SHELL, env.SHELL, passwd]) {
    if (candidate && path.isAbsolute(candidate) && SUPPORTED_SHELL.test(candidate)) {
      if (findExecutable(candidate, env)) return candidate;
    }
  }
  return '/bin/bash';
}

export interface SessionEnvironment {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/**
 * The environment and directory a session of `config` starts with on `account` (the launch
 * plan over the environment the tmux server would pass on, taken to be `env`).
 */
function sessionEnvironment(
  config: Config,
  account: string,
  env: NodeJS.ProcessEnv,
): SessionEnvironment {
  const home = env.HOME || os.homedir();
  const session: SessionConfig = config.sessions[0] ?? {
    name: 'doctor',
    project: '',
    projectPath: home,
  };
  const plan = planLaunch(config, session, account, null, Object.keys(env), env);
  const out: NodeJS.ProcessEnv = { ...env };
  for (const name of plan.unsetEnv) delete out[name];
  Object.assign(out, plan.env);
  // A project that does not exist yet: the profile is the same from the home directory.
  const cwd = fs.existsSync(plan.cwd) ? plan.cwd : home;
  return { env: out, cwd };
}

export type LookUp =
  | { status: 'found'; path: string }
  | { status: 'missing'; loginPath: string | null }
  | { status: 'error'; message: string };

// Fixed text: the word comes in as $1, never as part of the script. A function or alias the
// profile defines counts (the Bash tool's snapshot keeps them); a path must be executable.
const LOOK_UP = `p=$(command -v -- "$1") && case $p in */*) [ -x "$p" ] && [ ! -d "$p" ] ;; esac && { printf '%s\\n' "$p"; exit 0; }
printf '\\nPATH=%s\\n' "$PATH"; exit 127`;

/** Runs `<shell> -l -c 'command -v -- "$1"' sh <word>` with `env` in `cwd`. */
export async function lookUpInLoginShell(
  shell: string,
  word: string,
  opts: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number },
): Promise<LookUp> {
  try {
    const res = await run(shell, ['-l', '-c', LOOK_UP, 'sh', word], {
      env: opts.env,
      extendEnv: false,
      cwd: opts.cwd,
      timeout: opts.timeoutMs ?? 10_000,
      reject: false,
      maxBuffer: 1024 * 1024,
    });
    const lines = res.stdout.split('\n').filter((l) => l.trim() !== '');
    const last = lines.at(-1) ?? '';
    if (res.exitCode === 0 && last) return { status: 'found', path: last };
    const loginPath = last.startsWith('PATH=') ? last.slice('PATH='.length) : null;
    return { status: 'missing', loginPath };
  } catch (err) {
    const e = err as ExternalCommandError;
    const message =
      e instanceof ExternalCommandError && e.kind === 'timeout'
        ? `${shell} -l did not finish within ${Math.round((opts.timeoutMs ?? 10_000) / 1000)}s (does the login profile wait for input?)`
        : e.message;
    return { status: 'error', message };
  }
}

function profileFiles(shell: string): string {
  const base = path.basename(shell);
  if (base.startsWith('zsh')) return '~/.zprofile or ~/.zshenv';
  return '~/.bash_profile, or ~/.profile when there is none';
}

type Level = 'ok' | 'warn' | 'fail';

/** One result per command and outcome: what `doctor` prints as `prompt-command`. */
export async function promptCommandChecks(
  config: Config,
  env: NodeJS.ProcessEnv,
  opts: { timeoutMs?: number } = {},
): Promise<Array<[string, Level, string]>> {
  const first = config.sessions[0];
  const vars = { project: first?.project ?? '', session: first?.name ?? '' };
  const templates: Array<[string, string]> = [
    ['dispatch.prompt', config.dispatch.prompt],
    ['swap.resumePrompt', config.swap.resumePrompt],
    ['watch.resumePrompt', config.watch.resumePrompt],
  ];
  // Each distinct command, with the templates that run it.
  const commands = new Map<string, { cmd: PromptCommand; keys: string[] }>();
  for (const [key, template] of templates) {
    for (const cmd of promptCommands(template, vars)) {
      const id = JSON.stringify(cmd);
      const entry = commands.get(id) ?? { cmd, keys: [] };
      entry.keys.push(key);
      commands.set(id, entry);
    }
  }
  const NAME = 'prompt-command';
  if (commands.size === 0)
    return [[NAME, 'ok', "no prompt template runs 'task done' or 'task fail': nothing to check"]];

  const accounts = config.accounts.filter((a) => a.enabled);
  const names = (accounts.length ? accounts : config.accounts).map((a) => a.name);
  const out: Array<[string, Level, string]> = [];
  for (const { cmd, keys } of commands.values()) {
    // One look-up per distinct session environment. Accounts differ only in which account
    // they are (CLAUDE_CONFIG_DIR and the like) unless agent.env says otherwise, so there is
    // usually one, and a login profile that takes a while (pyenv, nvm) is run once.
    const groups = new Map<string, { launch: SessionEnvironment; accounts: string[] }>();
    for (const account of names) {
      const launch = sessionEnvironment(config, account, env);
      const { [ENV_ACCOUNT]: _a, CLAUDE_CONFIG_DIR: _c, ...rest } = launch.env;
      const id = JSON.stringify([launch.cwd, Object.entries(rest).sort()]);
      const group = groups.get(id) ?? { launch, accounts: [] };
      group.accounts.push(account);
      groups.set(id, group);
    }
    const outcomes = new Map<string, { level: Level; detail: string; accounts: string[] }>();
    for (const group of groups.values()) {
      const [level, detail] = await checkCommand(cmd, keys, group.launch, opts.timeoutMs);
      const id = `${level}\n${detail}`;
      const entry = outcomes.get(id) ?? { level, detail, accounts: [] };
      entry.accounts.push(...group.accounts);
      outcomes.set(id, entry);
    }
    for (const o of outcomes.values()) {
      const who = outcomes.size > 1 ? ` (account ${o.accounts.join(', ')})` : '';
      out.push([NAME, o.level, `${o.detail}${who}`]);
    }
  }
  return out;
}

async function checkCommand(
  cmd: PromptCommand,
  keys: string[],
  launch: SessionEnvironment,
  timeoutMs: number | undefined,
): Promise<[Level, string]> {
  const shell = agentShell(launch.env);
  const where = keys.join(', ');
  let word = cmd.kind === 'cli' ? cmd.argv[0]! : cmd.word;
  // A plain word in quotes the way doctor writes commands; any other already is quoted.
  const quoted = (w: string) => (bashQuote(w) === w ? `'${w}'` : bashQuote(w));
  const shown = cmd.kind === 'cli' ? `{cli} (${cmd.argv.map(bashQuote).join(' ')})` : quoted(word);
  // `~/bin/x` is the home's; other expansions ($VAR, `...`) are left to the shell, unchecked.
  if (cmd.kind === 'word' && /^~(?:\/|$)/.test(word) && launch.env.HOME)
    word = launch.env.HOME + word.slice(1);
  if (cmd.kind === 'word' && /[$`]/.test(word))
    return [
      'warn',
      `${where} runs ${shown}, which holds a shell expansion doctor does not evaluate; check it by hand, or use {cli}`,
    ];
  const res = await lookUpInLoginShell(shell, word, { ...launch, timeoutMs });
  if (res.status === 'error')
    return ['warn', `${where}: cannot ask ${shell} -l for ${shown}: ${res.message}`];
  if (res.status === 'missing') {
    if (cmd.kind === 'cli')
      return ['fail', `${where}: ${shell} -l cannot run ${word}: it is not executable`];
    const at = findExecutable(word, launch.env);
    const dir = at ? path.dirname(at) : `the directory that holds ${word}`;
    const loginPath =
      res.loginPath === null ? '' : ` (its login profile sets PATH=${res.loginPath})`;
    return [
      'fail',
      `${where} runs ${shown}, which the agent's shell ${shell} -l cannot find${loginPath}, so the agent's command would fail with 'command not found': use {cli} in ${where}, or put ${dir} on PATH in the login profile (${profileFiles(shell)})`,
    ];
  }
  if (cmd.kind === 'cli') {
    const script = cmd.argv[1]!;
    try {
      fs.accessSync(script, fs.constants.R_OK);
    } catch {
      return [
        'fail',
        `${where}: {cli} names ${script}, which cannot be read; reinstall claude-failover`,
      ];
    }
  }
  return [
    'ok',
    `${where} runs ${shown}, found by ${shell} -l${cmd.kind === 'word' ? ` at ${res.path}` : ''}`,
  ];
}
