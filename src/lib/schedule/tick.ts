/**
 * `tick`: one full cycle of the pool, what cron or the systemd timer runs every minute:
 *
 * 1. `watch` (restart dead agents);
 * 2. `quota check` (which swaps);
 * 3. `dispatch`;
 * 4. `checkpoint`, when `checkpoint.interval` has passed since the last full run;
 * 5. `janitor`, when `janitor.interval` has passed;
 * 6. a retry of the notification outbox.
 *
 * It runs under its own lock: an overlapping tick exits 0 at once and logs `tick.skipped`
 * rather than queueing behind the other. A failing step is reported and the others still
 * run; the exit code is the worst step's (2 > 1 > 74 > 3 > 75 > 0: broken input first, then
 * failures, then a filesystem fault, then "impossible", then "busy").
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { CliError, EXIT } from '../core/errors.js';
import { ioFaultError, takeSkippedWrites } from '../core/io-faults.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../core/fs-atomic.js';
import { tryLock } from '../core/lock.js';
import { syncTriggerSettings } from '../core/triggers.js';
import { emit } from '../notify/index.js';

export type TickStepName = 'watch' | 'quota' | 'dispatch' | 'checkpoint' | 'janitor' | 'outbox';

export interface TickStep {
  step: TickStepName;
  /** False when the step was not due (checkpoint, janitor). */
  ran: boolean;
  exitCode: number;
  summary: string;
  error: string | null;
  /** What to do about the error (a corrupt state file: run `doctor --repair`). */
  hint: string | null;
  /** The errno code when a filesystem fault (ENOSPC, EROFS, …) skipped the step. */
  fault: string | null;
  durationMs: number;
}

export interface TickResult {
  skipped: boolean;
  steps: TickStep[];
  exitCode: number;
  /** Secondary writes skipped on a filesystem fault no step reported (see io-faults.ts). */
  warnings?: string[];
}

const SEVERITY = [
  EXIT.OK,
  EXIT.LOCK_BUSY,
  EXIT.IMPOSSIBLE,
  EXIT.IO,
  EXIT.FAILURE,
  EXIT.USAGE,
] as number[];

/** The worse of two exit codes by SEVERITY (an unknown code counts as a failure). */
function worseExit(a: number, b: number): number {
  const rank = (c: number) => (SEVERITY.includes(c) ? SEVERITY.indexOf(c) : SEVERITY.indexOf(1));
  return rank(b) > rank(a) ? b : a;
}

function due(last: string | undefined, interval: number, now: Date): boolean {
  return !last || now.getTime() - Date.parse(last) >= interval;
}

type StepFn = () => Promise<{ summary: string; exitCode?: number } | null>;

/**
 * The crontab line appends to `<stateDir>/cron.log`, which cron's shell creates with its own
 * umask (0644 or 0664): the tick it runs makes the log private like every other file there.
 */
async function privateCronLog(stateDir: string): Promise<void> {
  try {
    const log = path.join(stateDir, (await import('./cron.js')).CRON_LOG);
    if ((fs.statSync(log).mode & 0o777) !== PRIVATE_FILE_MODE) fs.chmodSync(log, PRIVATE_FILE_MODE);
  } catch {
    // No log (systemd, or a tick by hand), or not ours to change: nothing to do.
  }
}

/**
 * Records when this tick finished (`lastRun.tick`) and, when every step succeeded,
 * `lastRun.tickSuccess`: the metrics' heartbeat, so a dashboard can alarm on a dead timer.
 * A state file that cannot be written is already reported by the steps.
 */
async function recordTickEnd(ctx: Context, exitCode: number): Promise<void> {
  const at = ctx.clock.now().toISOString();
  await ctx.state
    .update((st) => {
      st.lastRun.tick = at;
      if (exitCode === EXIT.OK) st.lastRun.tickSuccess = at;
    })
    .catch((err: Error) => ctx.out.debug(`tick: cannot record its end: ${err.message}`));
}

