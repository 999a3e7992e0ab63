/**
 * What a `quota check` run writes into the state file: the quota memory (suspects, lines
 * logged and consumed), the account's exhaustion or auth error, and the pending swap.
 * `decideQuota` says what; `applyQuotaChanges` writes it into the state read under its lock.
 */
import { accountCondition, pickSwapTarget, type AccountFiles } from '../accounts/condition.js';
import type { Config } from '../core/config.js';
import {
  accountState,
  type PendingSwap,
  type QuotaMemory,
  type State,
} from '../core/state-schema.js';

/** What the state file must take from this run (applied by `applyQuotaChanges`). */
export interface QuotaStateChanges {
  account: string;
  suspects: QuotaMemory['suspects'];
  lastCheckAt: string;
  /** New fingerprints of lines logged, per session. */
  logged: Record<string, string[]>;
  /** New fingerprints of pane limit lines acted on, per session. */
  consumed: Record<string, string[]>;
  /** Mark the account exhausted. */
  exhausted: { until: string; reason: string | null } | null;
  /** Mark the account auth-error at this time. */
  authErrorAt: string | null;
  /** The pending swap from now on (`set`: a request, or none); null: it stays as it is. */
  pendingSwap: { set: PendingSwap | null } | null;
}

/**
 * The pending swap after this run: a proactive request is made when usage is over
 * `swapAt` and none is pending, dropped when the window reset before the sessions went idle,
 * and any request for an account already left is stale.
 */
export function nextPendingSwap(
  current: PendingSwap | null,
  account: string,
  usageRequest: PendingSwap | null,
): PendingSwap | null {
  let pending = current;
  if (usageRequest && !pending) pending = usageRequest;
  if (!usageRequest && pending?.proactive) pending = null;
  if (pending && pending.account !== account) pending = null;
  return pending;
}

const MAX_REMEMBERED = 50;

function remember(list: string[] | undefined, fps: string[]): string[] {
  return [...new Set([...(list ?? []), ...fps])].slice(-MAX_REMEMBERED);
}

/**
 * Writes a run's `QuotaStateChanges` into `st` (the state as read under its lock). Any
 * usable account ends an "all exhausted" episode (`noUsableAccountSince`).
 */
export function applyQuotaChanges(
  st: State,
  changes: QuotaStateChanges,
  config: Config,
  files: Record<string, AccountFiles>,
  now: Date,
): void {
  const { account } = changes;
  st.quota.suspects = changes.suspects;
  st.quota.lastCheckAt = changes.lastCheckAt;
  for (const [session, fps] of Object.entries(changes.logged))
    st.quota.logged[session] = remember(st.quota.logged[session], fps);
  for (const [session, fps] of Object.entries(changes.consumed))
    st.quota.consumed[session] = remember(st.quota.consumed[session], fps);
  if (
    pickSwapTarget(config, st, now, [], files) &&
    !accountCondition(config, st, account, now, files[account]).exhausted
  )
    st.noUsableAccountSince = null;
  if (changes.exhausted) {
    const a = accountState(st, account);
    a.exhaustedUntil = changes.exhausted.until;
    a.exhaustedReason = changes.exhausted.reason;
  }
  if (changes.authErrorAt) accountState(st, account).authErrorAt = changes.authErrorAt;
  if (changes.pendingSwap) st.pendingSwap = changes.pendingSwap.set;
}
