/** How a swap ends, as data: the record, the state, the result. Pure, fixed clock. */
import { describe, expect, it } from 'vitest';
import { sessionState, type SwapJournal } from '../../src/lib/core/state-schema.js';
import { afterTargetFailed, type JournalSession } from '../../src/lib/swap/journal.js';
import {
  applySwapEnd,
  sessionIdAfterSwap,
  sessionResults,
  swapRecord,
  swapResult,
  type AgentSeen,
  type SwapEnd,
} from '../../src/lib/swap/outcome.js';
import { NOW, plannedJournal, poolConfig, poolState } from './swap-fixtures.js';

const ID = (n: number) => `0000000${n}-0000-4000-8000-000000000000`;
const COPY = 'ffffffff-0000-4000-8000-000000000000';
const HOOK = 'eeeeeeee-0000-4000-8000-000000000000';

const end = (over: Partial<SwapEnd> = {}): SwapEnd => ({
  rolledBack: false,
  resumed: false,
  durationMs: 4200,
  at: NOW,
  ...over,
});

/** A swap to backup that got to the end: ccl-0 prompted with T-1, ccl-1 started fresh. */
async function prompted(): Promise<SwapJournal> {
  const j = plannedJournal(await poolConfig());
  return {
    ...j,
    step: 'prompted',
    sessions: j.sessions.map((s, i) => ({
      ...s,
      claudeSessionId: ID(i),
      stopped: true,
      relaunched: true,
      ready: i !== 2,
      fresh: i === 1,
      task: i === 0 ? { id: 'T-1', path: '/q/T-1.md' } : null,
      prompted: i === 0,
    })),
  };
}

describe('sessionIdAfterSwap', () => {
  const session = (claudeSessionId: string | null, fresh: boolean): JournalSession => ({
    name: 'ccl-0',
    claudeSessionId,
    cwd: null,
    task: null,
    stopped: true,
    relaunched: true,
    ready: true,
    prompted: false,
    fresh,
  });

  it('takes what the agent reports, else the id it was resumed with, else the hooks', () => {
    expect(sessionIdAfterSwap(session(ID(0), false), COPY, HOOK)).toBe(COPY);
    expect(sessionIdAfterSwap(session(ID(0), false), null, HOOK)).toBe(ID(0));
    expect(sessionIdAfterSwap(session(null, false), null, HOOK)).toBe(HOOK);
    expect(sessionIdAfterSwap(session(null, false), null, null)).toBeNull();
  });

  it('a session started fresh never goes back to the id it gave up on', () => {
    expect(sessionIdAfterSwap(session(ID(0), true), COPY, HOOK)).toBe(COPY);
    expect(sessionIdAfterSwap(session(ID(0), true), null, HOOK)).toBe(HOOK);
    expect(sessionIdAfterSwap(session(ID(0), true), null, null)).toBeNull();
  });
});

describe('the end of a swap', () => {
  it('a completed swap: the record, every session on the target, the cooldown, no journal', async () => {
    const config = await poolConfig();
    const j = await prompted();
    const st = poolState();
    st.swapJournal = j;
    st.noUsableAccountSince = '2026-03-02T08:00:00.000Z';
    st.pendingSwap = {
      account: 'primary',
      reason: 'limit',
      trigger: null,
      requestedAt: NOW.toISOString(),
      proactive: false,
    };
    const record = swapRecord(j, end());
    expect(record).toEqual({
      from: 'primary',
      to: 'backup',
      at: NOW.toISOString(),
      reason: 'limit',
      trigger: null,
      sessions: ['ccl-0', 'ccl-1', 'ccl-2'],
      durationMs: 4200,
      outcome: 'completed',
    });
    const seen = new Map<string, AgentSeen>([
      ['ccl-0', { screen: 'ready', claudeSessionId: COPY }],
    ]);
    applySwapEnd(st, config, j, record, seen, new Map([['ccl-1', HOOK]]));
    expect(['ccl-0', 'ccl-1', 'ccl-2'].map((n) => sessionState(st, n))).toMatchObject([
      { account: 'backup', launchedAt: NOW.toISOString(), claudeSessionId: COPY },
      { account: 'backup', launchedAt: NOW.toISOString(), claudeSessionId: HOOK },
      { account: 'backup', launchedAt: NOW.toISOString(), claudeSessionId: ID(2) },
    ]);
    expect(st.lastSwap).toEqual(record);
    expect(st.cooldownUntil).toBe(
      new Date(NOW.getTime() + config.quota.reactivateCooldown).toISOString(),
    );
    expect(st).toMatchObject({ noUsableAccountSince: null, pendingSwap: null, swapJournal: null });
  });

  it('a rollback: recorded as such, no cooldown, the no-usable-account episode goes on', async () => {
    const config = await poolConfig();
    const j = afterTargetFailed(await prompted(), 'primary');
    const st = poolState();
    st.noUsableAccountSince = '2026-03-02T08:00:00.000Z';
    const record = swapRecord(j, end({ rolledBack: true }));
    expect(record).toMatchObject({ from: 'primary', to: 'primary', outcome: 'rolled-back' });
    applySwapEnd(st, config, j, record, new Map(), new Map());
    expect(st).toMatchObject({
      cooldownUntil: null,
      noUsableAccountSince: '2026-03-02T08:00:00.000Z',
      swapJournal: null,
    });
    expect(sessionState(st, 'ccl-0').account).toBe('primary');
  });

  it('keeps the last swap.historyMax records', async () => {
    const config = await poolConfig();
    const j = await prompted();
    const st = poolState();
    for (const ms of [1, 2, 3]) {
      applySwapEnd(st, config, j, swapRecord(j, end({ durationMs: ms })), new Map(), new Map());
    }
    expect(st.swaps.map((r) => r.durationMs)).toEqual([2, 3]);
  });

  it('the result: each session as the journal and the settle left it', async () => {
    const j = await prompted();
    const seen = new Map<string, AgentSeen>([
      ['ccl-0', { screen: 'ready', claudeSessionId: COPY }],
      ['ccl-2', { screen: 'trust', claudeSessionId: null }],
    ]);
    const sessions = sessionResults(j, seen);
    expect(sessions).toEqual([
      {
        name: 'ccl-0',
        claudeSessionId: ID(0),
        fresh: false,
        ready: true,
        screen: 'ready',
        task: 'T-1',
        prompted: true,
      },
      {
        name: 'ccl-1',
        claudeSessionId: ID(1),
        fresh: true,
        ready: true,
        screen: null,
        task: null,
        prompted: false,
      },
      {
        name: 'ccl-2',
        claudeSessionId: ID(2),
        fresh: false,
        ready: false,
        screen: 'trust',
        task: null,
        prompted: false,
      },
    ]);
    expect(swapResult(j, sessions, end({ resumed: true }))).toEqual({
      outcome: 'completed',
      from: 'primary',
      to: 'backup',
      reason: 'limit',
      resumed: true,
      tried: [],
      sessions,
      durationMs: 4200,
    });
    const back = afterTargetFailed(j, 'primary');
    expect(swapResult({ ...back, from: null }, [], end({ rolledBack: true }))).toMatchObject({
      outcome: 'rolled-back',
      from: '',
      to: 'primary',
      tried: ['backup'],
    });
  });
});
