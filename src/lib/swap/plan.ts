/**
 * The decisions a swap makes before and between its steps: which sessions move, to which
 * account, and where they go when a target fails to log in. They take the config, the
 * state and the time, and return data; they read no tmux.
 */
import { accountCondition, pickSwapTarget } from '../accounts/condition.js';
import { activeAccount } from '../agents/sessions.js';
import { accountByName, type Config, type SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { ImpossibleError, UsageError } from '../core/errors.js';
import type { State, SwapJournal } from '../core/state-schema.js';
import type { SwapOptions } from './types.js';

/** Sessions that run (or should run) on `account`: launched, not stopped, not degraded. */
export function sessionsOn(
  ctx: Pick<Context, 'config'>,
  state: State,
  account: string,
): SessionConfig[] {
  const active = activeAccount(ctx, state);
  return ctx.config.sessions.filter((s) => {
    const st = state.sessions[s.name];
    if (!st?.launchedAt || st.stopped || st.degraded) return false;
    return (st.account ?? active) === account;
  });
}

// Throws for a `--to` the swap cannot use: unknown, the source, disabled, auth error, exhausted.
function validateTarget(config: Config, state: State, from: string, to: string, now: Date): void {
  accountByName(config, to);
  if (to === from) throw new UsageError(`--to ${to}: that is the account being left`);
  const c = accountCondition(config, state, to, now);
  if (!c.enabled) throw new ImpossibleError(`--to ${to}: the account is disabled`);
  if (c.authError)
    throw new ImpossibleError(`--to ${to}: the account is in auth error (log it in again)`);
  if (c.exhausted)
    throw new ImpossibleError(`--to ${to}: the account is exhausted until ${c.exhaustedUntil}`);
}

export interface SwapPlan {
  from: string;
  /** The target; null when no account can take the sessions. */
  to: string | null;
  reason: string;
  sessions: SessionConfig[];
}

/**
 * What a new swap would do: the source (`--from`, else the active account), the target
 * (`--to` after checking it, else `pickSwapTarget`) and the sessions on the source. Throws
 * UsageError or ImpossibleError for an account that cannot be used.
 */
export function planSwap(
  ctx: Pick<Context, 'config'>,
  state: State,
  opts: Pick<SwapOptions, 'from' | 'to' | 'reason'>,
  now: Date,
): SwapPlan {
  const { config } = ctx;
  const from = opts.from ?? activeAccount(ctx, state);
  accountByName(config, from);
  if (opts.to) validateTarget(config, state, from, opts.to, now);
  return {
    from,
    to: opts.to ?? pickSwapTarget(config, state, now, [from])?.name ?? null,
    reason: opts.reason ?? 'manual',
    sessions: sessionsOn(ctx, state, from),
  };
}

/** The journal a swap starts with, before any session is touched. */
export function newJournal(
  plan: SwapPlan & { to: string },
  run: { id: string; pid: number; now: Date; trigger: SwapJournal['trigger'] },
): SwapJournal {
  return {
    id: run.id,
    from: plan.from,
    to: plan.to,
    reason: plan.reason,
    trigger: run.trigger,
    startedAt: run.now.toISOString(),
    pid: run.pid,
    step: 'planned',
    tried: [],
    sessions: plan.sessions.map((s) => ({
      name: s.name,
      claudeSessionId: null,
      cwd: null,
      task: null,
      stopped: false,
      relaunched: false,
      ready: false,
      prompted: false,
      fresh: false,
    })),
  };
}

/**
 * Until when a swap marks its source exhausted: the limit's reset, `quota.defaultExhaustion`
 * from now when the reset is unknown (null), not at all for a swap that is not for a limit
 * (undefined).
 */
export function exhaustionEnd(
  config: Pick<Config, 'quota'>,
  until: string | null | undefined,
  now: Date,
): string | undefined {
  if (until === undefined) return undefined;
  return until ?? new Date(now.getTime() + config.quota.defaultExhaustion).toISOString();
}

export interface FallBack {
  /** Where the sessions go now: the next target, or back to the source. */
  to: string;
  /** No target is left: the sessions go back to the source. */
  rolledBack: boolean;
}

/**
 * Where the sessions go when the journal's target fails to log in: the best account not yet
 * tried (and not the source), else back to the source.
 */
export function fallBackTarget(
  config: Config,
  state: State,
  journal: SwapJournal,
  now: Date,
): FallBack {
  const exclude = [journal.from ?? '', ...journal.tried, journal.to];
  const next = pickSwapTarget(config, state, now, exclude);
  return next ? { to: next.name, rolledBack: false } : { to: journal.from!, rolledBack: true };
}
