import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEvents } from '../src/lib/core/events.js';
import { readSignals, readUsage } from '../src/lib/claude/signals.js';
import { runCli, tempDir } from './helpers/env.js';

function hookEnv(home: string, session = 'ccl-1') {
  const stateDir = path.join(home, 'state');
  const project = path.join(home, 'proj');
  fs.mkdirSync(project, { recursive: true });
  return {
    stateDir,
    project,
    env: {
      CLAUDE_FAILOVER_SESSION: session,
      CLAUDE_FAILOVER_ACCOUNT: 'primary',
      CLAUDE_FAILOVER_STATE_DIR: stateDir,
      CLAUDE_FAILOVER_PROJECT: project,
    },
  };
}

const statusOf = (project: string) =>
  JSON.parse(fs.readFileSync(path.join(project, '.agent-queue', 'status.json'), 'utf8')) as {
    sessions: Record<
      string,
      { state: string; claudeSessionId: string | null; task: string | null }
    >;
  };

describe('hook run', () => {
  it('records SessionStart, UserPromptSubmit, Stop and StopFailure, with no config at all', async () => {
    const home = tempDir();
    const { env, stateDir, project } = hookEnv(home);
    const id = '5f0c7a52-1111-4b5e-9c1e-0123456789ab';
    const base = { session_id: id, transcript_path: `/x/${id}.jsonl`, cwd: project };

    let r = await runCli(['hook', 'run', 'SessionStart'], {
      home,
      env,
      input: JSON.stringify({ ...base, hook_event_name: 'SessionStart', source: 'startup' }),
    });
    expect(r.exitCode).toBe(0);
    expect(statusOf(project).sessions['ccl-1']).toMatchObject({
      state: 'idle',
      claudeSessionId: id,
      task: null,
    });

    r = await runCli(['hook', 'run', 'UserPromptSubmit'], {
      home,
      env,
      input: JSON.stringify({ ...base, prompt: 'do it' }),
    });
    expect(statusOf(project).sessions['ccl-1']!.state).toBe('working');

    r = await runCli(['hook', 'run', 'StopFailure'], {
      home,
      env,
      input: JSON.stringify({
        ...base,
        error: 'rate_limit',
        error_details: '429 Too Many Requests',
        last_assistant_message: "You've hit your 5-hour limit · resets 10:44pm (UTC)",
      }),
    });
    expect(r.exitCode).toBe(0);
    expect(statusOf(project).sessions['ccl-1']!.state).toBe('idle');

    const signals = readSignals(stateDir, 'ccl-1', null);
    expect(signals.map((s) => s.event)).toEqual([
      'SessionStart',
      'UserPromptSubmit',
      'StopFailure',
    ]);
    expect(signals[0]).toMatchObject({
      account: 'primary',
      claudeSessionId: id,
      source: 'startup',
    });
    expect(signals[2]).toMatchObject({
      error: 'rate_limit',
      message: "You've hit your 5-hour limit · resets 10:44pm (UTC)",
    });
    expect(fs.statSync(path.join(stateDir, 'signals', 'ccl-1.jsonl')).mode & 0o777).toBe(0o600);
  });

  it('keeps concurrent sessions of one project in status.json', async () => {
    const home = tempDir();
    const runs = Array.from({ length: 8 }, (_, i) => {
      const { env } = hookEnv(home, `s${i}`);
      return runCli(['hook', 'run', 'SessionStart'], {
        home,
        env,
        input: JSON.stringify({ session_id: `id-${i}` }),
      });
    });
    for (const r of await Promise.all(runs)) expect(r.exitCode).toBe(0);
    expect(Object.keys(statusOf(path.join(home, 'proj')).sessions).sort()).toEqual([
      's0',
      's1',
      's2',
      's3',
      's4',
      's5',
      's6',
      's7',
    ]);
  });

  it('always exits 0: malformed stdin is logged as a warning, an unmanaged agent is ignored', async () => {
    const home = tempDir();
    const { env, stateDir, project } = hookEnv(home);
    const r = await runCli(['hook', 'run', 'Stop'], { home, env, input: '{not json' });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('');
    expect(readEvents(stateDir)).toContainEqual(
      expect.objectContaining({
        event: 'hook.malformed',
        level: 'warn',
        session: 'ccl-1',
        hook: 'Stop',
      }),
    );
    expect(fs.existsSync(path.join(project, '.agent-queue', 'status.json'))).toBe(false);

    const bare = await runCli(['hook', 'run', 'Stop'], { home, input: '{}' });
    expect(bare.exitCode).toBe(0);
    // Even an unwritable state dir does not fail the agent.
    // (A path below a regular file: mkdir fails with ENOTDIR.)
    fs.writeFileSync(path.join(home, 'plain-file'), '');
    const ro = await runCli(['hook', 'run', 'Stop'], {
      home,
      env: { ...env, CLAUDE_FAILOVER_STATE_DIR: path.join(home, 'plain-file', 'state') },
      input: '{}',
    });
    expect(ro.exitCode).toBe(0);
  });
});

describe('hook statusline', () => {
  const input = (extra = {}) =>
    JSON.stringify({
      session_id: 'abc',
      model: { id: 'claude-x', display_name: 'X' },
      rate_limits: {
        five_hour: { used_percentage: 42.4, resets_at: 1764000000 },
        seven_day: { used_percentage: 13, resets_at: 1764400000 },
      },
      ...extra,
    });

  it("records the account's usage and prints a short line", async () => {
    const home = tempDir();
    const { env, stateDir } = hookEnv(home);
    const r = await runCli(['hook', 'statusline'], { home, env, input: input() });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('primary · ccl-1 · 5h 42% · 7d 13%');
    expect(readUsage(stateDir, 'primary')).toMatchObject({
      fiveHour: { usedPercentage: 42.4, resetsAt: new Date(1764000000 * 1000).toISOString() },
      sevenDay: { usedPercentage: 13 },
      session: 'ccl-1',
    });
  });

  it("passes through the user's previous statusline command", async () => {
    const home = tempDir();
    const { env, stateDir } = hookEnv(home);
    fs.mkdirSync(path.join(stateDir, 'statusline'), { recursive: true });
    const script = path.join(home, 'mine.sh');
    fs.writeFileSync(script, '#!/bin/sh\nread x\necho "mine: $(echo "$x" | head -c 14)"\n', {
      mode: 0o755,
    });
    fs.writeFileSync(
      path.join(stateDir, 'statusline', 'primary.json'),
      JSON.stringify({ command: script }),
    );
    const r = await runCli(['hook', 'statusline'], { home, env, input: input() });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('mine: {"session_id":');
    expect(readUsage(stateDir, 'primary')?.fiveHour?.usedPercentage).toBe(42.4);
  });
});
