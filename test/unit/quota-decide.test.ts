/** The decision of `quota check` (decideQuota), in process at a fixed clock: no tmux, no I/O. */
import { beforeAll, describe, expect, it } from 'vitest';
import { pickSwapTarget, type AccountFiles } from '../../src/lib/accounts/condition.js';
import type { AccountUsage } from '../../src/lib/claude/signals.js';
import { type Config } from '../../src/lib/core/config.js';
import { parseConfig } from '../../src/lib/core/config-parse.js';
import {
  accountState,
  emptyState as sharedEmptyState,
  type State,
} from '../../src/lib/core/state-schema.js';
import { decideQuota, type QuotaOutcome } from '../../src/lib/quota/decide.js';
import type { QuotaEvidence, SessionEvidence } from '../../src/lib/quota/evidence.js';
import { createClassifier, type QuotaClassifier } from '../../src/lib/quota/index.js';
import { applyQuotaChanges, nextPendingSwap } from '../../src/lib/quota/state-changes.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const MIN = 60_000;
const HOUR = 60 * MIN;

const NO_RESET = "You've hit your session limit";
const RESET_3PM = "You've hit your session limit · resets 3pm (UTC)";
const RESET_PASSED = "You've hit your session limit · resets 11am (UTC)";
const RESET_SOON = "You've hit your session limit · resets 12:05pm (UTC)";
const RETRY_500 = '✻ 500 Internal server error · Retrying in 17s · attempt 6/10';
const OVERLOADED_529 =
  'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}} rate limit';

function makeConfig(quota: Record<string, unknown> = {}): Config {
  return parseConfig(
    {
      stateDir: '/nonexistent/claude-failover-state',
      accounts: [
        { name: 'primary', configDir: '/nonexistent/primary', priority: 1 },
        { name: 'backup', configDir: '/nonexistent/backup', priority: 2 },
      ],
      projects: [{ name: 'proj', path: '/nonexistent/proj' }],
      sessions: [{ name: 'ccl-{0..1}', project: 'proj' }],
      quota,
    },
    '/virtual/config.yaml',
    { env: {} },
  );
}

const config = makeConfig();
let classifier: QuotaClassifier;
beforeAll(async () => {
  classifier = await createClassifier({ timezone: 'UTC' });
});

const noFiles = (): Record<string, AccountFiles> => ({
  primary: { usage: null, credentialsMtimeMs: null },
  backup: { usage: null, credentialsMtimeMs: null },
});

/** A usage file at `percent` of the 5 h window, reset in an hour. */
const usageAt = (percent: number): AccountUsage => ({
  fiveHour: { usedPercentage: percent, resetsAt: at(HOUR) },
  sevenDay: null,
  updatedAt: NOW.toISOString(),
  session: 'ccl-0',
});

interface SessionText {
  pane?: string;
  hooks?: { error: string; text?: string }[];
  transcript?: string;
}

function evidence(
  sessions: Record<string, SessionText>,
  files = noFiles(),
  account = 'primary',
): QuotaEvidence {
  return {
    account,
    accountFiles: files,
    sessions: Object.entries(sessions).map(([session, s]): SessionEvidence => ({
      session,
      hooks: (s.hooks ?? []).map((h) => ({
        error: h.error,
        text: h.text ?? '',
        reading: h.error === 'rate_limit' ? classifier.classify(h.text ?? '', NOW) : null,
      })),
      transcript:
        s.transcript === undefined
          ? null
          : { text: s.transcript, reading: classifier.classify(s.transcript, NOW) },
      pane: s.pane === undefined ? null : classifier.classify(s.pane, NOW),
    })),
  };
}

/** Decides, then writes the changes into a copy of the state, as runQuotaCheck does. */
function run(
  ev: QuotaEvidence,
  state: State,
  opts: { config?: Config; noSwap?: boolean; now?: Date } = {},
): { outcome: QuotaOutcome; next: State } {
  const cfg = opts.config ?? config;
  const now = opts.now ?? NOW;
  const outcome = decideQuota(ev, state, cfg, now, { noSwap: opts.noSwap });
  const next = structuredClone(state);
  if (outcome.changes) applyQuotaChanges(next, outcome.changes, cfg, ev.accountFiles, now);
  return { outcome, next };
}

