/** `quota check` on real tmux panes running the simulated agent. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAccountUnusableError } from '../src/lib/accounts/condition.js';
import { deliverPrompt } from './helpers/type-prompt.js';
import { readEvents } from '../src/lib/core/events.js';
import { appendSignal } from '../src/lib/claude/signals.js';
import { processEnv, simSandbox, waitFor, type SimSandbox } from './helpers/sim.js';

type Json = Record<string, unknown>;

/** A clock-only reset text `h` hours from now, in UTC: `resets 4:30pm (UTC)`. */
function resetIn(hours: number): string {
  const d = new Date(Date.now() + hours * 3_600_000);
  let h = d.getUTCHours();
  const ampm = h >= 12 ? 'pm' : 'am';
  h = h % 12 || 12;
  return `resets ${h}:${String(d.getUTCMinutes()).padStart(2, '0')}${ampm} (UTC)`;
}

async function pool(sb: SimSandbox, names: string[]): Promise<void> {
  expect((await sb.cli(['setup'])).exitCode).toBe(0);
  expect((await sb.cli(['session', 'start'])).exitCode).toBe(0);
  for (const n of names) {
    expect(await deliverPrompt(sb.tmux, n, `/sim say ready ${n}`)).toBe(true);
    await sb.waitForPane(n, new RegExp(`● ready ${n}`));
  }
}

async function check(sb: SimSandbox, args: string[] = []): Promise<Json & { exitCode: number }> {
  const r = await sb.cli(['quota', 'check', '--json', ...args]);
  expect(r.stderr).not.toMatch(/error:(?! no account)/);
  return { ...(JSON.parse(r.stdout) as Json), exitCode: r.exitCode };
}

