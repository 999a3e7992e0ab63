/** Where the sessions go when a target does not log in. Pure, fixed clock. */
import { describe, expect, it } from 'vitest';
import { swapJournalSchema } from '../../src/lib/core/state-schema.js';
import { afterTargetFailed, goingBack, nextStep } from '../../src/lib/swap/journal.js';
import { fallBackTarget } from '../../src/lib/swap/plan.js';
import {
  markAuthError,
  markExhausted,
  NOW,
  plannedJournal,
  poolConfig,
  poolState,
} from './swap-fixtures.js';

describe('fallBackTarget', () => {
  it('target fails to log in: the next account; it fails too: back to the source', async () => {
    const config = await poolConfig();
    const st = poolState();
    let j = plannedJournal(config);

    markAuthError(st, 'backup');
    const first = fallBackTarget(config, st, j, NOW);
    expect(first).toEqual({ to: 'spare', rolledBack: false });
    j = afterTargetFailed(j, first.to);
    expect(nextStep(j, config)).toMatchObject({ action: 'relink', target: 'spare' });

    markAuthError(st, 'spare');
    const second = fallBackTarget(config, st, j, NOW);
    expect(second).toEqual({ to: 'primary', rolledBack: true });
    j = afterTargetFailed(j, second.to);
    expect(j).toMatchObject({ from: 'primary', to: 'primary', tried: ['backup', 'spare'] });
    expect(nextStep(j, config)).toMatchObject({ action: 'relink', target: 'primary' });
  });

  it('never goes back to a target already tried, even one not marked in the state', async () => {
    const config = await poolConfig();
    const j = afterTargetFailed(plannedJournal(config), 'spare');
    // backup was tried; the state has not been told.
    expect(fallBackTarget(config, poolState(), j, NOW)).toEqual({
      to: 'primary',
      rolledBack: true,
    });
  });

  it('skips the accounts that cannot take the sessions now', async () => {
    const config = await poolConfig();
    const st = poolState();
    markExhausted(st, 'spare');
    expect(fallBackTarget(config, st, plannedJournal(config), NOW)).toEqual({
      to: 'primary',
      rolledBack: true,
    });
  });

  it('the priority order decides between the accounts left', async () => {
    const config = await poolConfig();
    const reordered = {
      ...config,
      accounts: config.accounts.map((a) => (a.name === 'off' ? { ...a, enabled: true } : a)),
    };
    expect(fallBackTarget(reordered, poolState(), plannedJournal(config), NOW)).toEqual({
      to: 'off',
      rolledBack: false,
    });
  });

  it('a journal going back to the source says so, also to the run that finds it after a kill', async () => {
    const config = await poolConfig();
    const planned = plannedJournal(config);
    expect(goingBack(planned)).toBe(false);
    const onToSpare = afterTargetFailed(planned, 'spare');
    expect(goingBack(onToSpare)).toBe(false);
    const back = afterTargetFailed(onToSpare, 'primary');
    expect(goingBack(back)).toBe(true);
    const leftBehind = swapJournalSchema.parse(JSON.parse(JSON.stringify(back)));
    expect(goingBack(leftBehind)).toBe(true);
    expect(nextStep(leftBehind, config)).toMatchObject({ action: 'relink', target: 'primary' });
  });
});
