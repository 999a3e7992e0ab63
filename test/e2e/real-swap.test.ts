/**
 * The failover end to end with the real Claude Code CLI against the loopback fake API:
 * three sessions on `primary`, a 429 unified-limit answer to one of them, and one `quota
 * check` that moves all three to `backup`, each resuming its own conversation in the same
 * transcript file. Also: checkpoints read transcripts the real CLI wrote, tool call included.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAgentStatus } from '../../src/lib/queue/status-file.js';
import { scanTranscriptTail } from '../../src/lib/claude/transcript.js';
import { agentPid, processArgs, processEnv } from '../helpers/sim.js';
import {
  CLAUDE_VERSION,
  closeRealSandboxes,
  createRealSandbox,
  generateRealTranscript,
  promptAndWait,
  readTranscript,
  lineText,
  waitFor,
  waitForPrompt,
  waitForSignal,
  type RealSandbox,
} from '../helpers/real-claude.js';

const SESSIONS = ['rs-1', 'rs-2', 'rs-3'];
let sb: RealSandbox;

beforeAll(async () => {
  sb = await createRealSandbox({
    accounts: ['primary', 'backup'],
    sessions: SESSIONS,
    extraYaml: 'quota: { reactivateCooldown: 5m }',
  });
  expect((await sb.cli(['setup'])).exitCode).toBe(0);
  const r = await sb.cli(['session', 'start']);
  expect(r.exitCode, r.stderr).toBe(0);
  for (const s of SESSIONS) await waitForPrompt(sb.tmux, s);
});

afterAll(async () => {
  // Kills the tmux server, waits for the agents to exit, removes the sandbox.
  await closeRealSandboxes();
});

describe.sequential(`failover with the real Claude Code CLI ${CLAUDE_VERSION}`, () => {
  const ids: Record<string, string> = {};
  const transcripts: Record<string, string> = {};

  it('one quota check moves all three sessions to backup on a 429, each with --resume <own id>', async () => {
    sb.setMode('primary', 'ok');
    sb.setMode('backup', 'ok');
    for (const s of SESSIONS) {
      await promptAndWait(sb, s, `hello from ${s}`);
      const st = readAgentStatus(sb.project).sessions[s]!;
      ids[s] = st.claudeSessionId!;
      transcripts[s] = st.transcriptPath!;
      expect(fs.existsSync(transcripts[s]!)).toBe(true);
    }
    expect(new Set(Object.values(ids)).size).toBe(3);

    // A checkpoint of the live sessions reads what the real CLI wrote.
    const cp = await sb.cli(['checkpoint', '--json']);
    expect(cp.exitCode, cp.stderr).toBe(0);
    const latest = JSON.parse(
      fs.readFileSync(path.join(sb.stateDir, 'checkpoints', 'rs-1', 'latest.json'), 'utf8'),
    );
    expect(latest).toMatchObject({
      session: 'rs-1',
      account: 'primary',
      claudeSessionId: ids['rs-1'],
      lastAssistantText: expect.stringContaining('ECHO: hello from rs-1'),
    });

    // The account hits its limit: the next answer is a 429 with the unified headers.
    sb.setMode('primary', 'limit');
    const signals = await promptAndWait(sb, 'rs-2', 'this one hits the limit');
    expect(signals).toContainEqual(
      expect.objectContaining({ event: 'StopFailure', error: 'rate_limit' }),
    );

    const r = await sb.cli(['quota', 'check', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({
      decision: 'swapped',
      limit: { account: 'primary', trigger: { session: 'rs-2' } },
      swap: { outcome: 'completed', from: 'primary', to: 'backup' },
    });
    for (const s of SESSIONS) {
      const pid = await agentPid(sb.tmux, s);
      expect(processEnv(pid).CLAUDE_CONFIG_DIR).toBe(sb.accounts[1]!.configDir);
      expect(processArgs(pid).slice(-2)).toEqual(['--resume', ids[s]]);
      expect(processArgs(pid)).toContain('--dangerously-skip-permissions');
      await waitForPrompt(sb.tmux, s);
    }
    const state = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    expect(state.activeAccount).toBe('backup');
    expect(Date.parse(state.accounts.primary.exhaustedUntil)).toBeGreaterThan(Date.now());
  });

  it('the conversation continues in the same transcript file, now through backup', async () => {
    const before = readTranscript(transcripts['rs-1']!).length;
    const since = new Date().toISOString();
    await promptAndWait(sb, 'rs-1', 'still there after the swap?');
    await waitForSignal(sb.stateDir, 'rs-1', (s) => s.event === 'Stop', { since });
    await waitFor(
      () =>
        readTranscript(transcripts['rs-1']!)
          .slice(before)
          .some((l) => lineText(l).includes('ECHO: still there after the swap?')),
      'the answer in the same transcript file',
      15_000,
    );
    const lines = readTranscript(transcripts['rs-1']!);
    expect(lines.some((l) => lineText(l).includes('hello from rs-1'))).toBe(true);
    // The fake API saw it with the backup account's token.
    const last = sb.api.messageRequests().at(-1)!;
    expect(last.token).toBe(sb.accounts[1]!.token);
  });

  it('a second quota check inside the cooldown does nothing', async () => {
    const r = await sb.cli(['quota', 'check', '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).decision).toBe('suppressed');
    const state = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    expect(state.swaps).toHaveLength(1);
  });
});

describe(`transcripts written by the real CLI ${CLAUDE_VERSION}`, () => {
  it('a checkpoint finds the last tool call (Bash echo hi) and the last answer', async () => {
    const t = await generateRealTranscript();
    const tail = scanTranscriptTail(t.transcriptPath);
    expect(tail.claudeSessionId).toBe(t.sessionId);
    expect(tail.lastToolCall).toMatchObject({ name: 'Bash' });
    expect(JSON.stringify(tail.lastToolCall!.input)).toContain('echo hi');
    expect(tail.lastAssistantText?.text).toBeTruthy();
    expect(tail.lastTimestamp).toBeTruthy();
  });
});