/** Shows text in the pane only, as an agent without hooks would. */
async function show(sb: SimSandbox, session: string, text: string): Promise<void> {
  expect(await deliverPrompt(sb.tmux, session, `/sim print ${text}`)).toBe(true);
  await sb.waitForPane(
    session,
    new RegExp(text.slice(0, 20).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
  );
}

function state(sb: SimSandbox): Json {
  return JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')) as Json;
}

const swaps = (sb: SimSandbox) => (state(sb).swaps as unknown[]).length;

describe('quota check', () => {
  it('swaps on the first poll when the limit shows a reset time', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    await pool(sb, ['ccl-0', 'ccl-1']);
    const reset = resetIn(3);
    await show(sb, 'ccl-1', `⎿  You've hit your session limit · ${reset}`);
    const r = await check(sb);
    expect(r).toMatchObject({ decision: 'swapped', exitCode: 0 });
    expect(r.limit).toMatchObject({ account: 'primary', trigger: { session: 'ccl-1' } });
    const st = state(sb) as { accounts: Record<string, Json>; lastSwap: Json };
    expect(st.lastSwap).toMatchObject({
      from: 'primary',
      to: 'backup',
      trigger: { session: 'ccl-1', pattern: expect.stringMatching(/^limit\./) },
    });
    expect(Date.parse(st.accounts.primary!.exhaustedUntil as string)).toBeGreaterThan(
      Date.now() + 2.5 * 3_600_000,
    );
    // The forensic line: session, account, pattern, verdict, resetsAt, poll, snippet.
    const detected = readEvents(sb.stateDir).find((e) => e.event === 'quota.detected');
    expect(detected).toMatchObject({
      session: 'ccl-1',
      account: 'primary',
      verdict: 'limit',
      poll: 1,
      resetsAt: expect.any(String),
      snippet: expect.stringContaining("You've hit your session limit"),
    });
    expect((detected!.snippet as string).length).toBeLessThanOrEqual(120);
    // The metrics' counters: one detection by its pattern, one swap by outcome and trigger.
    const pattern = detected!.pattern as string;
    expect(state(sb).counters).toEqual({
      swaps: { completed: 1 },
      swapTriggers: { [pattern]: 1 },
      detections: { [`limit|${pattern}`]: 1 },
    });
    const pid = (await sb.tmux.sessions()).get('ccl-0')!.pid!;
    expect(processEnv(pid).CLAUDE_FAILOVER_ACCOUNT).toBe('backup');
  });

  it('confirms a limit without a reset only on the second poll', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await pool(sb, ['ccl-0']);
    await show(
      sb,
      'ccl-0',
      `⎿  You've reached your Fable 5 limit. Run /usage-credits to continue or switch models with /model.`,
    );
    const first = await check(sb);
    expect(first.decision).toBe('suspected');
    expect(swaps(sb)).toBe(0);
    expect((state(sb).quota as { suspects: Json }).suspects).toHaveProperty('ccl-0');
    const second = await check(sb);
    expect(second.decision).toBe('swapped');
    expect((second.detections as Json[])[0]).toMatchObject({ poll: 2, confirmed: true });
    expect(swaps(sb)).toBe(1);
  });

  it("suspects the error view's raw 429, confirms it on the next poll", async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await pool(sb, ['ccl-0']);
    await show(
      sb,
      'ccl-0',
      `⎿  Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account's rate limit. Please try again later."}}`,
    );
    expect((await check(sb)).decision).toBe('suspected');
    const second = await check(sb);
    expect(second.decision).toBe('swapped');
    expect((second.detections as Json[])[0]).toMatchObject({
      pattern: 'limit.api-rate-limit',
      kind: 'rate-limit',
      poll: 2,
      confirmed: true,
    });
  });

  it('confirms at once a 429 retry row that waits long, with its reset; a short one never', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await pool(sb, ['ccl-0']);
    await show(sb, 'ccl-0', '✻ Rate limited · Retrying in 9s · attempt 1/10');
    expect((await check(sb)).decision).toBe('clean');
    await show(sb, 'ccl-0', '✻ Rate limited · Retrying in 48m · attempt 2/10');
    const before = Date.now();
    const r = await check(sb);
    const after = Date.now();
    expect(r.decision).toBe('swapped');
    expect((r.detections as Json[])[0]).toMatchObject({
      pattern: 'limit.rate-limit-retry',
      confirmed: true,
      poll: 1,
    });
    const until = Date.parse(
      (state(sb).accounts as Record<string, Json>).primary!.exhaustedUntil as string,
    );
    // 48 minutes from the moment the check ran (bracketed by the clock around it).
    expect(until).toBeGreaterThanOrEqual(before + 48 * 60_000 - 1000);
    expect(until).toBeLessThanOrEqual(after + 48 * 60_000 + 1000);
  });

  it('clears the suspicion on a clean poll', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', extra: 'quota: { scanLines: 6 }' });
    await pool(sb, ['ccl-0']);
    await show(
      sb,
      'ccl-0',
      `⎿  You've reached your Fable 5 limit. Run /usage-credits to continue.`,
    );
    expect((await check(sb)).decision).toBe('suspected');
    // The agent recovered: the message scrolled out of the scanned lines.
    for (let i = 0; i < 4; i++) {
      expect(await deliverPrompt(sb.tmux, 'ccl-0', `/sim say fine ${i}`)).toBe(true);
      await sb.waitForPane('ccl-0', new RegExp(`● fine ${i}`));
    }
    expect((await check(sb)).decision).toBe('clean');
    expect((state(sb).quota as { suspects: Json }).suspects).toEqual({});
    expect(readEvents(sb.stateDir).map((e) => e.event)).toContain('quota.cleared');
    expect((await check(sb)).decision).toBe('clean');
    expect(swaps(sb)).toBe(0);
  });

  it('never swaps for a burst of 500 errors whose text says "rate limit" (10 polls)', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    await pool(sb, ['ccl-0', 'ccl-1']);
    for (let poll = 0; poll < 10; poll++) {
      if (poll % 3 === 0) {
        for (const s of ['ccl-0', 'ccl-1']) {
          expect(await deliverPrompt(sb.tmux, s, '/sim error500 4')).toBe(true);
        }
        await sb.waitForPane('ccl-1', /attempt 4\/10/);
      }
      const r = await check(sb);
      expect(r.decision, JSON.stringify(r.detections)).toBe('clean');
    }
    expect(swaps(sb)).toBe(0);
    expect(state(sb).pendingSwap).toBeNull();
    expect(readEvents(sb.stateDir).some((e) => e.event === 'swap.started')).toBe(false);
  });

  it('ignores a limit message whose reset time has passed (stale)', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await pool(sb, ['ccl-0']);
    await show(sb, 'ccl-0', `⎿  You've hit your session limit · ${resetIn(-1)}`);
    const r = await check(sb);
    expect(r.decision).toBe('clean');
    expect(r.detections).toEqual([expect.objectContaining({ verdict: 'stale' })]);
    expect(swaps(sb)).toBe(0);
  });

  it('confirms the StopFailure hook at once, then suppresses detection in the cooldown', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}', extra: 'quota: { reactivateCooldown: 4s }' });
    await pool(sb, ['ccl-0', 'ccl-1']);
    const text = `You've hit your 5-hour limit · ${resetIn(2)}`;
    sb.setLimit('primary', text);
    expect(await deliverPrompt(sb.tmux, 'ccl-0', 'keep going')).toBe(true);
    await waitFor(() => {
      const f = path.join(sb.stateDir, 'signals', 'ccl-0.jsonl');
      return fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes('rate_limit');
    }, 'the StopFailure signal');
    const r = await check(sb);
    expect(r.decision).toBe('swapped');
    expect((r.detections as Json[]).find((d) => d.source === 'hook')).toMatchObject({
      session: 'ccl-0',
      confirmed: true,
    });
    // The resumed agents redraw the old limit message: within the cooldown nothing is read,
    // and after it the redrawn line is known as already acted on.
    await sb.waitForPane('ccl-0', /You've hit your 5-hour limit/);
    expect((await check(sb)).decision).toBe('suppressed');
    await new Promise((r2) => setTimeout(r2, 4200));
    expect((await check(sb)).decision).toBe('clean');
    expect(swaps(sb)).toBe(1);
    expect(state(sb).activeAccount).toBe('backup');
  });

  it('--no-swap records the limit and the request, and swaps nothing', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await pool(sb, ['ccl-0']);
    await show(sb, 'ccl-0', `⎿  You've hit your session limit · ${resetIn(4)}`);
    const r = await check(sb, ['--no-swap']);
    expect(r.decision).toBe('no-swap');
    const st = state(sb) as { accounts: Record<string, Json>; pendingSwap: Json };
    expect(st.accounts.primary!.exhaustedUntil).toEqual(expect.any(String));
    expect(st.pendingSwap).toMatchObject({ account: 'primary', proactive: false });
    expect(swaps(sb)).toBe(0);
    // The next run without --no-swap carries the request out.
    expect((await check(sb)).decision).toBe('swapped');
  });

  it('does not swap for a reset within skipIfResetWithin', async () => {
    const sb = simSandbox({ sessions: 'ccl-0', extra: 'quota: { skipIfResetWithin: 30m }' });
    await pool(sb, ['ccl-0']);
    await show(sb, 'ccl-0', `⎿  You've hit your session limit · ${resetIn(0.2)}`);
    expect((await check(sb)).decision).toBe('skip-reset-soon');
    expect(swaps(sb)).toBe(0);
  });
});

