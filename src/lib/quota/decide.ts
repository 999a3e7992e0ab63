/**
 * The decision of `quota check`, pure: from the evidence gathered (evidence.ts), the state
 * (as read under its lock, when the run writes), the config and the run's `now`, it says
 * what was detected, what the state must remember, which events to log and what to swap.
 * No I/O, no clock.
 *
 * Within `reactivateCooldown` of a swap, detection is suppressed. A pane limit without a
 * reset is confirmed only when `quota.confirmPolls` runs in a row see it. A confirmed limit
 * marks the account exhausted and swaps, unless its reset is within `skipIfResetWithin`
 * (Claude Code continues by itself). An auth error swaps away at once. Usage over `swapAt`
 * asks for a proactive swap at the next moment every session is idle. Transient errors
 * (500/529 bursts, short retries) never count.
 */
import { accountCondition } from '../accounts/condition.js';
import type { Config } from '../core/config.js';
import type { EventLevel } from '../core/events.js';
import type { PendingSwap, State } from '../core/state-schema.js';
import type { SwapOptions, SwapTrigger } from '../swap/index.js';
import { fingerprint, laterTime, readSession, type Detection } from './detections.js';
import type { QuotaEvidence } from './evidence.js';
import { nextPendingSwap, type QuotaStateChanges } from './state-changes.js';

export type QuotaDecision =
  | 'clean'
  | 'suppressed'
  | 'suspected'
  | 'swapped'
  | 'no-swap'
  | 'skip-reset-soon'
  | 'no-usable-account'
  | 'swap-in-progress'
  | 'resumed-swap'
  | 'proactive-waiting'
  | 'auth-error';

/** The confirmed limit of the active account. */
export interface QuotaLimit {
  account: string;
  resetsAt: string | null;
  trigger: SwapTrigger;
}

/** An event to log (and notify), as `emit(ctx, name, fields, { level })` takes it. */
export interface QuotaEvent {
  name: string;
  fields: Record<string, unknown>;
  /** Absent: the default level (info). */
  level?: EventLevel;
}

export interface QuotaOutcome {
  /** What the run reports when it swaps nothing (a swap's own result reports otherwise). */
  decision: QuotaDecision;
  detections: Detection[];
  limit: QuotaLimit | null;
  /** Null: the state is not written (detection suppressed). */
  changes: QuotaStateChanges | null;
  /** In order, logged once the changes are written. */
  events: QuotaEvent[];
  /** What to ask `runSwap` for; null: nothing to swap now (or `--no-swap`). */
  swap: SwapOptions | null;
  /**
   * A proactive swap waits until every session is idle: until then the run reports
   * `proactive-waiting` and logs these events.
   */
  waitForIdle: { events: QuotaEvent[] } | null;
}

interface DecideOptions {
  /** `--no-swap`: record the limit and the request, swap nothing. */
  noSwap?: boolean;
}

/** Whether detection is suppressed: within the cooldown after the last swap. */
export function inCooldown(state: State, now: Date): boolean {
  return Boolean(state.cooldownUntil && Date.parse(state.cooldownUntil) > now.getTime());
}

/** A reset that moves an account's exhaustion by this much or more is news; less is the same limit. */
const EXHAUSTED_CHANGE_MS = 60_000;

/**
 * Whether marking an account exhausted until `until` changes what is known: it was not
 * exhausted before, or a reset read from the evidence moved the end by a minute or more (a
 * new, later limit). Without a reset, `until` is now plus `defaultExhaustion` and moves with
 * every run: that is the same limit seen again, not a change.
 */
function exhaustionChanged(
  prev: string | null,
  until: string,
  resetsAt: string | null,
  now: Date,
): boolean {
  if (!prev || Date.parse(prev) <= now.getTime()) return true;
  return resetsAt !== null && Math.abs(Date.parse(until) - Date.parse(prev)) >= EXHAUSTED_CHANGE_MS;
}

