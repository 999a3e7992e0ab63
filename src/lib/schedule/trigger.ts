/**
 * `hook trigger <kind>`: the detached runner a hook starts (core/triggers.ts is the hook's
 * side; README: Triggers). It takes the kind's lock; a runner already holding it will see
 * the hook's pending mark, so this one just leaves. Under the lock it takes the mark and runs
 * the step, as many times as marks arrived during the runs; after it lets the lock go it
 * looks once more, so a mark left in between is never stranded.
 *
 * - `limit` runs `quota check`: the same evidence, confirmation rules, cooldown and swap
 *   lock as the timer's, so a trigger can only make the check earlier, never different.
 * - `idle` runs the swap that waits for an idle moment (when one is pending), then
 *   `dispatch`. An agent's screen can still show its turn for a moment after the Stop hook,
 *   so dispatch is retried briefly while the triggering session is refused for that alone.
 *
 * Each run is recorded in `<stateDir>/triggers/<kind>.json` for `status` and `doctor`, and a
 * failed run is a `trigger.failed` event: never the hook's failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { CliError, EXIT } from '../core/errors.js';
import { logEvent } from '../core/events.js';
import { ensurePrivateDir, writeFileAtomic } from '../core/fs-atomic.js';
import { ioFaultError } from '../core/io-faults.js';
import { isLocked, tryLock } from '../core/lock.js';
import {
  hasPendingTrigger,
  readTriggerRecord,
  takePendingTrigger,
  TRIGGER_SUCCESS,
  triggerLockFile,
  triggerRecordFile,
  type TriggerKind,
  type TriggerRecord,
  type TriggerRequest,
  type TriggerRun,
} from '../core/triggers.js';

export interface TriggerResult {
  kind: TriggerKind;
  /** No run: another runner held the lock (it serves the request), or nothing was pending. */
  runs: TriggerRun[];
  exitCode: number;
}

/** A burst of triggers is served by a few runs; more than this waits for the next trigger or tick. */
const MAX_RUNS = 10;
/** How long dispatch keeps trying a session whose screen still shows the turn that just ended. */
const SCREEN_SETTLE_MS = 3000;
const SCREEN_RETRY_MS = 150;