describe('quota check after a swap', () => {
  it("ignores a redrawn limit of the account it left (same reset), yet sees this account's own", async () => {
    const sb = simSandbox({ sessions: 'ccl-0', extra: 'quota: { reactivateCooldown: 1s }' });
    await pool(sb, ['ccl-0']);
    expect((await sb.cli(['swap', '--to', 'backup'])).exitCode).toBe(0);
    const reset = resetIn(3);
    // The account we left is exhausted until that reset (to the minute).
    const r0 = await sb.cli(['quota', 'explain', '--json', '-'], {
      input: `You've hit your session limit · ${reset}`,
    });
    const leftUntil = (JSON.parse(r0.stdout) as { resetsAt: string }).resetsAt;
    await (
      await sb.ctx()
    ).state.update((st) => {
      st.accounts.primary = {
        exhaustedUntil: leftUntil,
        exhaustedReason: 'limit.hit-your-window',
        authErrorAt: null,
        usage: null,
      };
    });
    await new Promise((r) => setTimeout(r, 1100));
    await show(sb, 'ccl-0', `⎿  You've hit your session limit · ${reset}`);
    expect((await check(sb)).decision).toBe('clean');
    // A limit of the backup itself, with its own reset, is still a limit.
    await show(sb, 'ccl-0', `⎿  You've hit your session limit · ${resetIn(4)}`);
    const r = await check(sb);
    expect(r.decision).toBe('no-usable-account');
  });
});