// emptyState() hands out the same nested default objects on every call (quota.suspects, ...):
// a copy keeps one test's state out of the next.
const emptyState = (): State => structuredClone(sharedEmptyState());

const names = (o: QuotaOutcome) => o.events.map((e) => e.name);

describe('decideQuota: cooldown', () => {
  it('suppresses detection within the cooldown, writes nothing, logs quota.suppressed (debug)', () => {
    const state = emptyState();
    state.cooldownUntil = at(MIN);
    const { outcome } = run(evidence({ 'ccl-0': { pane: RESET_3PM } }), state);
    expect(outcome).toMatchObject({ decision: 'suppressed', changes: null, swap: null });
    expect(outcome.detections).toEqual([]);
    expect(outcome.events).toEqual([
      {
        name: 'quota.suppressed',
        fields: { until: at(MIN), account: 'primary' },
        level: 'debug',
      },
    ]);
  });

  it('detects again once the cooldown is over', () => {
    const state = emptyState();
    state.cooldownUntil = NOW.toISOString();
    const { outcome } = run(evidence({ 'ccl-0': { pane: RESET_3PM } }), state);
    expect(outcome.swap).toMatchObject({ from: 'primary' });
  });
});

describe('decideQuota: pane limits and the two-poll confirmation', () => {
  it('confirms a pane limit with a reset at once, marks the account and swaps', () => {
    const { outcome, next } = run(evidence({ 'ccl-1': { pane: RESET_3PM } }), emptyState());
    expect(outcome.detections).toEqual([
      expect.objectContaining({ session: 'ccl-1', source: 'pane', poll: 1, confirmed: true }),
    ]);
    expect(outcome.limit).toMatchObject({
      account: 'primary',
      resetsAt: '2026-06-01T15:00:00.000Z',
      trigger: { session: 'ccl-1', pattern: 'limit.hit-your-window' },
    });
    expect(outcome.swap).toEqual({
      from: 'primary',
      reason: 'usage limit (limit.hit-your-window)',
      trigger: outcome.limit!.trigger,
      exhaustedUntil: '2026-06-01T15:00:00.000Z',
    });
    expect(names(outcome)).toEqual(['quota.detected', 'account.exhausted']);
    expect(next.accounts.primary).toMatchObject({
      exhaustedUntil: '2026-06-01T15:00:00.000Z',
      exhaustedReason: 'limit.hit-your-window',
    });
    expect(next.pendingSwap).toMatchObject({ account: 'primary', proactive: false });
    // The limit line is consumed: a resumed pane that redraws it does not count again.
    expect(next.quota.consumed['ccl-1']).toHaveLength(1);
    const again = run(evidence({ 'ccl-1': { pane: RESET_3PM } }), {
      ...next,
      accounts: {},
      pendingSwap: null,
    });
    expect(again.outcome).toMatchObject({ decision: 'clean', swap: null });
  });

  it('suspects a pane limit without a reset on the first poll and confirms it on the second', () => {
    const first = run(evidence({ 'ccl-0': { pane: NO_RESET } }), emptyState());
    expect(first.outcome).toMatchObject({ decision: 'suspected', swap: null, limit: null });
    expect(first.outcome.detections).toEqual([
      expect.objectContaining({ verdict: 'limit', poll: 1, confirmed: false }),
    ]);
    expect(first.outcome.events[0]).toMatchObject({
      name: 'quota.detected',
      level: 'warn',
      fields: { confirmed: false, poll: 1 },
    });
    expect(first.next.quota.suspects['ccl-0']).toMatchObject({
      account: 'primary',
      polls: 1,
      firstSeenAt: NOW.toISOString(),
    });

    const second = run(evidence({ 'ccl-0': { pane: NO_RESET } }), first.next, {
      now: new Date(NOW.getTime() + MIN),
    });
    expect(second.outcome.detections[0]).toMatchObject({ poll: 2, confirmed: true });
    expect(second.outcome.swap).toMatchObject({
      from: 'primary',
      // Without a reset the account is out for quota.defaultExhaustion (5 h).
      exhaustedUntil: new Date(NOW.getTime() + MIN + 5 * HOUR).toISOString(),
    });
    expect(second.next.quota.suspects).toEqual({});
  });

  it('confirms at once when confirmPolls is 1', () => {
    const { outcome } = run(evidence({ 'ccl-0': { pane: NO_RESET } }), emptyState(), {
      config: makeConfig({ confirmPolls: 1 }),
    });
    expect(outcome.swap).toMatchObject({ from: 'primary' });
  });

  it("starts over when the suspicion was another account's", () => {
    const state = emptyState();
    state.quota.suspects['ccl-0'] = {
      account: 'backup',
      pattern: null,
      line: NO_RESET,
      firstSeenAt: at(-MIN),
      polls: 1,
    };
    const { outcome } = run(evidence({ 'ccl-0': { pane: NO_RESET } }), state);
    expect(outcome).toMatchObject({ decision: 'suspected', swap: null });
    expect(outcome.detections[0]).toMatchObject({ poll: 1 });
  });

  it('clears the suspicion on a clean poll (quota.cleared) and drops it for sessions gone', () => {
    const first = run(
      evidence({ 'ccl-0': { pane: NO_RESET }, 'ccl-1': { pane: NO_RESET } }),
      emptyState(),
    );
    const { outcome, next } = run(evidence({ 'ccl-0': { pane: 'all good' } }), first.next);
    expect(outcome.decision).toBe('clean');
    expect(outcome.events).toEqual([
      { name: 'quota.cleared', fields: { session: 'ccl-0', account: 'primary' } },
    ]);
    expect(next.quota.suspects).toEqual({});
  });

  it('ignores a redrawn limit whose reset is the one of the account it left', () => {
    const state = emptyState();
    state.activeAccount = 'backup';
    accountState(state, 'primary').exhaustedUntil = '2026-06-01T15:00:30.000Z';
    const { outcome } = run(evidence({ 'ccl-0': { pane: RESET_3PM } }, noFiles(), 'backup'), state);
    expect(outcome).toMatchObject({ decision: 'clean', swap: null });
    expect(outcome.detections).toEqual([]);
  });
});

