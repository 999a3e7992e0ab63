/**
 * `{cli}` and the command a prompt runs: `{cli}` renders as this install's absolute command
 * (node and the CLI script), which a login shell whose profile resets PATH still runs, where
 * a bare `claude-failover` is `command not found`. Real files and real shells, no mocks.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DISPATCH_PROMPT } from '../src/lib/core/config-schema.js';
import { cliArgv } from '../src/lib/core/package-root.js';
import { cliCommand, renderPrompt } from '../src/lib/dispatch/prompt.js';
import {
  agentShell,
  lookUpInLoginShell,
  promptCommands,
} from '../src/lib/dispatch/prompt-command.js';
import { shellWords } from '../src/lib/core/shell.js';
import { BIN, ROOT, loginResetHome, sandboxConfig, writeConfig } from './helpers/env.js';

const vars = { taskPath: '/q/inbox/a.md', taskId: 'a', project: 'api', session: 'ccl-0' };
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
};

/** `script` run the way Claude Code's Bash tool runs a command: `bash -l -c`, in `home`. */
function loginBash(script: string, env: Record<string, string>) {
  return execa('/bin/bash', ['-l', '-c', script], {
    env,
    extendEnv: false,
    cwd: env.HOME,
    reject: false,
    timeout: 30_000,
  });
}

describe('{cli}', () => {
  it('renders as the absolute node and CLI script, each one shell word', () => {
    const cli = renderPrompt('{cli}', vars);
    expect(cli).toBe(cliCommand());
    const words = shellWords(cli);
    expect(words).toEqual([process.execPath, fs.realpathSync(BIN)]);
    expect(words).toEqual(cliArgv());
    for (const w of words!) expect(path.isAbsolute(w)).toBe(true);
    // The default dispatch prompt uses it, and the rest is filled in as before.
    expect(renderPrompt(DEFAULT_DISPATCH_PROMPT, vars)).toBe(
      `Read the task in /q/inbox/a.md and carry it out. When it is finished, run: ${cli} task done -- a`,
    );
    // An explicit value wins (how a caller could render it for another install).
    expect(renderPrompt('{cli} x', { ...vars, cli: "'/my node' /s.js" })).toBe(
      "'/my node' /s.js x",
    );
  });

  it('runs from a login shell whose profile resets PATH, where a bare claude-failover is not found', async () => {
    const { env } = loginResetHome();
    const viaCli = await loginBash(`${cliCommand()} --version`, env);
    expect(viaCli.exitCode, String(viaCli.stderr)).toBe(0);
    expect(String(viaCli.stdout).trim()).toBe(pkg.version);
    const cfg = writeConfig(env.HOME!, sandboxConfig(env.HOME!));
    const list = await loginBash(`${cliCommand()} task list --json -c ${cfg}`, env);
    expect(list.exitCode, String(list.stderr)).toBe(0);
    expect(JSON.parse(String(list.stdout))).toBeTruthy();
    // The same shell, PATH naming the fake's directory on the way in: the profile dropped it.
    expect(env.PATH).toContain('npm-global');
    const bare = await loginBash('claude-failover --version', env);
    expect(bare.exitCode).toBe(127);
    expect(String(bare.stderr)).toMatch(/claude-failover: command not found/);
  });
});

describe('the command a prompt runs', () => {
  it('is {cli} right before task done, else the shell word before it', () => {
    const p = { project: 'api', session: 'ccl-0' };
    expect(promptCommands(DEFAULT_DISPATCH_PROMPT, p)).toEqual([{ kind: 'cli', argv: cliArgv() }]);
    expect(
      promptCommands("When it's finished, run: claude-failover task done -- {taskId}", p),
    ).toEqual([{ kind: 'word', word: 'claude-failover' }]);
    expect(
      promptCommands(
        'run: \'/opt/my tools/claude-failover\' task done -- {taskId}, or "$HOME/bin/cf" task fail -- {taskId}',
        p,
      ),
    ).toEqual([
      { kind: 'word', word: '/opt/my tools/claude-failover' },
      { kind: 'word', word: '$HOME/bin/cf' },
    ]);
    expect(promptCommands('Continue the task in {taskPath}.', p)).toEqual([]);
    // "task done" inside a word is not the command.
    expect(promptCommands('see the multitask doneness', p)).toEqual([]);
  });

  it('shellWords reads quotes as a shell does and rejects an open quote', () => {
    expect(shellWords(`a 'b c' "d\\"e" $'f\\ng' h\\ i`)).toEqual([
      'a',
      'b c',
      'd"e',
      'f\ng',
      'h i',
    ]);
    expect(shellWords("it's")).toBeNull();
  });

  it('the shell is CLAUDE_CODE_SHELL, else $SHELL, and only a bash or zsh counts', () => {
    expect(agentShell({ SHELL: '/bin/bash' })).toBe('/bin/bash');
    expect(agentShell({ CLAUDE_CODE_SHELL: '/bin/bash', SHELL: '/bin/sh' })).toBe('/bin/bash');
    // Not bash or zsh, or not there: the next one, in the end /bin/bash.
    expect(agentShell({ SHELL: '/usr/bin/fish' })).toMatch(/\/(bash|zsh)$/);
    expect(agentShell({ CLAUDE_CODE_SHELL: '/nonexistent/zsh', SHELL: '/bin/bash' })).toBe(
      '/bin/bash',
    );
  });

  it('looks the word up in the login shell, passing it as data', async () => {
    const { env, binDir } = loginResetHome();
    const opts = { env, cwd: env.HOME! };
    expect(await lookUpInLoginShell('/bin/bash', 'claude-failover', opts)).toEqual({
      status: 'missing',
      loginPath: '/usr/bin:/bin',
    });
    expect(await lookUpInLoginShell('/bin/bash', process.execPath, opts)).toEqual({
      status: 'found',
      path: process.execPath,
    });
    const marker = path.join(env.HOME!, 'ran');
    const hostile = `x; touch ${marker}`;
    expect((await lookUpInLoginShell('/bin/bash', hostile, opts)).status).toBe('missing');
    expect(fs.existsSync(marker)).toBe(false);
    // The profile puts the directory back: found.
    fs.appendFileSync(path.join(env.HOME!, '.bash_profile'), `PATH="${binDir}:$PATH"\n`);
    expect(await lookUpInLoginShell('/bin/bash', 'claude-failover', opts)).toEqual({
      status: 'found',
      path: path.join(binDir, 'claude-failover'),
    });
  });
});