describe('StopFailure errors that mean the account cannot work', () => {
  it('are the auth errors of Claude Code 2.1.332, not quota', () => {
    for (const e of [
      'authentication_failed',
      'account_on_hold',
      'verification_required',
      'cloud_credential_error',
    ])
      expect([e, isAccountUnusableError(e)]).toEqual([e, true]);
    for (const e of ['rate_limit', 'server_error', 'overloaded', 'billing_error', 'unknown', ''])
      expect([e, isAccountUnusableError(e)]).toEqual([e, false]);
    expect(isAccountUnusableError(null)).toBe(false);
    expect(isAccountUnusableError(undefined)).toBe(false);
  });

  it('mark the account auth-error, notify, swap away, and never choose it again until its login changes', async () => {
    const sb = simSandbox({
      sessions: 'ccl-0',
      accounts: ['primary', 'backup', 'spare'],
      extra: 'quota: { reactivateCooldown: 1s }',
    });
    await pool(sb, ['ccl-0']);
    /** What the StopFailure hook records for an agent of `account`. */
    const stopFailure = (account: string, error: string) =>
      appendSignal(sb.stateDir, 'ccl-0', {
        ts: new Date().toISOString(),
        event: 'StopFailure',
        account,
        error,
        message: 'API Error: 403 {"type":"error","error":{"type":"permission_error"}}',
      });
    const accounts = async () =>
      Object.fromEntries(
        (JSON.parse((await sb.cli(['status', '--json'])).stdout).accounts as Json[]).map((a) => [
          a.name,
          a.status,
        ]),
      );

    stopFailure('primary', 'account_on_hold');
    const r = await check(sb);
    expect(r).toMatchObject({ decision: 'swapped', exitCode: 0 });
    const st = state(sb) as { accounts: Record<string, Json>; lastSwap: Json };
    expect(st.lastSwap).toMatchObject({
      from: 'primary',
      to: 'backup',
      reason: 'auth-error',
      trigger: { session: 'ccl-0', pattern: 'hook:StopFailure.account_on_hold' },
    });
    expect(st.accounts.primary!.authErrorAt).toEqual(expect.any(String));
    expect(st.accounts.primary!.exhaustedUntil ?? null).toBeNull();
    expect(readEvents(sb.stateDir)).toContainEqual(
      expect.objectContaining({
        event: 'account.auth-error',
        account: 'primary',
        sessions: ['ccl-0'],
        detail: 'StopFailure account_on_hold',
      }),
    );
    expect(await accounts()).toMatchObject({ primary: 'auth-error', backup: 'available' });

    // The backup fails the same way: the spare is next, not primary (priority 1).
    await new Promise((res) => setTimeout(res, 1100));
    stopFailure('backup', 'verification_required');
    expect(await check(sb)).toMatchObject({ decision: 'swapped', exitCode: 0 });
    expect(state(sb).lastSwap).toMatchObject({
      from: 'backup',
      to: 'spare',
      trigger: { pattern: 'hook:StopFailure.verification_required' },
    });

    // And the spare: no account is left that can work.
    await new Promise((res) => setTimeout(res, 1100));
    stopFailure('spare', 'cloud_credential_error');
    const last = await check(sb);
    expect(last).toMatchObject({ decision: 'no-usable-account', exitCode: 3 });
    expect(await accounts()).toEqual({
      primary: 'auth-error',
      backup: 'auth-error',
      spare: 'auth-error',
    });
    const errs = readEvents(sb.stateDir).filter((e) => e.event === 'account.auth-error');
    expect(errs.map((e) => [e.account, e.detail])).toEqual([
      ['primary', 'StopFailure account_on_hold'],
      ['backup', 'StopFailure verification_required'],
      ['spare', 'StopFailure cloud_credential_error'],
    ]);

    // A new /login rewrites primary's credentials: it can be chosen again.
    fs.writeFileSync(path.join(sb.accountDir('primary'), '.credentials.json'), '{}', {
      mode: 0o600,
    });
    expect((await accounts()).primary).toBe('available');
  });
});

