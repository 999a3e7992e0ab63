/**
 * Reliability of the swap: a swap killed (SIGKILL, nothing cleaned up) right after each step
 * it journals is finished, or rolled back, by the next run, whichever command that is (cron
 * runs `tick`; an operator may run `swap` or `quota check`), and every session ends up
 * running: a live agent on the right account, resuming its own conversation, answering.
 *
 * Fault injection: `CLAUDE_FAILOVER_FAULT=swap:<step>` (see `faultPoint` in src/lib/swap/swap-run.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliverPrompt } from '../helpers/type-prompt.js';
import { readAgentStatus } from '../../src/lib/queue/status-file.js';
import { readEvents } from '../../src/lib/core/events.js';
import { isLocked } from '../../src/lib/core/lock.js';
import {
  agentPid,
  processArgs,
  processEnv,
  simSandbox,
  waitFor,
  type SimSandbox,
} from '../helpers/sim.js';

type Json = Record<string, unknown>;

const SESSIONS = ['ccl-0', 'ccl-1'];
const RESUME_WORDS = 'You were moved to another account';

/** Two sessions on primary, each with a conversation, and a task in flight on ccl-0. */
async function pool(sb: SimSandbox): Promise<Record<string, string>> {
  expect((await sb.cli(['setup'])).exitCode).toBe(0);
  const start = await sb.cli(['session', 'start']);
  expect(start.exitCode, start.stderr).toBe(0);
  const ids: Record<string, string> = {};
  for (const n of SESSIONS) {
    expect(await deliverPrompt(sb.tmux, n, `/sim say hello from ${n}`)).toBe(true);
    await sb.waitForPane(n, new RegExp(`● hello from ${n}`));
    ids[n] = await waitFor(
      () => readAgentStatus(sb.project).sessions[n]?.claudeSessionId,
      `the session id of ${n}`,
    );
  }
  sb.dispatched('T-1', 'ccl-0', 'sim-say: carried on with T-1\n');
  return ids;
}

function state(sb: SimSandbox): Json {
  return JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')) as Json;
}

/** Every session runs a live agent on `account`, resuming its own conversation, and answers. */
async function expectAllRunning(sb: SimSandbox, account: string, ids: Record<string, string>) {
  for (const n of SESSIONS) {
    const pid = await agentPid(sb.tmux, n);
    expect(processEnv(pid).CLAUDE_FAILOVER_ACCOUNT).toBe(account);
    expect(processEnv(pid).CLAUDE_CONFIG_DIR).toBe(sb.accountDir(account));
    expect(processArgs(pid).slice(-2)).toEqual(['--resume', ids[n]]);
    const word = `alive-${n}-${Date.now()}`;
    await waitFor(() => deliverPrompt(sb.tmux, n, `/sim say ${word}`), `a prompt into ${n}`);
    await sb.waitForPane(n, new RegExp(`● ${word}`));
  }
  const status = JSON.parse((await sb.cli(['status', '--json'])).stdout) as {
    activeAccount: string;
    sessions: Json[];
  };
  expect(status.activeAccount).toBe(account);
  for (const s of status.sessions) {
    expect(s.account, String(s.name)).toBe(account);
    expect(['idle', 'working'], String(s.name)).toContain(s.state);
  }
}

/** How many times the resume prompt reached ccl-0's conversation. */
function resumePrompts(sb: SimSandbox, id: string): number {
  const file = fs
    .readdirSync(path.join(sb.home, 'shared', 'projects'), { recursive: true, withFileTypes: true })
    .find((e) => e.name === `${id}.jsonl`);
  const text = fs.readFileSync(path.join(file!.parentPath, file!.name), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type?: string; message?: { content?: unknown } })
    .filter(
      (l) =>
        l.type === 'user' &&
        typeof l.message?.content === 'string' &&
        l.message.content.includes(RESUME_WORDS),
    ).length;
}

/** Kills a swap right after `step`, then waits until its swap lock is stale. */
async function killedSwap(sb: SimSandbox, step: string): Promise<void> {
  const killed = await sb.cli(['swap'], { env: { CLAUDE_FAILOVER_FAULT: `swap:${step}` } });
  expect(killed.exitCode, killed.stderr).not.toBe(0);
  expect(killed.stdout).toBe('');
  expect((state(sb).swapJournal as Json).step).toBe(step);
  // While the journal is open, watch keeps its hands off.
  const w = JSON.parse((await sb.cli(['watch', '--json'])).stdout) as { actions: Json[] };
  expect(w.actions.every((a) => a.action === 'skipped')).toBe(true);
  const lock = path.join(sb.stateDir, 'swap');
  await waitFor(async () => !(await isLocked(lock, 2000)), 'the swap lock to go stale', 10_000);
}