function record(ctx: Context, kind: TriggerKind, run: TriggerRun): void {
  const stateDir = ctx.config.stateDir;
  const prev = readTriggerRecord(stateDir, kind);
  const failed = !TRIGGER_SUCCESS.has(run.exitCode);
  const next: TriggerRecord = {
    kind,
    runs: (prev?.runs ?? 0) + 1,
    failures: (prev?.failures ?? 0) + (failed ? 1 : 0),
    last: run,
    lastFailure: failed ? run : (prev?.lastFailure ?? null),
  };
  const file = triggerRecordFile(stateDir, kind);
  ensurePrivateDir(path.dirname(file));
  writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`);
  if (failed)
    logEvent(
      ctx,
      'trigger.failed',
      {
        trigger: kind,
        session: run.request.session,
        reason: run.request.reason,
        exitCode: run.exitCode,
        error: run.error ?? run.summary,
      },
      'error',
    );
}

async function quotaStep(ctx: Context) {
  const { runQuotaCheck } = await import('../quota/check.js');
  const r = await runQuotaCheck(ctx);
  return {
    summary: `quota check: ${r.decision}`,
    exitCode: r.exitCode,
    swapped: r.decision === 'swapped',
  };
}

/** Bounds the wait for a running swap: longer than any swap, shorter than a stuck lock. */
const SWAP_WAIT_MS = 10 * 60_000;
const SWAP_POLL_MS = 200;

/**
 * Waits while a swap holds its lock: dispatch refuses every session in the middle of one,
 * which would lose the trigger. A swap killed mid-way leaves a lock that goes stale, and its
 * journal for the next run (the tick) to finish.
 */
async function afterRunningSwap(ctx: Context): Promise<void> {
  const lock = path.join(ctx.config.stateDir, 'swap');
  const deadline = Date.now() + SWAP_WAIT_MS;
  while (Date.now() < deadline && (await isLocked(lock, ctx.config.lock.staleAfter)))
    await sleep(SWAP_POLL_MS);
}

/** Dispatch, retried while the triggering session's screen lags behind its Stop hook. */
async function dispatchStep(ctx: Context, session: string | null) {
  const { runDispatch } = await import('../dispatch/dispatch.js');
  const deadline = Date.now() + SCREEN_SETTLE_MS;
  let report = await runDispatch(ctx, {});
  let dispatched = report.assignments.length;
  while (
    !report.assignments.some((a) => a.session === session) &&
    screenLags(report, session) &&
    Date.now() < deadline
  ) {
    await sleep(SCREEN_RETRY_MS);
    report = await runDispatch(ctx, {});
    dispatched += report.assignments.length;
  }
  return {
    summary: `dispatch: ${dispatched} dispatched`,
    exitCode: report.errors.length ? EXIT.FAILURE : EXIT.OK,
  };
}

/** The screen of `session` still shows a turn running: the one whose end triggered us. */
const screenLags = (
  report: { sessions: Array<{ session: string; reason: string | null }> },
  session: string | null,
) =>
  report.sessions.some(
    (s) => s.session === session && /^working \(the pane|pane shows no prompt/.test(s.reason ?? ''),
  );

/**
 * `limit`: quota check; after a swap the relaunched sessions without a task are idle, and no
 * Stop hook will say so, so dispatch runs too.
 */
async function limitStep(ctx: Context, request: TriggerRequest) {
  const q = await quotaStep(ctx);
  if (!q.swapped) return q;
  const d = await dispatchStep(ctx, request.session);
  return { summary: `${q.summary}; ${d.summary}`, exitCode: q.exitCode || d.exitCode };
}

/** `idle`: the swap waiting for an idle moment, if one is pending, then dispatch. */
async function idleStep(ctx: Context, request: TriggerRequest) {
  const parts: string[] = [];
  let exitCode: number = EXIT.OK;
  await afterRunningSwap(ctx);
  if (ctx.state.read().pendingSwap) {
    const q = await quotaStep(ctx);
    parts.push(q.summary);
    exitCode = q.exitCode;
  }
  const d = await dispatchStep(ctx, request.session);
  parts.push(d.summary);
  return { summary: parts.join('; '), exitCode: exitCode || d.exitCode };
}

async function runOnce(ctx: Context, kind: TriggerKind, request: TriggerRequest) {
  const startedAt = ctx.clock.now();
  const t0 = Date.now();
  let result: { summary: string; exitCode: number; error: string | null };
  try {
    const r = kind === 'limit' ? await limitStep(ctx, request) : await idleStep(ctx, request);
    result = { ...r, error: null };
  } catch (thrown) {
    // A full disk or a read-only stateDir is one line naming the file, exit 74, as anywhere.
    const err = ioFaultError(thrown, { stateDir: ctx.config.stateDir }) ?? thrown;
    result = {
      summary: 'failed',
      exitCode: err instanceof CliError ? err.exitCode : EXIT.FAILURE,
      error: (err as Error).message,
    };
  }
  const run: TriggerRun = {
    request,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - t0,
    ...result,
  };
  try {
    record(ctx, kind, run);
  } catch {
    // The record is for the report; the step itself ran, and trigger.log has our output.
  }
  return run;
}

/** Serves every pending request of `kind` (see the top of this file). */
export async function runTrigger(ctx: Context, kind: TriggerKind): Promise<TriggerResult> {
  const stateDir = ctx.config.stateDir;
  const runs: TriggerRun[] = [];
  while (runs.length < MAX_RUNS && hasPendingTrigger(stateDir, kind)) {
    ensurePrivateDir(path.dirname(triggerLockFile(stateDir, kind)));
    const release = await tryLock(triggerLockFile(stateDir, kind), {
      staleAfter: ctx.config.lock.staleAfter,
    });
    if (!release) break; // its holder sees the mark, before or after it lets go
    try {
      while (runs.length < MAX_RUNS) {
        const request = takePendingTrigger(stateDir, kind);
        if (!request) break;
        runs.push(await runOnce(ctx, kind, request));
      }
    } finally {
      await release();
    }
  }
  const worst = runs.find((r) => !TRIGGER_SUCCESS.has(r.exitCode));
  return { kind, runs, exitCode: worst?.exitCode ?? EXIT.OK };
}