describe('account.exhausted', () => {
  it('is logged once per change while the pool stays limited, not on every run', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    await pool(sb, ['ccl-0', 'ccl-1']);
    // The backup is out for hours; primary's agents report their own limit.
    await (
      await sb.ctx()
    ).state.update((st) => {
      st.accounts.backup = {
        exhaustedUntil: new Date(Date.now() + 6 * 86_400_000).toISOString(),
        exhaustedReason: 'limit.hit-your-window',
        authErrorAt: null,
        usage: null,
      };
    });
    const rateLimit = (session: string, message: string) =>
      appendSignal(sb.stateDir, session, {
        ts: new Date().toISOString(),
        event: 'StopFailure',
        account: 'primary',
        error: 'rate_limit',
        message,
      });
    const exhausted = () =>
      readEvents(sb.stateDir).filter(
        (e) => e.event === 'account.exhausted' && e.account === 'primary',
      );

    rateLimit('ccl-0', `You've hit your 5-hour limit · ${resetIn(3)}`);
    for (let run = 0; run < 4; run++) {
      const r = await check(sb);
      expect(r).toMatchObject({ decision: 'no-usable-account', exitCode: 3 });
    }
    expect(exhausted()).toHaveLength(1);
    const until = state(sb).accounts as Record<string, Json>;
    expect(exhausted()[0]).toMatchObject({ until: until.primary!.exhaustedUntil });

    // A later reset is news: the weekly limit of another session, days ahead.
    const week = new Date(Date.now() + 3 * 86_400_000);
    const month = week.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
    rateLimit(
      'ccl-1',
      `You've hit your weekly limit · resets ${month} ${week.getUTCDate()}, 9pm (UTC)`,
    );
    for (let run = 0; run < 3; run++) expect((await check(sb)).exitCode).toBe(3);
    expect(exhausted()).toHaveLength(2);
    expect(Date.parse(exhausted()[1]!.until as string)).toBeGreaterThan(
      Date.now() + 2 * 86_400_000,
    );
    // The swap's own notification stays once per episode.
    expect(readEvents(sb.stateDir).filter((e) => e.event === 'accounts.exhausted')).toHaveLength(1);
    // And each piece of evidence has one forensic line, not one per run: nothing in the log
    // repeats itself while the pool waits.
    const detected = readEvents(sb.stateDir).filter((e) => e.event === 'quota.detected');
    expect(detected.map((e) => [e.session, e.source])).toEqual([
      ['ccl-0', 'hook'],
      ['ccl-1', 'hook'],
    ]);
    const perRun = (await check(sb)).detections as Json[];
    expect(perRun.filter((d) => d.repeat)).toHaveLength(2);
    expect(readEvents(sb.stateDir).filter((e) => e.event === 'quota.detected')).toHaveLength(2);
    // The counter counts the lines, not the runs.
    const counted = (state(sb).counters as { detections: Record<string, number> }).detections;
    expect(Object.values(counted).reduce((a, b) => a + b, 0)).toBe(2);
  });
});
