/** The swap's plan: which sessions move, to which account, from which. Pure, fixed clock. */
import { describe, expect, it } from 'vitest';
import { ImpossibleError, UsageError } from '../../src/lib/core/errors.js';
import { accountState, sessionState } from '../../src/lib/core/state-schema.js';
import { exhaustionEnd, newJournal, planSwap, sessionsOn } from '../../src/lib/swap/plan.js';
import {
  EARLIER,
  LATER,
  markAuthError,
  markExhausted,
  NOW,
  poolConfig,
  poolState,
} from './swap-fixtures.js';

const names = (sessions: Array<{ name: string }>) => sessions.map((s) => s.name);

describe('planSwap: the target', () => {
  it('takes the enabled account with the lowest priority number, never the source', async () => {
    const config = await poolConfig();
    // `off` has priority 0 but is disabled.
    expect(planSwap({ config }, poolState(), {}, NOW)).toMatchObject({
      from: 'primary',
      to: 'backup',
      reason: 'manual',
    });
    const st = poolState();
    st.activeAccount = 'backup';
    expect(planSwap({ config }, st, {}, NOW)).toMatchObject({ from: 'backup', to: 'primary' });
  });

  it('skips exhausted and auth-error accounts; an exhaustion that has ended counts no more', async () => {
    const config = await poolConfig();
    const st = poolState();
    markExhausted(st, 'backup');
    expect(planSwap({ config }, st, {}, NOW).to).toBe('spare');
    markAuthError(st, 'spare');
    expect(planSwap({ config }, st, {}, NOW).to).toBeNull();
    markExhausted(st, 'backup', EARLIER);
    expect(planSwap({ config }, st, {}, NOW).to).toBe('backup');
  });

  it('skips an account over swapAt; between equals, the one with more headroom', async () => {
    const config = await poolConfig();
    const st = poolState();
    const usage = (usedPercentage: number) => ({
      fiveHour: { usedPercentage, resetsAt: LATER },
      sevenDay: null,
      updatedAt: EARLIER,
    });
    accountState(st, 'backup').usage = usage(99);
    expect(planSwap({ config }, st, {}, NOW).to).toBe('spare');
    // Its window reset before now: back to zero.
    accountState(st, 'backup').usage = {
      ...usage(99),
      fiveHour: { usedPercentage: 99, resetsAt: EARLIER },
    };
    expect(planSwap({ config }, st, {}, NOW).to).toBe('backup');
    const even = { ...config, accounts: config.accounts.map((a) => ({ ...a, priority: 5 })) };
    accountState(st, 'backup').usage = usage(40);
    accountState(st, 'spare').usage = usage(10);
    expect(planSwap({ config: even }, st, {}, NOW).to).toBe('spare');
  });

  it('no usable account: no target, no error', async () => {
    const config = await poolConfig();
    const st = poolState();
    markExhausted(st, 'backup');
    markExhausted(st, 'spare');
    expect(planSwap({ config }, st, { reason: 'limit' }, NOW)).toMatchObject({
      from: 'primary',
      to: null,
      reason: 'limit',
    });
  });

  it('--to is taken as given when usable, whatever its priority', async () => {
    const config = await poolConfig();
    expect(planSwap({ config }, poolState(), { to: 'spare' }, NOW).to).toBe('spare');
    expect(planSwap({ config }, poolState(), { from: 'backup', to: 'primary' }, NOW)).toMatchObject(
      { from: 'backup', to: 'primary' },
    );
  });

  it('--to refuses the source, an unknown, disabled, auth-error or exhausted account', async () => {
    const config = await poolConfig();
    const st = poolState();
    markAuthError(st, 'backup');
    markExhausted(st, 'spare');
    const plan = (to: string) => () => planSwap({ config }, st, { to }, NOW);
    expect(plan('primary')).toThrow(UsageError);
    expect(plan('nobody')).toThrow(UsageError);
    expect(plan('off')).toThrow(new ImpossibleError('--to off: the account is disabled'));
    expect(plan('backup')).toThrow(/auth error/);
    expect(plan('spare')).toThrow(
      new ImpossibleError(`--to spare: the account is exhausted until ${LATER}`),
    );
    expect(() => planSwap({ config }, st, { from: 'nobody' }, NOW)).toThrow(UsageError);
  });
});

describe('sessionsOn: the sessions that move', () => {
  it('takes the launched sessions on the source; stopped, degraded and never launched stay', async () => {
    const config = await poolConfig();
    const st = poolState();
    expect(names(sessionsOn({ config }, st, 'primary'))).toEqual(['ccl-0', 'ccl-1', 'ccl-2']);
    sessionState(st, 'ccl-0').stopped = true;
    sessionState(st, 'ccl-1').degraded = true;
    sessionState(st, 'ccl-2').launchedAt = null;
    expect(sessionsOn({ config }, st, 'primary')).toEqual([]);
  });

  it('a session without an account runs on the active one; others stay where they are', async () => {
    const config = await poolConfig();
    const st = poolState();
    sessionState(st, 'ccl-0').account = null;
    sessionState(st, 'ccl-1').account = 'backup';
    expect(names(sessionsOn({ config }, st, 'primary'))).toEqual(['ccl-0', 'ccl-2']);
    expect(names(planSwap({ config }, st, { from: 'backup' }, NOW).sessions)).toEqual(['ccl-1']);
    st.activeAccount = 'spare';
    expect(names(sessionsOn({ config }, st, 'spare'))).toEqual(['ccl-0']);
  });
});

describe('the journal a swap starts with', () => {
  it('holds the plan and nothing done yet', async () => {
    const config = await poolConfig();
    const plan = planSwap({ config }, poolState(), { reason: 'limit' }, NOW);
    const trigger = { session: 'ccl-1', pattern: 'limit', snippet: 'limit reached' };
    const j = newJournal({ ...plan, to: plan.to! }, { id: 'x', pid: 7, now: NOW, trigger });
    expect(j).toMatchObject({
      from: 'primary',
      to: 'backup',
      reason: 'limit',
      trigger,
      step: 'planned',
      startedAt: NOW.toISOString(),
      tried: [],
    });
    expect(j.sessions.map((s) => s.name)).toEqual(['ccl-0', 'ccl-1', 'ccl-2']);
    expect(j.sessions.every((s) => !s.stopped && !s.relaunched && !s.prompted && !s.fresh)).toBe(
      true,
    );
  });

  it('marks the source exhausted until the reset, the default span, or not at all', async () => {
    const config = await poolConfig();
    expect(exhaustionEnd(config, LATER, NOW)).toBe(LATER);
    expect(exhaustionEnd(config, null, NOW)).toBe(
      new Date(NOW.getTime() + config.quota.defaultExhaustion).toISOString(),
    );
    expect(exhaustionEnd(config, undefined, NOW)).toBeUndefined();
  });
});
