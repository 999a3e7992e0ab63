/**
 * `quota check`, the stateless monitor: it finishes a swap a killed process left half done,
 * refreshes the usage from the usage API, gathers the evidence of each session of the
 * active account (evidence.ts: hook signals, transcript, pane), lets `decideQuota`
 * (decide.ts) decide, then writes the state, logs the events and swaps.
 */
import { swapInProgress } from '../accounts/condition.js';
import { activeAccount } from '../agents/sessions.js';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { ImpossibleError, LockBusyError } from '../core/errors.js';
import type { State } from '../core/state-schema.js';
import { countDetection } from '../core/state-counters.js';
import { emit } from '../notify/index.js';
import { runSwap, sessionsOn, type SwapResult } from '../swap/index.js';
import {
  decideQuota,
  inCooldown,
  type QuotaDecision,
  type QuotaEvent,
  type QuotaLimit,
} from './decide.js';
import type { Detection } from './detections.js';
import { gatherEvidence, type QuotaEvidence } from './evidence.js';
import { applyQuotaChanges } from './state-changes.js';
import { refreshUsageFromApi } from './usage-api.js';

export interface QuotaCheckResult {
  now: string;
  activeAccount: string;
  cooldownUntil: string | null;
  decision: QuotaDecision;
  detections: Detection[];
  /** The confirmed limit of the active account, if any. */
  limit: QuotaLimit | null;
  swap: SwapResult | null;
  exitCode: number;
}

export interface QuotaCheckOptions {
  noSwap?: boolean;
  onProgress?: (msg: string) => void;
}

/** Sessions with nothing in flight: idle (hooks or pane) and no dispatched task. */
async function allIdle(ctx: Context, state: State, sessions: SessionConfig[], now: Date) {
  const { sessionIdleness } = await import('../agents/idle.js');
  const rows = await sessionIdleness(ctx, state, now, { sessions, accountCheck: false });
  // A dead agent holds nothing in flight either: watch relaunches it on the new account.
  return rows.every(
    (r) => r.idle || (!r.task && /no tmux session|agent exited|back at /.test(r.reason ?? '')),
  );
}

async function swapOrReport(
  ctx: Context,
  opts: QuotaCheckOptions,
  base: Omit<QuotaCheckResult, 'decision' | 'swap' | 'exitCode'>,
  swapOpts: Parameters<typeof runSwap>[1],
): Promise<QuotaCheckResult> {
  try {
    const swap = await runSwap(ctx, { ...swapOpts, onProgress: opts.onProgress });
    return { ...base, decision: 'swapped', swap, exitCode: 0 };
  } catch (err) {
    if (err instanceof LockBusyError)
      return { ...base, decision: 'swap-in-progress', swap: null, exitCode: 0 };
    if (err instanceof ImpossibleError) {
      const swap = (err as { result?: SwapResult }).result ?? null;
      return { ...base, decision: 'no-usable-account', swap, exitCode: err.exitCode };
    }
    throw err;
  }
}

async function emitAll(ctx: Context, events: QuotaEvent[], now: Date): Promise<void> {
  for (const e of events)
    await emit(ctx, e.name, e.fields, e.level ? { level: e.level, now } : { now });
}

/** One `quota check` run: see the file comment; `decideQuota` holds every rule. */
export async function runQuotaCheck(
  ctx: Context,
  opts: QuotaCheckOptions = {},
): Promise<QuotaCheckResult> {
  const now = ctx.clock.now();
  let state = ctx.state.read();

  // A swap that a killed process left half done is finished first.
  if (swapInProgress(state) && !opts.noSwap) {
    const base = {
      now: now.toISOString(),
      activeAccount: activeAccount(ctx, state),
      cooldownUntil: state.cooldownUntil,
      detections: [],
      limit: null,
    };
    const r = await swapOrReport(ctx, opts, base, {});
    return { ...r, decision: r.decision === 'swapped' ? 'resumed-swap' : r.decision };
  }

  if (ctx.config.quota.usageApi.enabled) {
    await refreshUsageFromApi(ctx, now).catch((err: Error) =>
      ctx.out.debug(`usage API: ${err.message}`),
    );
    state = ctx.state.read();
  }

  const active = activeAccount(ctx, state);
  const sessions = sessionsOn(ctx, state, active);
  // Within the cooldown nothing is read (not even the user patterns): detection is suppressed.
  const evidence: QuotaEvidence = inCooldown(state, now)
    ? { account: active, sessions: [], accountFiles: {} }
    : await gatherEvidence(ctx, state, active, sessions, now);
  const decide = (st: State) => decideQuota(evidence, st, ctx.config, now, { noSwap: opts.noSwap });
  // In the cooldown nothing is written. Otherwise the decision is made on the state read
  // under its lock, so a run that overlaps another (a manual `quota check` beside `tick`)
  // sees that run's marks and logs no change twice.
  const outcome = inCooldown(state, now)
    ? decide(state)
    : await ctx.state.update((st) => {
        const o = decide(st);
        if (o.changes) applyQuotaChanges(st, o.changes, ctx.config, evidence.accountFiles, now);
        for (const e of o.events)
          if (e.name === 'quota.detected')
            countDetection(st, String(e.fields.verdict), e.fields.pattern as string | null);
        return o;
      });
  const base = {
    now: now.toISOString(),
    activeAccount: active,
    cooldownUntil: state.cooldownUntil,
    detections: outcome.detections,
    limit: outcome.limit,
  };

  await emitAll(ctx, outcome.events, now);

  if (outcome.waitForIdle && !(await allIdle(ctx, ctx.state.read(), sessions, now))) {
    await emitAll(ctx, outcome.waitForIdle.events, now);
    return { ...base, decision: 'proactive-waiting', swap: null, exitCode: 0 };
  }
  if (!outcome.swap) return { ...base, decision: outcome.decision, swap: null, exitCode: 0 };
  return swapOrReport(ctx, opts, base, outcome.swap);
}
