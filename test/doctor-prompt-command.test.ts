/**
 * `doctor`'s prompt-command check, through the built CLI: it asks the agent's login shell
 * (bash -l with the session's environment) for the command the prompt runs. The HOME's
 * profile resets PATH, as in issue 13, while agent.env.PATH names the directory holding a
 * `claude-failover`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loginResetHome, runCli, sandboxConfig, writeConfig } from './helpers/env.js';

interface Report {
  ok: boolean;
  checks: Array<{ name: string; level: string; detail: string }>;
}

function sandbox(extra = '') {
  const login = loginResetHome();
  const { home, binDir } = login;
  for (const a of ['primary', 'backup'])
    fs.mkdirSync(path.join(home, 'accounts', a), { recursive: true });
  fs.mkdirSync(path.join(home, 'src', 'api'), { recursive: true });
  const cfg = writeConfig(
    home,
    sandboxConfig(
      home,
      `agent: { command: ${process.execPath}, env: { PATH: "${binDir}:/usr/bin:/bin" } }\n${extra}`,
    ),
  );
  const doctor = async () => {
    const res = await runCli(['doctor', '--json', '-c', cfg], { home, env: login.env });
    const report = JSON.parse(res.stdout) as Report;
    return {
      exitCode: res.exitCode,
      report,
      checks: report.checks.filter((c) => c.name === 'prompt-command'),
    };
  };
  return { home, binDir, cfg, doctor };
}

describe('doctor prompt-command', () => {
  it('fails for a bare claude-failover the login shell cannot find, naming the fix', async () => {
    const sb = sandbox(
      `dispatch: { prompt: "Read the task in {taskPath}. When it is finished, run: claude-failover task done -- {taskId}" }\n`,
    );
    const { exitCode, checks } = await sb.doctor();
    expect(exitCode).toBe(1);
    // Both accounts share the environment: one line.
    expect(checks).toHaveLength(1);
    const [check] = checks;
    expect(check!.level).toBe('fail');
    expect(check!.detail).toContain("dispatch.prompt runs 'claude-failover'");
    expect(check!.detail).toContain('/bin/bash -l');
    expect(check!.detail).toContain('PATH=/usr/bin:/bin');
    expect(check!.detail).toContain('use {cli} in dispatch.prompt');
    expect(check!.detail).toContain(`put ${sb.binDir} on PATH in the login profile`);
    expect(check!.detail).toMatch(/~\/\.bash_profile.*~\/\.profile/);

    // Human output: the same line, tagged fail.
    const human = await runCli(['doctor', '-c', sb.cfg], {
      home: sb.home,
      env: { SHELL: '/bin/bash', HOME: sb.home },
    });
    expect(human.stdout).toMatch(
      /^fail\s+prompt-command: dispatch\.prompt runs 'claude-failover'/m,
    );
  });

  it('passes with {cli}, the default, and once the profile puts the directory on PATH', async () => {
    const sb = sandbox();
    const byDefault = await sb.doctor();
    expect(byDefault.exitCode, JSON.stringify(byDefault.report)).toBe(0);
    expect(byDefault.checks).toEqual([
      expect.objectContaining({
        level: 'ok',
        detail: expect.stringContaining('dispatch.prompt runs {cli} ('),
      }),
    ]);
    expect(byDefault.checks[0]!.detail).toContain(process.execPath);

    const bare = sandbox(
      `dispatch: { prompt: "Do {taskPath}, then run: claude-failover task done -- {taskId}" }\n`,
    );
    fs.appendFileSync(path.join(bare.home, '.bash_profile'), `PATH="${bare.binDir}:$PATH"\n`);
    const fixed = await bare.doctor();
    expect(fixed.exitCode, JSON.stringify(fixed.report)).toBe(0);
    expect(fixed.checks).toEqual([
      expect.objectContaining({
        level: 'ok',
        detail: expect.stringContaining(`at ${path.join(bare.binDir, 'claude-failover')}`),
      }),
    ]);
  });

  it('checks a resume prompt that runs a command too, and says when there is nothing to check', async () => {
    const sb = sandbox(
      `swap: { resumePrompt: "Continue {taskPath}; when done run: claude-failover task done -- {taskId}" }\n`,
    );
    const { exitCode, checks } = await sb.doctor();
    expect(exitCode).toBe(1);
    expect(checks.map((c) => [c.level, c.detail.split(' runs ')[0]])).toEqual([
      ['ok', 'dispatch.prompt'],
      ['fail', 'swap.resumePrompt'],
    ]);
    expect(checks[1]!.detail).toContain('use {cli} in swap.resumePrompt');

    const none = sandbox(`dispatch: { prompt: "Read the task in {taskPath} and carry it out." }\n`);
    const quiet = await none.doctor();
    expect(quiet.exitCode).toBe(0);
    expect(quiet.checks).toEqual([
      expect.objectContaining({ level: 'ok', detail: expect.stringContaining('nothing to check') }),
    ]);
  });
});
