/** `swap` on real tmux with the simulated agent: the failover itself and its recovery. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliverPrompt } from './helpers/type-prompt.js';
import { readAgentStatus } from '../src/lib/queue/status-file.js';
import { readEvents } from '../src/lib/core/events.js';
import { appendSignal, readSignals } from '../src/lib/claude/signals.js';
import {
  agentPid,
  processArgs,
  processEnv,
  SIM_AGENT,
  simSandbox,
  type SimSandbox,
} from './helpers/sim.js';

type Json = Record<string, unknown>;

async function pool(sb: SimSandbox, names: string[]): Promise<Record<string, string>> {
  expect((await sb.cli(['setup'])).exitCode).toBe(0);
  const start = await sb.cli(['session', 'start']);
  expect(start.exitCode, start.stderr).toBe(0);
  const ids: Record<string, string> = {};
  for (const n of names) {
    // Say something, so there is a transcript to resume.
    expect(await deliverPrompt(sb.tmux, n, `/sim say hello from ${n}`)).toBe(true);
    await sb.waitForPane(n, new RegExp(`● hello from ${n}`));
    ids[n] = readAgentStatus(sb.project).sessions[n]!.claudeSessionId!;
  }
  return ids;
}

/** A stray agent on the backup that holds conversation `id` open; returns its pid. */
async function orphanHolding(sb: SimSandbox, id: string): Promise<number> {
  await sb.tmux.newSession({
    name: 'orphan',
    cwd: sb.project,
    env: { CLAUDE_CONFIG_DIR: sb.accountDir('backup'), SIM_HOOKS: '0', SIM_START_MS: '50' },
    command: [process.execPath, SIM_AGENT, '--resume', id],
  });
  await sb.waitForPane('orphan', /^❯/m);
  return agentPid(sb.tmux, 'orphan');
}

function state(sb: SimSandbox): Json {
  return JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')) as Json;
}

async function expectOn(sb: SimSandbox, name: string, account: string, id?: string) {
  const pid = await agentPid(sb.tmux, name);
  expect(processEnv(pid).CLAUDE_CONFIG_DIR).toBe(sb.accountDir(account));
  expect(processEnv(pid).CLAUDE_FAILOVER_ACCOUNT).toBe(account);
  if (id) expect(processArgs(pid).slice(-2)).toEqual(['--resume', id]);
  expect(processArgs(pid)).toContain('--dangerously-skip-permissions');
}

