/**
 * `quota check`, the stateless monitor (SPEC section 5). Each run fuses, per session of the
 * active account, what Claude Code says itself and what its pane shows:
 *
 * 1. the `StopFailure` hook with `error: "rate_limit"` (a confirmed limit; its message has
 *    the reset time), or an error that means the account cannot work at all
 *    (`authentication_failed`, `account_on_hold`, `verification_required`,
 *    `cloud_credential_error`: `isAccountUnusableError`), which is an auth error;
 * 2. the transcript's 429 record (`isApiErrorMessage`, `apiErrorStatus: 429`,
 *    `error: "rate_limit"`), for agents without our hooks;
 * 3. the pane's last `quota.scanLines` lines through the classifier: a limit with a reset
 *    time is confirmed at once, one without is suspected and confirmed only when the next
 *    run sees it again on the same session; transient errors never count.
 *
 * Only evidence newer than the session's launch on this account (and the last swap) counts,
 * and pane lines already acted on are remembered, because a resumed agent redraws its
 * history, old limit messages included. Within `reactivateCooldown` of a swap, detection is
 * suppressed. A confirmed limit marks the account exhausted and swaps (unless `--no-swap`);
 * usage over `swapAt` asks for a proactive swap at the next idle moment.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import {
  accountCondition,
  isAccountUnusableError,
  pickSwapTarget,
  swapInProgress,
} from '../accounts/condition.js';
import { readAgentStatus } from '../queue/status-file.js';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { ImpossibleError, LockBusyError } from '../core/errors.js';
import { emit } from '../notify/index.js';
import { snippet } from '../core/redact.js';
import { activeAccount } from '../agents/sessions.js';
import { readSignals } from '../claude/signals.js';
import { accountState, type State } from '../core/state-schema.js';
import { paneRunsAgent } from '../agents/screens.js';
import { runSwap, sessionsOn, type SwapResult, type SwapTrigger } from '../swap/index.js';
import { scanTranscriptTail } from '../claude/transcript.js';
import { refreshUsageFromApi } from './usage-api.js';
import { createClassifier, type QuotaClassifier } from './index.js';
import type { LineVerdict, QuotaExplanation } from './classify.js';

export type EvidenceSource = 'hook' | 'transcript' | 'pane';

export interface Detection {
  session: string;
  account: string;
  source: EvidenceSource;
  verdict: 'limit' | 'stale' | 'warning' | 'transient';
  kind: string | null;
  resetsAt: string | null;
  pattern: string | null;
  /** 1 on the first sighting; the confirming poll's number for a suspected limit. */
  poll: number;
  confirmed: boolean;
  snippet: string;
  /**
   * The same hook or transcript evidence as an earlier run saw (the signal stays until the
   * agent is relaunched): still evidence, but its `quota.detected` line was written then.
   */
  repeat?: boolean;
}

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

export interface QuotaCheckResult {
  now: string;
  activeAccount: string;
  cooldownUntil: string | null;
  decision: QuotaDecision;
  detections: Detection[];
  /** The confirmed limit of the active account, if any. */
  limit: { account: string; resetsAt: string | null; trigger: SwapTrigger } | null;
  swap: SwapResult | null;
  exitCode: number;
}

export interface QuotaCheckOptions {
  noSwap?: boolean;
  onProgress?: (msg: string) => void;
}

const MAX_REMEMBERED = 50;

const fingerprint = (text: string) =>
  createHash('sha256').update(text.replace(/\s+/g, ' ').trim()).digest('hex').slice(0, 16);