describe('decideQuota: stale evidence and resets about to happen', () => {
  it('reports a limit whose reset has passed as stale and does nothing', () => {
    const { outcome } = run(
      evidence({
        'ccl-0': { pane: RESET_PASSED, hooks: [{ error: 'rate_limit', text: RESET_PASSED }] },
      }),
      emptyState(),
    );
    expect(outcome).toMatchObject({ decision: 'clean', swap: null, limit: null });
    expect(outcome.detections.map((d) => [d.source, d.verdict, d.confirmed])).toEqual([
      ['hook', 'stale', false],
      ['pane', 'stale', false],
    ]);
  });

  it('does not swap for a reset within skipIfResetWithin, yet marks the account until then', () => {
    const { outcome, next } = run(evidence({ 'ccl-0': { pane: RESET_SOON } }), emptyState());
    expect(outcome).toMatchObject({ decision: 'skip-reset-soon', swap: null });
    expect(outcome.events.at(-1)).toEqual({
      name: 'quota.skip-swap',
      fields: {
        account: 'primary',
        resetsAt: '2026-06-01T12:05:00.000Z',
        reason: 'the reset is about to happen',
      },
    });
    expect(next.accounts.primary?.exhaustedUntil).toBe('2026-06-01T12:05:00.000Z');
    expect(next.pendingSwap).toBeNull();
    // Not consumed: after the reset, the same line is still this account's evidence.
    expect(next.quota.consumed).toEqual({});
  });

  it('swaps when the same reset is just outside skipIfResetWithin', () => {
    const { outcome } = run(evidence({ 'ccl-0': { pane: RESET_SOON } }), emptyState(), {
      config: makeConfig({ skipIfResetWithin: '5m' }),
    });
    expect(outcome.swap).toMatchObject({ exhaustedUntil: '2026-06-01T12:05:00.000Z' });
  });
});