export async function runTick(ctx: Context): Promise<TickResult> {
  ensurePrivateDir(ctx.config.stateDir);
  await privateCronLog(ctx.config.stateDir);
  // The hooks follow the config within a tick: turning triggers off needs no restart.
  syncTriggerSettings(ctx.config);
  const release = await tryLock(path.join(ctx.config.stateDir, 'tick'), {
    staleAfter: ctx.config.lock.staleAfter,
  });
  if (!release) {
    await emit(
      ctx,
      'tick.skipped',
      { reason: 'another tick is running' },
      { now: ctx.clock.now() },
    );
    return { skipped: true, steps: [], exitCode: EXIT.OK };
  }
  const steps: TickStep[] = [];
  let exitCode: number = EXIT.OK;
  const step = async (name: TickStepName, fn: StepFn) => {
    const t0 = Date.now();
    try {
      const r = await fn();
      steps.push({
        step: name,
        ran: r !== null,
        exitCode: r?.exitCode ?? 0,
        summary: r?.summary ?? 'not due',
        error: null,
        hint: null,
        fault: null,
        durationMs: Date.now() - t0,
      });
    } catch (thrown) {
      // A full disk or a read-only stateDir: the step is skipped and said so in one line
      // (the render prints a fault shared by several steps once); the next run catches up.
      const fault = ioFaultError(thrown, { stateDir: ctx.config.stateDir });
      const err = fault ?? thrown;
      const exitCode = err instanceof CliError ? err.exitCode : EXIT.FAILURE;
      steps.push({
        step: name,
        ran: true,
        exitCode,
        summary: fault ? 'skipped' : 'failed',
        error: (err as Error).message,
        hint: err instanceof CliError ? (err.hint ?? null) : null,
        fault: fault?.code ?? null,
        durationMs: Date.now() - t0,
      });
      await emit(
        ctx,
        'tick.step-failed',
        { step: name, exitCode, reason: (err as Error).message },
        { level: 'error', now: ctx.clock.now() },
      );
    }
  };
  try {
    await step('watch', async () => {
      const { runWatch } = await import('../watch/watch.js');
      const actions = await runWatch(ctx);
      const notable = actions.filter((a) => a.action !== 'ok' && a.action !== 'skipped');
      return {
        summary: notable.length
          ? notable.map((a) => `${a.session} ${a.action}`).join(', ')
          : `${actions.length} sessions checked`,
      };
    });
    await step('quota', async () => {
      const { runQuotaCheck } = await import('../quota/check.js');
      const r = await runQuotaCheck(ctx);
      return { summary: r.decision, exitCode: r.exitCode };
    });
    await step('dispatch', async () => {
      const { runDispatch } = await import('../dispatch/dispatch.js');
      const r = await runDispatch(ctx, {});
      return {
        summary: `${r.assignments.length} dispatched, ${r.failed.length} failed`,
        exitCode: r.errors.length ? EXIT.FAILURE : 0,
      };
    });
    await step('checkpoint', async () => {
      const now = ctx.clock.now();
      if (!due(ctx.state.read().lastRun.checkpoint, ctx.config.checkpoint.interval, now))
        return null;
      const { writeCheckpoints } = await import('../agents/checkpoint.js');
      const r = await writeCheckpoints(ctx, []);
      const written = r.results.filter((x) => x.written).length;
      const failed = r.results.filter((x) => x.error).length;
      return { summary: `${written} written`, exitCode: failed ? EXIT.FAILURE : 0 };
    });
    await step('janitor', async () => {
      const now = ctx.clock.now();
      if (!due(ctx.state.read().lastRun.janitor, ctx.config.janitor.interval, now)) return null;
      const { runJanitor } = await import('./janitor.js');
      const r = await runJanitor(ctx);
      return {
        summary: `${r.actions.length} actions`,
        exitCode: r.errors.length ? EXIT.FAILURE : 0,
      };
    });
    await step('outbox', async () => {
      const { retryOutbox } = await import('../notify/outbox.js');
      const r = await retryOutbox(ctx);
      return {
        summary: r.skipped
          ? 'another run is retrying'
          : `${r.delivered} delivered, ${r.pending} pending, ${r.dropped} dropped`,
      };
    });
    exitCode = steps.reduce((worst, s) => worseExit(worst, s.exitCode), EXIT.OK as number);
    await recordTickEnd(ctx, exitCode);
  } finally {
    await release().catch(() => undefined);
  }
  // A fault that skipped a step is said once, by that step; the events it also cost are not.
  const faults = new Set(steps.flatMap((s) => (s.fault ? [s.fault] : [])));
  return { skipped: false, steps, exitCode, warnings: takeSkippedWrites(faults) };
}
