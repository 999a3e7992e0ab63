/**
 * When a target cannot take the sessions: its agents do not log in (the account is marked
 * auth-error and the next one tried, or the sessions go back to the source), or no account
 * is usable at all (one notification per episode).
 */
import { accountCondition } from '../accounts/condition.js';
import { stopAgents } from '../agents/agent.js';
import type { Context } from '../core/context.js';
import { accountState } from '../core/state-schema.js';
import { notifyEvent } from '../notify/index.js';
import { afterTargetFailed } from './journal.js';
import { exhaustionEnd, fallBackTarget } from './plan.js';
import { updateJournal, type SwapRun } from './swap-run.js';

/**
 * The journal's target did not log in (`authFailed` are the sessions that showed it): marks
 * it auth-error, stops the sessions, and sends them on to the next target, or back to the
 * source when none is left. The journal goes back to `stopped`.
 */
export async function fallBack(ctx: Context, run: SwapRun, authFailed: string[]): Promise<void> {
  const bad = run.journal.to;
  await notifyEvent(
    ctx,
    'account.auth-error',
    { account: bad, sessions: authFailed, detail: 'its agents did not log in' },
    'error',
  );
  await stopAgents(
    ctx.tmux,
    run.journal.sessions.map((js) => js.name),
    ctx.config.agent.stopTimeout,
  );
  const now = ctx.clock.now();
  const state = await ctx.state.update((st) => {
    accountState(st, bad).authErrorAt = now.toISOString();
    return structuredClone(st);
  });
  const next = fallBackTarget(ctx.config, state, run.journal, now);
  if (next.rolledBack) await noUsableAccount(ctx, run.journal.from!, run.journal.reason, undefined);
  await updateJournal(ctx, run, (journal) => afterTargetFailed(journal, next.to));
}

/**
 * No account can take over: marks the source exhausted when the swap is for a limit, and
 * notifies `accounts.exhausted` once per episode; the sessions are left as they are.
 */
export async function noUsableAccount(
  ctx: Context,
  from: string,
  reason: string,
  exhaustedUntil: string | null | undefined,
): Promise<void> {
  const now = ctx.clock.now();
  const first = await ctx.state.update((st) => {
    const until = exhaustionEnd(ctx.config, exhaustedUntil, now);
    if (until !== undefined) accountState(st, from).exhaustedUntil = until;
    if (st.noUsableAccountSince) return false;
    st.noUsableAccountSince = now.toISOString();
    return true;
  });
  if (!first) return;
  const state = ctx.state.read();
  await notifyEvent(
    ctx,
    'accounts.exhausted',
    {
      from,
      reason,
      accounts: ctx.config.accounts.map((a) => {
        const c = accountCondition(ctx.config, state, a.name, now);
        return {
          name: a.name,
          enabled: c.enabled,
          exhaustedUntil: c.exhaustedUntil,
          authError: c.authError,
          usedPercent: c.usedPercent,
        };
      }),
    },
    'error',
  );
}