describe('decideQuota: hooks, transcript and auth errors', () => {
  it('confirms a StopFailure rate_limit at once, reset or not, and skips the transcript', () => {
    const { outcome } = run(
      evidence({
        'ccl-0': { hooks: [{ error: 'rate_limit', text: 'limited' }], transcript: RESET_3PM },
      }),
      emptyState(),
    );
    expect(outcome.detections).toEqual([
      expect.objectContaining({
        source: 'hook',
        verdict: 'limit',
        confirmed: true,
        pattern: 'hook:StopFailure.rate_limit',
      }),
    ]);
    expect(outcome.swap).toMatchObject({ reason: 'usage limit (hook:StopFailure.rate_limit)' });
  });

  it('does not swap for a 429 whose text says it is a server throttle, hook or transcript', () => {
    const throttle =
      "API Error: Server is temporarily limiting requests (not your usage limit) · This request would exceed your account's rate limit. Please try again later.";
    for (const s of [
      { hooks: [{ error: 'rate_limit', text: throttle }] },
      { transcript: throttle },
    ]) {
      const { outcome } = run(evidence({ 'ccl-0': s }), emptyState());
      expect(outcome.swap).toBeNull();
      expect(outcome.detections).toEqual([
        expect.objectContaining({
          verdict: 'transient',
          confirmed: false,
          pattern: 'transient.server-throttle',
        }),
      ]);
    }
  });

  it('takes the transcript 429 record of an agent without hooks', () => {
    const { outcome } = run(evidence({ 'ccl-0': { transcript: 'Rate limited' } }), emptyState());
    expect(outcome.detections[0]).toMatchObject({
      source: 'transcript',
      confirmed: true,
      pattern: 'transcript:api-error-429',
    });
  });

  it('marks an auth error, logs it (error) and swaps away', () => {
    const { outcome, next } = run(
      evidence({
        'ccl-0': { hooks: [{ error: 'authentication_failed' }] },
        'ccl-1': { hooks: [{ error: 'account_on_hold' }, { error: 'server_error' }] },
      }),
      emptyState(),
    );
    expect(outcome.decision).toBe('auth-error');
    expect(outcome.events).toEqual([
      {
        name: 'account.auth-error',
        fields: {
          account: 'primary',
          sessions: ['ccl-0', 'ccl-1'],
          detail: 'StopFailure authentication_failed, account_on_hold',
        },
        level: 'error',
      },
    ]);
    expect(outcome.swap).toEqual({
      from: 'primary',
      reason: 'auth-error',
      trigger: {
        session: 'ccl-0',
        pattern: 'hook:StopFailure.authentication_failed',
        snippet: null,
      },
    });
    expect(next.accounts.primary?.authErrorAt).toBe(NOW.toISOString());
    expect(
      run(evidence({ 'ccl-0': { hooks: [{ error: 'authentication_failed' }] } }), emptyState(), {
        noSwap: true,
      }).outcome,
    ).toMatchObject({ decision: 'auth-error', swap: null });
  });

  it('lets a confirmed limit win over an auth error', () => {
    const { outcome } = run(
      evidence({
        'ccl-0': { hooks: [{ error: 'authentication_failed' }] },
        'ccl-1': { pane: RESET_3PM },
      }),
      emptyState(),
    );
    expect(outcome.swap).toMatchObject({ reason: 'usage limit (limit.hit-your-window)' });
    expect(names(outcome)).not.toContain('account.auth-error');
  });

  it('--no-swap records the limit and the request, and swaps nothing', () => {
    const { outcome, next } = run(evidence({ 'ccl-0': { pane: RESET_3PM } }), emptyState(), {
      noSwap: true,
    });
    expect(outcome).toMatchObject({ decision: 'no-swap', swap: null });
    expect(next.pendingSwap).toMatchObject({ account: 'primary' });
  });
});

describe('decideQuota: 500/529 bursts never swap', () => {
  it('ten polls of 500 retries and 529 overloads: no suspicion, no swap, each line logged once', () => {
    let state = emptyState();
    const detected: string[] = [];
    for (let poll = 0; poll < 10; poll++) {
      const ev = evidence({
        'ccl-0': {
          pane: RETRY_500,
          hooks: [{ error: 'server_error', text: 'Internal server error' }],
        },
        'ccl-1': { pane: OVERLOADED_529 },
      });
      const r = run(ev, state, { now: new Date(NOW.getTime() + poll * 5000) });
      expect(r.outcome).toMatchObject({ decision: 'clean', swap: null, limit: null });
      detected.push(
        ...r.outcome.events.map((e) => `${String(e.fields.session)}:${String(e.fields.verdict)}`),
      );
      state = r.next;
    }
    expect(detected).toEqual(['ccl-0:transient', 'ccl-1:transient']);
    expect(state.quota.suspects).toEqual({});
    expect(state.pendingSwap).toBeNull();
  });
});

