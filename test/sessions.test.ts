/**
 * `session start|stop|restart|list` and prompt delivery, on real tmux with the simulated
 * agent (bin/sim-agent.js).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliverPrompt } from './helpers/type-prompt.js';
import { readAgentStatus } from '../src/lib/queue/status-file.js';
import { readEvents } from '../src/lib/core/events.js';
import { agentPid, processArgs, processEnv, simSandbox, waitFor } from './helpers/sim.js';

/** Whether a process still runs (a zombie waiting to be reaped does not). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

type Listing = {
  name: string;
  account: string | null;
  state: string;
  pid: number | null;
  cwd: string | null;
  claudeSessionId: string | null;
  restarts: number;
};

async function listing(sb: ReturnType<typeof simSandbox>): Promise<Listing[]> {
  const r = await sb.cli(['session', 'list', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { sessions: Listing[] }).sessions;
}

async function waitIdle(sb: ReturnType<typeof simSandbox>, names: string[]): Promise<void> {
  await waitFor(
    () => {
      const st = readAgentStatus(sb.project).sessions;
      return names.every((n) => st[n]?.state === 'idle' && st[n]?.claudeSessionId);
    },
    `${names.join(', ')} idle`,
  );
}

describe('session start / list / stop', () => {
  it('starts the configured sessions with the contract env, cwd and args, idempotently', async () => {
    const sb = simSandbox({ agentEnv: { MY_EXTRA: 'x $(y)' } });
    expect((await sb.cli(['setup'])).exitCode).toBe(0);
    // A tmux server that already carries Claude Code's nesting markers in its environment.
    await sb.tmux.run(['new-session', '-d', '-s', 'other', 'sleep', '600']);
    await sb.tmux.run(['set-environment', '-g', 'CLAUDE_CODE_CHILD_SESSION', '1']);
    await sb.tmux.run(['set-environment', '-g', 'CLAUDECODE', '1']);

    const r = await sb.cli(['session', 'start', '--json'], {
      env: { CLAUDE_CODE_ENTRYPOINT: 'cli' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    // No spinner or chatter without a TTY: stderr stays empty under cron.
    expect(r.stderr).toBe('');
    const started = (
      JSON.parse(r.stdout) as { started: Array<{ session: string; action: string }> }
    ).started;
    expect(started.map((s) => [s.session, s.action])).toEqual([
      ['ccl-0', 'started'],
      ['ccl-1', 'started'],
    ]);
    await waitIdle(sb, ['ccl-0', 'ccl-1']);

    const rows = await listing(sb);
    expect(rows.map((x) => [x.name, x.account, x.state, x.cwd])).toEqual([
      ['ccl-0', 'primary', 'idle', sb.project],
      ['ccl-1', 'primary', 'idle', sb.project],
    ]);
    const pid = rows[0]!.pid!;
    const env = processEnv(pid);
    expect(env).toMatchObject({
      CLAUDE_CONFIG_DIR: sb.accountDir('primary'),
      CLAUDE_FAILOVER_SESSION: 'ccl-0',
      CLAUDE_FAILOVER_ACCOUNT: 'primary',
      CLAUDE_FAILOVER_STATE_DIR: sb.stateDir,
      CLAUDE_FAILOVER_CONFIG: sb.configFile,
      MY_EXTRA: 'x $(y)',
    });
    for (const k of Object.keys(env))
      expect(k === 'CLAUDECODE' || k.startsWith('CLAUDE_CODE_'), k).toBe(false);
    expect(processArgs(pid)[1]).toContain('sim-agent.js');
    expect(processArgs(pid).slice(2)).toEqual(['--dangerously-skip-permissions']);

    // The state records account, claude session id and launch time.
    const state = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')) as {
      activeAccount: string;
      sessions: Record<string, { account: string; launchedAt: string }>;
    };
    expect(state.activeAccount).toBe('primary');
    expect(state.sessions['ccl-0']).toMatchObject({ account: 'primary' });
    expect(Date.parse(state.sessions['ccl-0']!.launchedAt)).toBeGreaterThan(Date.now() - 60_000);

    // Starting again leaves running sessions alone: same pids.
    const again = await sb.cli(['session', 'start', '--json']);
    expect(JSON.parse(again.stdout).started.map((s: { action: string }) => s.action)).toEqual([
      'running',
      'running',
    ]);
    expect((await listing(sb)).map((x) => x.pid)).toEqual(rows.map((x) => x.pid));
  });

  it('stops gracefully, marks the stop, and resumes the same conversation on the next start', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await sb.cli(['setup']);
    await sb.cli(['session', 'start']);
    await waitIdle(sb, ['ccl-0']);
    const id = readAgentStatus(sb.project).sessions['ccl-0']!.claudeSessionId!;
    expect(await deliverPrompt(sb.tmux, 'ccl-0', '/sim say first answer')).toBe(true);
    await sb.waitForPane('ccl-0', /● first answer/);

    const stop = await sb.cli(['session', 'stop', '--json']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(JSON.parse(stop.stdout).stopped).toEqual([{ session: 'ccl-0', action: 'graceful' }]);
    expect(await sb.tmux.hasSession('ccl-0')).toBe(false);
    expect((await listing(sb))[0]).toMatchObject({ state: 'stopped', pid: null });

    const start = await sb.cli(['session', 'start', '--json']);
    expect(JSON.parse(start.stdout).started[0]).toMatchObject({ action: 'started', resumeId: id });
    await sb.waitForPane('ccl-0', new RegExp(`Resumed conversation ${id}`));
    const pid = (await listing(sb))[0]!.pid!;
    expect(processArgs(pid).slice(-2)).toEqual(['--resume', id]);
    // --dangerously-skip-permissions is passed again: Claude Code does not restore it.
    expect(processArgs(pid)).toContain('--dangerously-skip-permissions');

    expect(await deliverPrompt(sb.tmux, 'ccl-0', '/sim say second answer')).toBe(true);
    await sb.waitForPane('ccl-0', /● second answer/);
    const transcript = readAgentStatus(sb.project).sessions['ccl-0']!.transcriptPath as string;
    const lines = fs.readFileSync(transcript, 'utf8').trim().split('\n');
    const texts = lines.map((l) => JSON.stringify(JSON.parse(l).message?.content ?? ''));
    expect(texts.join('\n')).toMatch(/first answer[\s\S]*second answer/);
    const events = readEvents(sb.stateDir).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['session.started', 'session.stopped']));
  });

  it('stops several agents together, and reports the ones not running', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..3}' });
    await sb.cli(['setup']);
    await sb.cli(['session', 'start', 'ccl-0', 'ccl-1', 'ccl-2']);
    await waitIdle(sb, ['ccl-0', 'ccl-1', 'ccl-2']);
    const stop = await sb.cli(['session', 'stop', '--json']);
    expect(stop.exitCode, stop.stderr).toBe(0);
    expect(JSON.parse(stop.stdout).stopped).toEqual([
      { session: 'ccl-0', action: 'graceful' },
      { session: 'ccl-1', action: 'graceful' },
      { session: 'ccl-2', action: 'graceful' },
      { session: 'ccl-3', action: 'absent' },
    ]);
    expect(await sb.tmux.listPanes()).toEqual([]);
    const stopped = readEvents(sb.stateDir).filter((e) => e.event === 'session.stopped');
    expect(stopped.map((e) => [e.session, e.how])).toEqual([
      ['ccl-0', 'graceful'],
      ['ccl-1', 'graceful'],
      ['ccl-2', 'graceful'],
    ]);
  });

  it('kills an agent that ignores the graceful stop after agent.stopTimeout', async () => {
    const sb = simSandbox({ sessions: 'stubborn' });
    const script = path.join(sb.home, 'stubborn.js');
    fs.writeFileSync(
      script,
      // It notes what it is sent (a line typed, a Ctrl-C) and ignores all of it.
      `#!/usr/bin/env node\nconst fs = require('node:fs'); const note = (w) => fs.appendFileSync(${JSON.stringify(path.join(sb.home, 'stubborn.log'))}, w + '\\n');\nprocess.on('SIGINT', () => note('SIGINT')); process.on('SIGHUP', () => {}); process.stdin.on('data', (d) => note('line ' + String(d).trim())); console.log('ignoring you'); setInterval(() => {}, 1000);\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      sb.configFile,
      fs
        .readFileSync(sb.configFile, 'utf8')
        .replace(/command: .*sim-agent\.js/, `command: ${script}`)
        .replace('stopTimeout: 4s', 'stopTimeout: 1500ms')
        .replace('readyTimeout: 10s', 'readyTimeout: 1s'),
    );
    // It never shows a prompt: the start says so and fails.
    const start = await sb.cli(['session', 'start']);
    expect(start.exitCode).toBe(0);
    expect(start.stdout).toContain('started on primary');
    await sb.waitForPane('stubborn', /ignoring you/);
    const pid = await agentPid(sb.tmux, 'stubborn');
    const stop = await sb.cli(['session', 'stop', '--json']);
    expect(JSON.parse(stop.stdout).stopped).toEqual([{ session: 'stubborn', action: 'killed' }]);
    // Killed only after the graceful steps: /exit typed, then Ctrl-C twice.
    const heard = fs.readFileSync(path.join(sb.home, 'stubborn.log'), 'utf8').trim().split('\n');
    expect(heard.filter((l) => l.endsWith('/exit'))).toHaveLength(1);
    expect(heard.filter((l) => l === 'SIGINT')).toHaveLength(2);
    expect(heard.indexOf('SIGINT')).toBeGreaterThan(heard.findIndex((l) => l.endsWith('/exit')));
    expect(await sb.tmux.hasSession('stubborn')).toBe(false);
    // The process itself is gone, not only its tmux session (it ignores SIGHUP).
    await waitFor(() => !alive(pid), 'the stubborn agent killed');
  });

  it('rejects an unknown session name with exit 2', async () => {
    const sb = simSandbox();
    const r = await sb.cli(['session', 'start', 'nope']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown session: nope');
  });
});

describe('prompt delivery', () => {
  it('retries the Enter that the agent swallowed inside the paste burst', async () => {
    // The agent swallows an Enter that arrives within 600 ms of a paste: the first Enter
    // (after 150 ms) is lost, and the text must still be submitted.
    const sb = simSandbox({ sessions: 'ccl-0', agentEnv: { SIM_PASTE_GUARD_MS: '600' } });
    await sb.cli(['setup']);
    await sb.cli(['session', 'start']);
    await waitIdle(sb, ['ccl-0']);
    const hostile = '/sim say $(touch /tmp/cf-pwned); `id`; tmux kill-server \'q\' "dq"';
    expect(await deliverPrompt(sb.tmux, 'ccl-0', hostile)).toBe(true);
    await sb.waitForPane('ccl-0', /● \$\(touch \/tmp\/cf-pwned\); `id`; tmux kill-server 'q' "dq"/);
    expect(fs.existsSync('/tmp/cf-pwned')).toBe(false);
    expect(await sb.tmux.hasSession('ccl-0')).toBe(true);
  });
});