describe('swap', () => {
  it('moves every session to the backup, each resuming its own conversation', async () => {
    const names = ['ccl-0', 'ccl-1', 'ccl-2'];
    const sb = simSandbox({ sessions: 'ccl-{0..2}' });
    const ids = await pool(sb, names);
    const before = Object.fromEntries(
      names.map((n) => [n, readAgentStatus(sb.project).sessions[n]!.transcriptPath as string]),
    );

    const r = await sb.cli(['swap', '--reason', 'test', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ outcome: 'completed', from: 'primary', to: 'backup' });
    expect(out.sessions.map((s: Json) => [s.name, s.ready, s.fresh])).toEqual(
      names.map((n) => [n, true, false]),
    );
    for (const n of names) await expectOn(sb, n, 'backup', ids[n]);

    // The conversation goes on in the same transcript file.
    expect(await deliverPrompt(sb.tmux, 'ccl-1', '/sim say after the swap')).toBe(true);
    await sb.waitForPane('ccl-1', /● after the swap/);
    const lines = fs.readFileSync(before['ccl-1']!, 'utf8').trim().split('\n');
    expect(lines.some((l) => l.includes('hello from ccl-1'))).toBe(true);
    expect(lines.at(-1)).toContain('after the swap');

    const st = state(sb);
    expect(st.activeAccount).toBe('backup');
    expect(st.swapJournal).toBeNull();
    expect(st.lastSwap).toMatchObject({
      from: 'primary',
      to: 'backup',
      reason: 'test',
      outcome: 'completed',
      sessions: names,
    });
    expect((st.lastSwap as Json).durationMs).toBeGreaterThan(0);
    expect(st.swaps).toHaveLength(1);
    expect(Date.parse(st.cooldownUntil as string)).toBeGreaterThan(Date.now());
    // A manual swap does not mark the source exhausted.
    expect((st.accounts as Json).primary ?? {}).not.toHaveProperty(
      'exhaustedUntil',
      expect.any(String),
    );
    const events = readEvents(sb.stateDir).map((e) => e.event);
    expect(events).toEqual(expect.arrayContaining(['swap.started', 'swap.completed']));
  });

  it('two swaps started together: one swap and one clean "swap in progress" exit 75', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    await pool(sb, ['ccl-0', 'ccl-1']);
    const [a, b] = await Promise.all([sb.cli(['swap']), sb.cli(['swap'])]);
    expect([a.exitCode, b.exitCode].sort()).toEqual([0, 75]);
    const busy = a.exitCode === 75 ? a : b;
    expect(busy.stderr).toContain('swap in progress');
    expect(state(sb).swaps).toHaveLength(1);
    await expectOn(sb, 'ccl-0', 'backup');
  });

  it('--dry-run prints the plan and changes nothing', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    const ids = await pool(sb, ['ccl-0']);
    const stBefore = fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8');
    const pid = await agentPid(sb.tmux, 'ccl-0');
    const r = await sb.cli(['swap', '--dry-run', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      outcome: 'dry-run',
      from: 'primary',
      to: 'backup',
      sessions: [{ name: 'ccl-0', claudeSessionId: ids['ccl-0'] }],
    });
    expect(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')).toBe(stBefore);
    expect(await agentPid(sb.tmux, 'ccl-0')).toBe(pid);
  });

  it('marks a target that shows a login screen auth-error and tries the next account', async () => {
    const sb = simSandbox({
      sessions: 'ccl-{0..1}',
      accounts: ['primary', 'backup', 'spare'],
      stopTimeout: '1s',
    });
    const ids = await pool(sb, ['ccl-0', 'ccl-1']);
    fs.mkdirSync(path.join(sb.accountDir('backup'), 'sim'), { recursive: true });
    fs.writeFileSync(path.join(sb.accountDir('backup'), 'sim', 'login'), '');
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      outcome: 'completed',
      to: 'spare',
      tried: ['backup'],
    });
    for (const n of ['ccl-0', 'ccl-1']) await expectOn(sb, n, 'spare', ids[n]);
    const st = state(sb) as { accounts: Record<string, Json> };
    expect(st.accounts.backup!.authErrorAt).toEqual(expect.any(String));
    expect(readEvents(sb.stateDir)).toContainEqual(
      expect.objectContaining({ event: 'account.auth-error', account: 'backup' }),
    );
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    expect(status.accounts.find((a: Json) => a.name === 'backup').status).toBe('auth-error');
    const doctor = await sb.cli(['doctor']);
    expect(doctor.stdout).toMatch(/account backup login: marked auth-error/);

    // A new /login rewrites the credentials: the mark lifts by itself.
    fs.writeFileSync(path.join(sb.accountDir('backup'), '.credentials.json'), '{}', {
      mode: 0o600,
    });
    const after = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    expect(after.accounts.find((a: Json) => a.name === 'backup').status).toBe('available');
    // Without a credentials file (a token in agent.env, say), doctor --repair lifts it.
    fs.rmSync(path.join(sb.accountDir('backup'), '.credentials.json'));
    expect(JSON.parse((await sb.cli(['status', '--json'])).stdout).accounts[1].status).toBe(
      'auth-error',
    );
    expect((await sb.cli(['doctor', '--repair'])).stdout).toMatch(/cleared the auth-error mark/);
    expect(JSON.parse((await sb.cli(['status', '--json'])).stdout).accounts[1].status).toBe(
      'available',
    );
  });

  it('tries the next account when the target fails its first request (authentication_failed)', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', accounts: ['primary', 'backup', 'spare'] });
    const ids = await pool(sb, ['ccl-0']);
    sb.dispatched('T-9', 'ccl-0', 'sim-say: carried on\n');
    fs.mkdirSync(path.join(sb.accountDir('backup'), 'sim'), { recursive: true });
    fs.writeFileSync(path.join(sb.accountDir('backup'), 'sim', 'auth-failed'), '');
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ to: 'spare', tried: ['backup'] });
    await expectOn(sb, 'ccl-0', 'spare', ids['ccl-0']);
    await sb.waitForPane('ccl-0', /● carried on/);
  });

  it('puts the sessions back on the source when no target logs in (exit 3)', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', stopTimeout: '1s' });
    const ids = await pool(sb, ['ccl-0']);
    fs.mkdirSync(path.join(sb.accountDir('backup'), 'sim'), { recursive: true });
    fs.writeFileSync(path.join(sb.accountDir('backup'), 'sim', 'login'), '');
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode).toBe(3);
    expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'rolled-back', to: 'primary' });
    await expectOn(sb, 'ccl-0', 'primary', ids['ccl-0']);
    expect(state(sb)).toMatchObject({ activeAccount: 'primary', swapJournal: null });
  });

  it('re-prompts the task in flight, chooses the full resume in the summary dialog', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    const ids = await pool(sb, ['ccl-0']);
    // A task dispatched to ccl-0: its marker names the session.
    sb.dispatched('T-1', 'ccl-0', 'sim-say: resumed the task\n');
    // The backup shows Claude Code's "Resume from summary" dialog on a resume.
    fs.mkdirSync(path.join(sb.accountDir('backup'), 'sim'), { recursive: true });
    fs.writeFileSync(path.join(sb.accountDir('backup'), 'sim', 'resume-dialog'), '');

    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sessions[0]).toMatchObject({
      ready: true,
      task: 'T-1',
      prompted: true,
    });
    await sb.waitForPane('ccl-0', /Resuming the full session/);
    await sb.waitForPane('ccl-0', /● resumed the task/);
    await expectOn(sb, 'ccl-0', 'backup', ids['ccl-0']);
    expect(await sb.pane('ccl-0')).toContain('You were moved to another account');
  });

  it('copies a transcript the target cannot reach; starts fresh with the task when it is gone', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    const ids = await pool(sb, ['ccl-0', 'ccl-1']);
    // The backup lost its link to the shared tree: it has a projects/ dir of its own.
    const link = path.join(sb.accountDir('backup'), 'projects');
    fs.rmSync(link);
    fs.mkdirSync(link);
    // ccl-1's transcript is gone everywhere (moved away by an operator).
    const t1 = readAgentStatus(sb.project).sessions['ccl-1']!.transcriptPath as string;
    fs.renameSync(t1, path.join(sb.home, 'moved-away.jsonl'));
    sb.dispatched('T-2', 'ccl-1', 'sim-say: started the task again\n');

    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.sessions.map((s: Json) => [s.name, s.fresh, s.ready])).toEqual([
      ['ccl-0', false, true],
      ['ccl-1', true, true],
    ]);
    // setup's relink merged the stray projects/ dir back: ccl-0 resumes either way.
    await expectOn(sb, 'ccl-0', 'backup', ids['ccl-0']);
    expect(processArgs(await agentPid(sb.tmux, 'ccl-1'))).not.toContain('--resume');
    // The fresh session got its task with the dispatch prompt.
    await sb.waitForPane('ccl-1', /● started the task again/);
    expect(await sb.pane('ccl-1')).toContain('Read the task in');
  });

  it('types the resume prompt only once the agent says it is ready (SessionStart), not when the screen looks ready', async () => {
    // The prompt shows, and takes input, 2 s before the SessionStart hook runs.
    const sb = simSandbox({ sessions: 'ccl-0', agentEnv: { SIM_SESSION_START_DELAY_MS: '2000' } });
    await pool(sb, ['ccl-0']);
    sb.dispatched('T-3', 'ccl-0', 'sim-say: carried on after the move\n');
    const since = new Date().toISOString();
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sessions[0]).toMatchObject({ task: 'T-3', prompted: true });
    await sb.waitForPane('ccl-0', /● carried on after the move/);
    const signals = readSignals(sb.stateDir, 'ccl-0', since);
    const resumed = signals.findIndex((x) => x.event === 'SessionStart' && x.source === 'resume');
    const prompt = signals.findIndex((x) => x.event === 'UserPromptSubmit');
    expect(resumed).toBeGreaterThanOrEqual(0);
    expect(prompt).toBeGreaterThan(resumed);
  });

  it("does not take the stopped agent's late SessionStart for the new agent's", async () => {
    const sb = simSandbox({ sessions: 'ccl-0', agentEnv: { SIM_SESSION_START_DELAY_MS: '2000' } });
    await pool(sb, ['ccl-0']);
    sb.dispatched('T-3', 'ccl-0', 'sim-say: carried on after the move\n');
    const since = new Date().toISOString();
    // The agent on primary reports its start just as the swap begins (a swap right after a
    // start): moments before the relaunch, on the account being left.
    appendSignal(sb.stateDir, 'ccl-0', {
      ts: new Date().toISOString(),
      event: 'SessionStart',
      account: 'primary',
      claudeSessionId: null,
      transcriptPath: null,
      error: null,
      message: null,
      source: 'startup',
    });
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sessions[0]).toMatchObject({ task: 'T-3', prompted: true });
    await sb.waitForPane('ccl-0', /● carried on after the move/);
    const signals = readSignals(sb.stateDir, 'ccl-0', since);
    const resumed = signals.findIndex((x) => x.event === 'SessionStart' && x.source === 'resume');
    const prompt = signals.findIndex((x) => x.event === 'UserPromptSubmit');
    expect(resumed).toBeGreaterThanOrEqual(0);
    expect(prompt).toBeGreaterThan(resumed);
  });

  it('types the resume prompt again until Claude Code confirms it, and it goes in once', async () => {
    // A resumed agent loses the Enters of its first 1.5 s (the race seen with 2.1.332).
    const sb = simSandbox({
      sessions: 'ccl-{0..1}',
      agentEnv: { SIM_RESUME_DEAF_MS: '1500' },
      confirmTimeout: '2500ms',
    });
    await pool(sb, ['ccl-0', 'ccl-1']);
    sb.dispatched('T-3', 'ccl-1', 'sim-say: carried on after the move\n');
    const since = new Date().toISOString();
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sessions[1]).toMatchObject({ task: 'T-3', prompted: true });
    await sb.waitForPane('ccl-1', /● carried on after the move/);
    const delivered = readEvents(sb.stateDir).find(
      (e) => e.ts > since && e.event === 'task.delivered' && e.task === 'T-3',
    );
    expect(delivered).toMatchObject({
      session: 'ccl-1',
      by: 'swap',
      prompt: 'resume',
      retried: true,
    });
    // In the transcript exactly once: typed again only because it never went in.
    const file = readAgentStatus(sb.project).sessions['ccl-1']!.transcriptPath as string;
    const prompts = fs
      .readFileSync(file, 'utf8')
      .split('\n')
      .filter(
        (l) => l.includes('"type":"user"') && l.includes('You were moved to another account'),
      );
    expect(prompts).toHaveLength(1);
    expect((state(sb).sessions as Json)['ccl-1']).toMatchObject({ undelivered: null });
  });

  it('a resume prompt never confirmed is owed: the task stays in flight and the next dispatch delivers it', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', confirmTimeout: '1s' });
    await pool(sb, ['ccl-0']);
    sb.dispatched('T-4', 'ccl-0', 'sim-say: finished after all\n');
    const deaf = path.join(sb.accountDir('backup'), 'sim', 'deaf');
    fs.mkdirSync(path.dirname(deaf), { recursive: true });
    fs.writeFileSync(deaf, '');
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sessions[0]).toMatchObject({ task: 'T-4', prompted: false });
    const inbox = path.join(sb.project, '.agent-queue', 'inbox');
    expect(fs.readdirSync(inbox).sort()).toEqual(['T-4.md', 'T-4.md.dispatched']);
    expect((state(sb).sessions as Json)['ccl-0']).toMatchObject({
      undelivered: { task: 'T-4', prompt: 'resume', by: 'swap', tries: 1 },
    });
    expect(readEvents(sb.stateDir).some((e) => e.event === 'task.undelivered')).toBe(true);

    fs.rmSync(deaf);
    const d = await sb.cli(['dispatch', '--json']);
    expect(d.exitCode, d.stderr).toBe(0);
    expect(JSON.parse(d.stdout).redelivered).toMatchObject([
      { task: 'T-4', session: 'ccl-0', prompt: 'resume', outcome: 'delivered' },
    ]);
    await sb.waitForPane('ccl-0', /● finished after all/);
    expect(await sb.pane('ccl-0')).toContain('You were moved to another account');
    expect((state(sb).sessions as Json)['ccl-0']).toMatchObject({ undelivered: null });
  });

  it('a conversation open in another process comes back as a copy: an event, and the copy is recorded', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    const ids = await pool(sb, ['ccl-0']);
    // An orphan on the backup holds ccl-0's conversation open (a stray process).
    const orphanPid = await orphanHolding(sb, ids['ccl-0']!);
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const copied = readEvents(sb.stateDir).find((e) => e.event === 'session.resume-copied');
    expect(copied).toMatchObject({
      session: 'ccl-0',
      account: 'backup',
      requested: ids['ccl-0'],
      holders: [{ pid: orphanPid }],
    });
    const copy = copied!.claudeSessionId as string;
    expect(copy).toMatch(/^[0-9a-f-]{36}$/);
    expect(copy).not.toBe(ids['ccl-0']);
    // The copy is the conversation from now on, never taken for the old one.
    expect((state(sb).sessions as Json)['ccl-0']).toMatchObject({ claudeSessionId: copy });
  });

  it('a conversation still open in another process, resumed without a copy, is reported with that pid', async () => {
    // Claude Code 2.1.328/2.1.332 resume interactively without a copy: both write one file.
    const sb = simSandbox({ sessions: 'ccl-0', agentEnv: { SIM_RESUME_COPY: '0' } });
    const ids = await pool(sb, ['ccl-0']);
    const orphanPid = await orphanHolding(sb, ids['ccl-0']!);
    const r = await sb.cli(['swap', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const events = readEvents(sb.stateDir);
    expect(events.some((e) => e.event === 'session.resume-copied')).toBe(false);
    expect(events.find((e) => e.event === 'session.resume-shared')).toMatchObject({
      session: 'ccl-0',
      claudeSessionId: ids['ccl-0'],
      holders: [{ pid: orphanPid }],
    });
    expect((state(sb).sessions as Json)['ccl-0']).toMatchObject({ claudeSessionId: ids['ccl-0'] });
  });
});