describe('decideQuota: usage thresholds', () => {
  const files = (percent: number) => ({
    ...noFiles(),
    primary: { usage: usageAt(percent), credentialsMtimeMs: null },
  });

  it('over swapAt: requests a proactive swap for the next idle moment', () => {
    const { outcome, next } = run(evidence({ 'ccl-0': { pane: '' } }, files(99)), emptyState());
    expect(outcome.waitForIdle).toEqual({
      events: [
        {
          name: 'quota.swap-requested',
          fields: {
            account: 'primary',
            reason: 'usage 99% is over swapAt (98%)',
            proactive: true,
          },
        },
      ],
    });
    // A proactive swap does not mark the source exhausted.
    expect(outcome.swap).toEqual({
      from: 'primary',
      reason: 'usage 99% is over swapAt (98%)',
      trigger: null,
    });
    expect(next.pendingSwap).toMatchObject({ proactive: true, requestedAt: NOW.toISOString() });
    // The request is logged once: the next run finds it pending.
    const again = run(evidence({ 'ccl-0': {} }, files(99)), next, {
      now: new Date(NOW.getTime() + MIN),
    });
    expect(again.outcome.waitForIdle).toEqual({ events: [] });
    expect(again.next.pendingSwap?.requestedAt).toBe(NOW.toISOString());
  });

  it('over drainAt but under swapAt: no request; a proactive one is dropped', () => {
    const state = emptyState();
    state.pendingSwap = {
      account: 'primary',
      reason: 'usage 99% is over swapAt (98%)',
      trigger: null,
      requestedAt: at(-MIN),
      proactive: true,
    };
    const { outcome, next } = run(evidence({ 'ccl-0': {} }, files(95)), state);
    expect(outcome).toMatchObject({ decision: 'clean', swap: null, waitForIdle: null });
    expect(next.pendingSwap).toBeNull();
  });

  it('a window that has reset counts as zero', () => {
    const usage = { ...usageAt(100), fiveHour: { usedPercentage: 100, resetsAt: at(-MIN) } };
    const { outcome } = run(
      evidence({}, { ...noFiles(), primary: { usage, credentialsMtimeMs: null } }),
      emptyState(),
    );
    expect(outcome).toMatchObject({ decision: 'clean', swap: null });
  });

  it('a pending limit swap is carried out with the recorded exhaustion', () => {
    const state = emptyState();
    accountState(state, 'primary').exhaustedUntil = at(2 * HOUR);
    state.pendingSwap = {
      account: 'primary',
      reason: 'usage limit (limit.hit-your-window)',
      trigger: null,
      requestedAt: at(-MIN),
      proactive: false,
    };
    const { outcome } = run(evidence({}), state);
    expect(outcome.waitForIdle).toBeNull();
    expect(outcome.swap).toMatchObject({ from: 'primary', exhaustedUntil: at(2 * HOUR) });
  });

  it('a request for an account already left is stale', () => {
    const request = {
      account: 'backup',
      reason: 'x',
      trigger: null,
      requestedAt: at(-MIN),
      proactive: false,
    };
    expect(nextPendingSwap(request, 'primary', null)).toBeNull();
  });
});