/** Decides one `quota check` run (see the file comment). */
export function decideQuota(
  evidence: QuotaEvidence,
  state: State,
  config: Config,
  now: Date,
  opts: DecideOptions = {},
): QuotaOutcome {
  const active = evidence.account;
  const outcome: QuotaOutcome = {
    decision: 'clean',
    detections: [],
    limit: null,
    changes: null,
    events: [],
    swap: null,
    waitForIdle: null,
  };

  if (inCooldown(state, now)) {
    outcome.decision = 'suppressed';
    outcome.events.push({
      name: 'quota.suppressed',
      fields: { until: state.cooldownUntil, account: active },
      level: 'debug',
    });
    return outcome;
  }

  const readings = evidence.sessions.map((s) => readSession(s, active, state));

  // Suspicion: a pane limit without a reset must be seen again on the next run.
  const suspects = { ...state.quota.suspects };
  for (const reading of readings) {
    const name = reading.session;
    if (reading.suspect) {
      const prev = suspects[name];
      const polls = prev && prev.account === active ? prev.polls + 1 : 1;
      reading.suspect.poll = polls;
      if (polls >= config.quota.confirmPolls) {
        reading.suspect.confirmed = true;
        reading.confirmed ??= reading.suspect;
        delete suspects[name];
      } else
        suspects[name] = {
          account: active,
          pattern: reading.suspect.pattern,
          line: reading.suspect.snippet,
          firstSeenAt: prev?.firstSeenAt ?? now.toISOString(),
          polls,
        };
    } else if (suspects[name]) {
      // A clean poll clears the suspicion.
      delete suspects[name];
      outcome.events.push({ name: 'quota.cleared', fields: { session: name, account: active } });
    }
  }
  // Sessions no longer on this account lose their suspicion too.
  for (const name of Object.keys(suspects))
    if (!readings.some((r) => r.session === name)) delete suspects[name];

  // Hook and transcript evidence stays until the agent is relaunched: each piece is logged
  // once, not on every run that sees it again (while every account is out, that is each run).
  for (const reading of readings)
    for (const d of reading.detections) {
      if (d.source === 'pane') continue;
      const fp = fingerprint(`detected:${d.source}:${d.verdict}:${d.snippet}:${d.resetsAt}`);
      if (state.quota.logged[reading.session]?.includes(fp)) d.repeat = true;
      else reading.newLogged.push(fp);
    }
  outcome.detections = readings.flatMap((r) => r.detections);
  for (const d of outcome.detections.filter((x) => !x.repeat))
    outcome.events.push({
      name: 'quota.detected',
      fields: {
        session: d.session,
        account: d.account,
        source: d.source,
        pattern: d.pattern,
        verdict: d.verdict,
        kind: d.kind,
        resetsAt: d.resetsAt,
        poll: d.poll,
        confirmed: d.confirmed,
        snippet: d.snippet,
      },
      level: d.verdict === 'limit' ? 'warn' : 'info',
    });

  const remembered = (consume: boolean): QuotaStateChanges => {
    const logged: Record<string, string[]> = {};
    const consumed: Record<string, string[]> = {};
    for (const r of readings) {
      if (r.newLogged.length) logged[r.session] = r.newLogged;
      if (consume && r.paneLimitFps.length) consumed[r.session] = r.paneLimitFps;
    }
    return {
      account: active,
      suspects,
      lastCheckAt: now.toISOString(),
      logged,
      consumed,
      exhausted: null,
      authErrorAt: null,
      pendingSwap: null,
    };
  };

  const confirmed = readings.filter((r) => r.confirmed).map((r) => r.confirmed!);
  if (confirmed.length) {
    const resetsAt = confirmed.reduce<string | null>((a, d) => laterTime(a, d.resetsAt), null);
    const first = confirmed[0]!;
    const trigger: SwapTrigger = {
      session: first.session,
      pattern: first.pattern,
      snippet: first.snippet,
    };
    outcome.limit = { account: active, resetsAt, trigger };
    // A reset that is about to happen: Claude Code continues by itself; do not swap.
    if (resetsAt && Date.parse(resetsAt) - now.getTime() < config.quota.skipIfResetWithin) {
      outcome.changes = {
        ...remembered(false),
        exhausted: { until: resetsAt, reason: first.pattern },
      };
      outcome.events.push({
        name: 'quota.skip-swap',
        fields: { account: active, resetsAt, reason: 'the reset is about to happen' },
      });
      outcome.decision = 'skip-reset-soon';
      return outcome;
    }
    const until =
      resetsAt ?? new Date(now.getTime() + config.quota.defaultExhaustion).toISOString();
    const reason = `usage limit (${first.pattern ?? first.source})`;
    outcome.changes = {
      ...remembered(true),
      exhausted: { until, reason: first.pattern },
      // A limit's request replaces any other.
      pendingSwap: {
        set: {
          account: active,
          reason,
          trigger,
          requestedAt: now.toISOString(),
          proactive: false,
        },
      },
    };
    // account.exhausted is logged when the account's exhaustion changes, not on every run
    // that sees the same limit again (720 lines an hour at a 5 s timer while all are out).
    const prev = state.accounts[active]?.exhaustedUntil ?? null;
    if (exhaustionChanged(prev, until, resetsAt, now))
      outcome.events.push({
        name: 'account.exhausted',
        fields: {
          account: active,
          until,
          resetsAt,
          session: first.session,
          pattern: first.pattern,
        },
        level: 'warn',
      });
    outcome.decision = 'no-swap';
    if (!opts.noSwap) outcome.swap = { from: active, reason, trigger, exhaustedUntil: until };
    return outcome;
  }

  const authFailed = readings.filter((r) => r.authError);
  if (authFailed.length) {
    const authErrors = [...new Set(authFailed.map((r) => r.authError!))];
    outcome.changes = { ...remembered(false), authErrorAt: now.toISOString() };
    outcome.events.push({
      name: 'account.auth-error',
      fields: {
        account: active,
        sessions: authFailed.map((r) => r.session),
        detail: `StopFailure ${authErrors.join(', ')}`,
      },
      level: 'error',
    });
    outcome.decision = 'auth-error';
    if (!opts.noSwap)
      outcome.swap = {
        from: active,
        reason: 'auth-error',
        trigger: {
          session: authFailed[0]!.session,
          pattern: `hook:StopFailure.${authFailed[0]!.authError}`,
          snippet: null,
        },
      };
    return outcome;
  }

  // Usage over swapAt: swap at the next idle moment (or when the limit is hit).
  const cond = accountCondition(config, state, active, now, evidence.accountFiles[active]);
  const usageRequest: PendingSwap | null = cond.overSwapAt
    ? {
        account: active,
        reason: `usage ${Math.round(cond.usedPercent ?? 0)}% is over swapAt (${config.quota.swapAt}%)`,
        trigger: null,
        requestedAt: now.toISOString(),
        proactive: true,
      }
    : null;
  const want = nextPendingSwap(state.pendingSwap, active, usageRequest);
  outcome.changes = { ...remembered(false), pendingSwap: { set: want } };
  if (!want) {
    outcome.decision = readings.some((r) => r.suspect && !r.confirmed) ? 'suspected' : 'clean';
    return outcome;
  }
  if (want.proactive)
    outcome.waitForIdle = {
      events: state.pendingSwap
        ? []
        : [
            {
              name: 'quota.swap-requested',
              fields: { account: active, reason: want.reason, proactive: true },
            },
          ],
    };
  outcome.decision = 'no-swap';
  if (!opts.noSwap)
    outcome.swap = {
      from: active,
      reason: want.reason,
      trigger: want.trigger,
      ...(want.proactive ? {} : { exhaustedUntil: state.accounts[active]?.exhaustedUntil ?? null }),
    };
  return outcome;
}