function remember(list: string[] | undefined, fps: string[]): string[] {
  return [...new Set([...(list ?? []), ...fps])].slice(-MAX_REMEMBERED);
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

const later = (a: string | null, b: string | null) =>
  !a ? b : !b ? a : Date.parse(a) >= Date.parse(b) ? a : b;

interface SessionEvidence {
  session: SessionConfig;
  detections: Detection[];
  /** A limit that counts now (hook, transcript, or a pane limit with a reset). */
  confirmed: Detection | null;
  /** A pane limit without a reset: counts after confirmPolls. */
  suspect: Detection | null;
  /** Pane limit lines visible now (fingerprints), so a resumed pane is not read again. */
  paneLimitFps: string[];
  /** New transient / warning lines (fingerprints), logged once each. */
  newLogged: string[];
  /** The StopFailure error that says the account cannot work (`authentication_failed`, ...). */
  authError: string | null;
}

function transcriptOf(ctx: Context, s: SessionConfig, state: State): string | null {
  const hook = readAgentStatus(s.projectPath).sessions[s.name];
  return hook?.transcriptPath ?? state.sessions[s.name]?.transcriptPath ?? null;
}

async function gather(
  ctx: Context,
  classifier: QuotaClassifier,
  s: SessionConfig,
  state: State,
  account: string,
  now: Date,
): Promise<SessionEvidence> {
  const st = state.sessions[s.name];
  const since =
    later(st?.launchedAt ?? null, state.lastSwap?.at ?? null) ?? new Date(0).toISOString();
  const ev: SessionEvidence = {
    session: s,
    detections: [],
    confirmed: null,
    suspect: null,
    paneLimitFps: [],
    newLogged: [],
    authError: null,
  };
  const detection = (
    source: EvidenceSource,
    r: QuotaExplanation,
    text: string,
    confirmed: boolean,
  ): Detection => ({
    session: s.name,
    account,
    source,
    verdict: r.verdict as Detection['verdict'],
    kind: r.kind,
    resetsAt: r.resetsAt,
    pattern: r.pattern,
    poll: 1,
    confirmed,
    snippet: snippet(r.line ?? text),
  });

  // 1. What Claude Code reported through the hooks.
  for (const sig of readSignals(ctx.config.stateDir, s.name, since)) {
    if (sig.account && sig.account !== account) continue;
    if (sig.event !== 'StopFailure') continue;
    if (isAccountUnusableError(sig.error)) ev.authError = sig.error!;
    if (sig.error !== 'rate_limit') continue;
    const text = sig.message ?? '';
    const r = classifier.classify(text, now);
    if (r.verdict === 'stale') {
      ev.detections.push(detection('hook', r, text, false));
      continue;
    }
    // Claude Code itself called it a rate limit: a confirmed limit, reset time or not.
    const d = detection(
      'hook',
      { ...r, verdict: 'limit', pattern: r.pattern ?? 'hook:StopFailure.rate_limit' },
      text,
      true,
    );
    ev.detections.push(d);
    ev.confirmed ??= d;
  }

  // 2. The transcript's 429 record (agents that run without our hooks).
  const file = transcriptOf(ctx, s, state);
  if (!ev.confirmed && file && fs.existsSync(file)) {
    try {
      const tail = scanTranscriptTail(file, { want: ['lastRateLimit'], since });
      const rl = tail.lastRateLimit;
      if (rl && (!rl.at || rl.at >= since)) {
        const r = classifier.classify(rl.text ?? '', now);
        if (r.verdict === 'stale')
          ev.detections.push(detection('transcript', r, rl.text ?? '', false));
        else {
          const d = detection(
            'transcript',
            { ...r, verdict: 'limit', pattern: r.pattern ?? 'transcript:api-error-429' },
            rl.text ?? '',
            true,
          );
          ev.detections.push(d);
          ev.confirmed = d;
        }
      }
    } catch {
      // An unreadable transcript is not evidence either way.
    }
  }

  // 3. The pane text, the seed behaviour.
  const panes = await ctx.tmux.sessions();
  if (!paneRunsAgent(panes.get(s.name))) return ev;
  let lines: string[];
  try {
    lines = await ctx.tmux.capturePane(s.name, ctx.config.quota.scanLines);
  } catch {
    return ev;
  }
  const r = classifier.classify(lines.join('\n'), now);
  const consumed = new Set(state.quota.consumed[s.name] ?? []);
  const logged = new Set(state.quota.logged[s.name] ?? []);
  for (const m of r.matches) {
    if (m.verdict === 'limit' && m.line) ev.paneLimitFps.push(fingerprint(m.line));
  }
  // The verdict, unless its limit lines were all acted on already (a resumed agent redraws
  // its history, old limit messages included).
  // A limit whose reset is the one recorded for an account we already left is that account's
  // message, redrawn (the hook and the transcript still catch a new limit of this account).
  const leftResets = Object.entries(state.accounts)
    .filter(([name, a]) => name !== account && a.exhaustedUntil)
    .map(([, a]) => Date.parse(a.exhaustedUntil!));
  const fromLeftAccount = (m: { resetsAt: string | null }) =>
    m.resetsAt !== null && leftResets.some((t) => Math.abs(t - Date.parse(m.resetsAt!)) < 60_000);
  const fresh = r.matches.filter(
    (m) =>
      !(
        m.verdict === 'limit' &&
        m.line &&
        (consumed.has(fingerprint(m.line)) || fromLeftAccount(m))
      ),
  );
  const freshLimit =
    fresh.find((m) => m.verdict === 'limit' && !m.aux) ?? fresh.find((m) => m.verdict === 'limit');
  const top: QuotaExplanation | LineVerdict | null =
    freshLimit ?? (r.verdict === 'limit' ? null : r);
  if (!top || top.verdict === 'none') return ev;
  if (top.verdict === 'limit') {
    const d = detection('pane', top as QuotaExplanation, top.line ?? '', Boolean(top.resetsAt));
    ev.detections.push(d);
    if (d.confirmed) ev.confirmed ??= d;
    else ev.suspect = d;
    return ev;
  }
  // Stale, transient and warning lines are logged once per distinct line.
  const fp = fingerprint(`${top.verdict}:${top.line ?? ''}`);
  if (!logged.has(fp)) {
    ev.newLogged.push(fp);
    ev.detections.push(detection('pane', top as QuotaExplanation, top.line ?? '', false));
  }
  return ev;
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
  const base = {
    now: now.toISOString(),
    activeAccount: active,
    cooldownUntil: state.cooldownUntil,
    detections: [] as Detection[],
    limit: null as QuotaCheckResult['limit'],
  };

  // Within the cooldown of the last swap, detection is suppressed (and logged).
  if (state.cooldownUntil && Date.parse(state.cooldownUntil) > now.getTime()) {
    await emit(
      ctx,
      'quota.suppressed',
      { until: state.cooldownUntil, account: active },
      { level: 'debug', now },
    );
    return { ...base, decision: 'suppressed', swap: null, exitCode: 0 };
  }

  const classifier = await createClassifier({
    timezone: ctx.config.quota.timezone,
    patterns: ctx.config.quota.patterns,
  });
  const sessions = sessionsOn(ctx, state, active);
  const evidence = await Promise.all(
    sessions.map((s) => gather(ctx, classifier, s, state, active, now)),
  );

  // Suspicion: a pane limit without a reset must be seen again on the next run.
  const suspects = { ...state.quota.suspects };
  for (const ev of evidence) {
    const name = ev.session.name;
    if (ev.suspect) {
      const prev = suspects[name];
      const polls = prev && prev.account === active ? prev.polls + 1 : 1;
      ev.suspect.poll = polls;
      if (polls >= ctx.config.quota.confirmPolls) {
        ev.suspect.confirmed = true;
        ev.confirmed ??= ev.suspect;
        delete suspects[name];
      } else
        suspects[name] = {
          account: active,
          pattern: ev.suspect.pattern,
          line: ev.suspect.snippet,
          firstSeenAt: prev?.firstSeenAt ?? now.toISOString(),
          polls,
        };
    } else if (suspects[name]) {
      // A clean poll clears the suspicion.
      delete suspects[name];
      await emit(ctx, 'quota.cleared', { session: name, account: active }, { now });
    }
  }
  // Sessions no longer on this account lose their suspicion too.
  for (const name of Object.keys(suspects))
    if (!sessions.some((s) => s.name === name)) delete suspects[name];

  // Hook and transcript evidence stays until the agent is relaunched: each piece is logged
  // once, not on every run that sees it again (while every account is out, that is each run).
  for (const e of evidence)
    for (const d of e.detections) {
      if (d.source === 'pane') continue;
      const fp = fingerprint(`detected:${d.source}:${d.verdict}:${d.snippet}:${d.resetsAt}`);
      if (state.quota.logged[e.session.name]?.includes(fp)) d.repeat = true;
      else e.newLogged.push(fp);
    }
  const detections = evidence.flatMap((e) => e.detections);
  for (const d of detections.filter((x) => !x.repeat)) {
    const level = d.verdict === 'limit' ? 'warn' : 'info';
    await emit(
      ctx,
      'quota.detected',
      {
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
      { level, now },
    );
  }
  base.detections = detections;

  const confirmed = evidence.filter((e) => e.confirmed).map((e) => e.confirmed!);
  const authFailed = evidence.filter((e) => e.authError);
  const authErrors = [...new Set(authFailed.map((e) => e.authError!))];
  const memory = (st: State, consume: boolean) => {
    st.quota.suspects = suspects;
    st.quota.lastCheckAt = now.toISOString();
    for (const e of evidence) {
      if (e.newLogged.length)
        st.quota.logged[e.session.name] = remember(st.quota.logged[e.session.name], e.newLogged);
      if (consume && e.paneLimitFps.length)
        st.quota.consumed[e.session.name] = remember(
          st.quota.consumed[e.session.name],
          e.paneLimitFps,
        );
    }
    // Any usable account ends an "all exhausted" episode.
    if (
      pickSwapTarget(ctx.config, st, now, []) &&
      !accountCondition(ctx.config, st, active, now).exhausted
    )
      st.noUsableAccountSince = null;
  };

  if (confirmed.length) {
    const resetsAt = confirmed.reduce<string | null>((a, d) => later(a, d.resetsAt), null);
    const first = confirmed[0]!;
    const trigger: SwapTrigger = {
      session: first.session,
      pattern: first.pattern,
      snippet: first.snippet,
    };
    base.limit = { account: active, resetsAt, trigger };
    const until =
      resetsAt ?? new Date(now.getTime() + ctx.config.quota.defaultExhaustion).toISOString();
    // A reset that is about to happen: Claude Code continues by itself; do not swap.
    if (resetsAt && Date.parse(resetsAt) - now.getTime() < ctx.config.quota.skipIfResetWithin) {
      await ctx.state.update((st) => {
        memory(st, false);
        const a = accountState(st, active);
        a.exhaustedUntil = resetsAt;
        a.exhaustedReason = first.pattern;
      });
      await emit(
        ctx,
        'quota.skip-swap',
        { account: active, resetsAt, reason: 'the reset is about to happen' },
        { now },
      );
      return { ...base, decision: 'skip-reset-soon', swap: null, exitCode: 0 };
    }
    // account.exhausted is logged when the account's exhaustion changes, not on every run
    // that sees the same limit again (720 lines an hour at a 5 s timer while all are out).
    let changed = false;
    await ctx.state.update((st) => {
      memory(st, true);
      const a = accountState(st, active);
      changed = exhaustionChanged(a.exhaustedUntil, until, resetsAt, now);
      a.exhaustedUntil = until;
      a.exhaustedReason = first.pattern;
      st.pendingSwap = {
        account: active,
        reason: `usage limit (${first.pattern ?? first.source})`,
        trigger,
        requestedAt: now.toISOString(),
        proactive: false,
      };
    });
    if (changed)
      await emit(
        ctx,
        'account.exhausted',
        { account: active, until, resetsAt, session: first.session, pattern: first.pattern },
        { level: 'warn', now },
      );
    if (opts.noSwap) return { ...base, decision: 'no-swap', swap: null, exitCode: 0 };
    return swapOrReport(ctx, opts, base, {
      from: active,
      reason: `usage limit (${first.pattern ?? first.source})`,
      trigger,
      exhaustedUntil: until,
    });
  }

  if (authFailed.length) {
    await ctx.state.update((st) => {
      memory(st, false);
      accountState(st, active).authErrorAt = now.toISOString();
    });
    await emit(
      ctx,
      'account.auth-error',
      {
        account: active,
        sessions: authFailed.map((e) => e.session.name),
        detail: `StopFailure ${authErrors.join(', ')}`,
      },
      { level: 'error', now },
    );
    if (opts.noSwap) return { ...base, decision: 'auth-error', swap: null, exitCode: 0 };
    return swapOrReport(ctx, opts, base, {
      from: active,
      reason: 'auth-error',
      trigger: {
        session: authFailed[0]!.session.name,
        pattern: `hook:StopFailure.${authFailed[0]!.authError}`,
        snippet: null,
      },
    });
  }

  // Usage over swapAt: swap at the next idle moment (or when the limit is hit).
  const cond = accountCondition(ctx.config, state, active, now);
  const pending = state.pendingSwap;
  await ctx.state.update((st) => {
    memory(st, false);
    if (cond.overSwapAt && !st.pendingSwap)
      st.pendingSwap = {
        account: active,
        reason: `usage ${Math.round(cond.usedPercent ?? 0)}% is over swapAt (${ctx.config.quota.swapAt}%)`,
        trigger: null,
        requestedAt: now.toISOString(),
        proactive: true,
      };
    // The window reset before the sessions went idle: nothing to do any more.
    if (!cond.overSwapAt && st.pendingSwap?.proactive) st.pendingSwap = null;
    // A request for an account we already left is stale.
    if (st.pendingSwap && st.pendingSwap.account !== active) st.pendingSwap = null;
  });
  state = ctx.state.read();
  const want = state.pendingSwap;
  if (!want) {
    const suspected = evidence.some((e) => e.suspect && !e.confirmed);
    return { ...base, decision: suspected ? 'suspected' : 'clean', swap: null, exitCode: 0 };
  }
  if (want.proactive && !(await allIdle(ctx, state, sessions, now))) {
    if (!pending)
      await emit(
        ctx,
        'quota.swap-requested',
        { account: active, reason: want.reason, proactive: true },
        { now },
      );
    return { ...base, decision: 'proactive-waiting', swap: null, exitCode: 0 };
  }
  if (opts.noSwap) return { ...base, decision: 'no-swap', swap: null, exitCode: 0 };
  return swapOrReport(ctx, opts, base, {
    from: active,
    reason: want.reason,
    trigger: want.trigger,
    ...(want.proactive ? {} : { exhaustedUntil: state.accounts[active]?.exhaustedUntil ?? null }),
  });
}