type NextRun = 'swap' | 'quota check' | 'tick';

/** Runs the next command once; returns its exit code and what it says about the swap. */
async function nextRun(sb: SimSandbox, run: NextRun): Promise<{ exitCode: number; said: string }> {
  const r = await sb.cli([...run.split(' '), '--json']);
  const out = JSON.parse(r.stdout) as Json;
  if (run === 'swap') return { exitCode: r.exitCode, said: String(out.outcome) };
  if (run === 'quota check') return { exitCode: r.exitCode, said: String(out.decision) };
  const steps = out.steps as Array<{ step: string; summary: string }>;
  return { exitCode: r.exitCode, said: steps.find((s) => s.step === 'quota')!.summary };
}

const FINISHED: Record<NextRun, string> = {
  swap: 'completed',
  'quota check': 'resumed-swap',
  tick: 'resumed-swap',
};

const STEPS: Array<[string, NextRun]> = [
  ['planned', 'tick'],
  ['checkpointed', 'quota check'],
  ['stopped', 'swap'],
  ['relinked', 'tick'],
  ['relaunched', 'quota check'],
  ['ready', 'swap'],
  ['prompted', 'tick'],
];

describe.concurrent('a swap killed at each of its steps', () => {
  it.each(STEPS)(
    'killed right after "%s": the next run (%s) finishes it and every session runs',
    async (step, run) => {
      const sb = simSandbox({ sessions: 'ccl-{0..1}' });
      const ids = await pool(sb);
      await killedSwap(sb, step);

      const next = await nextRun(sb, run);
      expect(next).toEqual({ exitCode: 0, said: FINISHED[run] });
      const st = state(sb);
      expect(st).toMatchObject({ swapJournal: null, activeAccount: 'backup', pendingSwap: null });
      expect(st.swaps).toEqual([
        expect.objectContaining({ from: 'primary', to: 'backup', outcome: 'completed' }),
      ]);
      const events = readEvents(sb.stateDir).map((e) => e.event);
      // Started once, resumed once, completed once: the log has the whole story.
      expect(events.filter((e) => e === 'swap.started')).toHaveLength(1);
      expect(events.filter((e) => e === 'swap.resumed')).toHaveLength(1);
      expect(events.filter((e) => e === 'swap.completed')).toHaveLength(1);

      await expectAllRunning(sb, 'backup', ids);
      // The task in flight was told to carry on, once: not lost, not sent twice.
      await sb.waitForPane('ccl-0', /● carried on with T-1/);
      expect(resumePrompts(sb, ids['ccl-0']!)).toBe(1);
    },
  );

  it.each<[string, NextRun]>([
    ['stopped', 'quota check'],
    ['relaunched', 'tick'],
  ])(
    'killed right after "%s" on a target that cannot log in: the next run (%s) rolls it back and every session runs',
    async (step, run) => {
      const sb = simSandbox({ sessions: 'ccl-{0..1}', stopTimeout: '1s' });
      const ids = await pool(sb);
      fs.mkdirSync(path.join(sb.accountDir('backup'), 'sim'), { recursive: true });
      fs.writeFileSync(path.join(sb.accountDir('backup'), 'sim', 'login'), '');
      await killedSwap(sb, step);

      const next = await nextRun(sb, run);
      // Nothing can take the sessions: exit 3, and they are back where they were.
      expect(next).toEqual({ exitCode: 3, said: 'no-usable-account' });
      const st = state(sb) as Json & { accounts: Record<string, Json> };
      expect(st).toMatchObject({ swapJournal: null, activeAccount: 'primary' });
      expect(st.swaps).toEqual([
        expect.objectContaining({ from: 'primary', to: 'primary', outcome: 'rolled-back' }),
      ]);
      expect(st.accounts.backup!.authErrorAt).toEqual(expect.any(String));
      expect(readEvents(sb.stateDir).map((e) => e.event)).toEqual(
        expect.arrayContaining(['swap.resumed', 'account.auth-error', 'swap.failed']),
      );

      await expectAllRunning(sb, 'primary', ids);
      await sb.waitForPane('ccl-0', /● carried on with T-1/);
      expect(resumePrompts(sb, ids['ccl-0']!)).toBe(1);
    },
  );
});