describe('decideQuota: repeated evidence', () => {
  it('logs hook evidence once (repeat: true later) and account.exhausted once per change', () => {
    const hook = (text: string) =>
      evidence({ 'ccl-0': { hooks: [{ error: 'rate_limit', text }] } });
    const first = run(hook(RESET_3PM), emptyState());
    expect(names(first.outcome)).toEqual(['quota.detected', 'account.exhausted']);

    const second = run(hook(RESET_3PM), first.next, { now: new Date(NOW.getTime() + MIN) });
    expect(second.outcome.detections[0]).toMatchObject({ repeat: true, confirmed: true });
    expect(second.outcome.events).toEqual([]);
    // Still evidence: the swap is asked for again.
    expect(second.outcome.swap).toMatchObject({ from: 'primary' });

    // A later reset is a new limit: both lines again.
    const later = "You've hit your session limit · resets 5pm (UTC)";
    const third = run(hook(later), second.next, { now: new Date(NOW.getTime() + 2 * MIN) });
    expect(names(third.outcome)).toEqual(['quota.detected', 'account.exhausted']);
    expect(third.outcome.detections[0]).not.toHaveProperty('repeat');
  });

  it('without a reset, the moving default exhaustion is the same limit, not a change', () => {
    const hook = evidence({ 'ccl-0': { hooks: [{ error: 'rate_limit', text: 'limited' }] } });
    const first = run(hook, emptyState());
    const second = run(
      evidence({ 'ccl-0': { hooks: [{ error: 'rate_limit', text: 'limited again' }] } }),
      first.next,
      { now: new Date(NOW.getTime() + MIN) },
    );
    expect(names(second.outcome)).toEqual(['quota.detected']);
  });
});

describe('all accounts exhausted', () => {
  const episode = (backupOut: boolean) => {
    const state = emptyState();
    state.noUsableAccountSince = at(-HOUR);
    // The active account was marked on an earlier run.
    accountState(state, 'primary').exhaustedUntil = at(3 * HOUR);
    if (backupOut) accountState(state, 'backup').exhaustedUntil = at(HOUR);
    return state;
  };

  it('the episode lasts while no account can take over', () => {
    const { outcome, next } = run(evidence({ 'ccl-0': { pane: RESET_3PM } }), episode(true));
    // The swap is still asked for: runSwap finds no target and reports no-usable-account.
    expect(outcome.swap).toMatchObject({ from: 'primary' });
    expect(next.noUsableAccountSince).toBe(at(-HOUR));
  });

  it('ends when an account is usable and the active one is not exhausted', () => {
    const activeBack = episode(false);
    accountState(activeBack, 'primary').exhaustedUntil = at(-MIN);
    expect(run(evidence({}), activeBack).next.noUsableAccountSince).toBeNull();
    // The active account is still out: the episode goes on, whatever else is usable.
    expect(run(evidence({}), episode(false)).next.noUsableAccountSince).toBe(at(-HOUR));
  });
});

describe('pickSwapTarget with the account files read beforehand', () => {
  const three = parseConfig(
    {
      stateDir: '/nonexistent/claude-failover-state',
      accounts: [
        { name: 'a', configDir: '/nonexistent/a', priority: 1 },
        { name: 'b', configDir: '/nonexistent/b', priority: 2 },
        { name: 'c', configDir: '/nonexistent/c', priority: 2 },
      ],
    },
    '/virtual/config.yaml',
    { env: {} },
  );
  const files = (usage: Record<string, number>, mtimes: Record<string, number> = {}) =>
    Object.fromEntries(
      ['a', 'b', 'c'].map((n) => [
        n,
        {
          usage: usage[n] === undefined ? null : usageAt(usage[n]),
          credentialsMtimeMs: mtimes[n] ?? null,
        },
      ]),
    );
  const pick = (state: State, f: Record<string, AccountFiles>, exclude = ['a']) =>
    pickSwapTarget(three, state, NOW, exclude, f)?.name ?? null;

  it('takes the lowest priority, then the most headroom', () => {
    expect(pick(emptyState(), files({}), [])).toBe('a');
    expect(pick(emptyState(), files({ b: 50, c: 10 }))).toBe('c');
    expect(pick(emptyState(), files({ b: 10, c: 50 }))).toBe('b');
  });

  it('skips exhausted accounts, those over swapAt, and auth errors until the login changes', () => {
    const state = emptyState();
    accountState(state, 'b').exhaustedUntil = at(HOUR);
    accountState(state, 'c').authErrorAt = at(-HOUR);
    expect(pick(state, files({}))).toBeNull();
    expect(pick(state, files({}, { c: NOW.getTime() }))).toBe('c');
    expect(pick(emptyState(), files({ b: 98, c: 99 }))).toBeNull();
  });
});
