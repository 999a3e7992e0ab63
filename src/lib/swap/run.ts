/**
 * The swap (README "What happens on a usage limit"): every session on the account being
 * left is checkpointed, stopped, and relaunched on the target account with
 * `--resume <same id>`, so each conversation goes on where it stopped.
 *
 * It is one recoverable operation. It runs under its own lock (a second swap exits 75 at
 * once), and it journals each step in the state file before moving on. A swap killed at
 * any step leaves the journal behind; the next `swap` or `quota check` finds it, sees that
 * the lock is free (so its runner is gone) and carries it forward from the last step
 * (`nextStep` in journal.ts). A target whose agents cannot log in is marked auth-error and
 * the next account is tried; when none is left the sessions go back to the account they
 * came from, so no session is ever left stopped.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { taskInFlight } from '../agents/checkpoint.js';
import { inheritedEnvNames, resumeIdFor } from '../agents/sessions.js';
import type { Context } from '../core/context.js';
import { ImpossibleError, LockBusyError } from '../core/errors.js';
import { ensurePrivateDir } from '../core/fs-atomic.js';
import { ioFaultError, recordFirst } from '../core/io-faults.js';
import { tryLock } from '../core/lock.js';
import { accountState, type State, type SwapJournal } from '../core/state-schema.js';
import { notifyEvent } from '../notify/index.js';
import { noUsableAccount } from './fall-back.js';
import { finishSwap } from './finish.js';
import { nextStep, type NextStep, type SwapAction } from './journal.js';
import { exhaustionEnd, newJournal, planSwap } from './plan.js';
import { promptStep, settleStep } from './settle.js';
import { checkpointStep, relaunchStep, relinkStep, stopStep } from './steps.js';
import { faultPoint, type SwapRun } from './swap-run.js';
import type { SwapOptions, SwapResult } from './types.js';

const STEPS: Record<
  Exclude<SwapAction, 'finish'>,
  (ctx: Context, run: SwapRun, step: NextStep) => Promise<void>
> = {
  checkpoint: checkpointStep,
  stop: stopStep,
  relink: relinkStep,
  relaunch: relaunchStep,
  settle: settleStep,
  prompt: promptStep,
};

/**
 * Runs a swap, or carries forward one a killed process left behind. Throws LockBusyError
 * (exit 75) when another swap holds the lock, and ImpossibleError (exit 3) when no account
 * can take the sessions (they are left running, or put back, on the source).
 */
export async function runSwap(ctx: Context, opts: SwapOptions = {}): Promise<SwapResult> {
  if (opts.dryRun) return planOnly(ctx, opts);
  ensurePrivateDir(ctx.config.stateDir);
  // A plain lock file beside the state, separate from the state lock.
  const release = await tryLock(path.join(ctx.config.stateDir, 'swap'), {
    staleAfter: ctx.config.lock.staleAfter,
  });
  if (!release) {
    throw new LockBusyError(
      'swap in progress: another claude-failover swap holds the swap lock',
      'it finishes on its own; see `claude-failover status`',
    );
  }
  try {
    const state = ctx.state.read();
    const left = state.swapJournal;
    if (left && left.step !== 'done') {
      await notifyEvent(
        ctx,
        'swap.resumed',
        { from: left.from, to: left.to, step: left.step },
        'warn',
      );
      return await carryOut(ctx, left, true, opts);
    }
    return await carryOut(ctx, await beginSwap(ctx, state, opts), false, opts);
  } finally {
    await release().catch(() => undefined);
  }
}

function planOnly(ctx: Context, opts: SwapOptions): SwapResult {
  const state = ctx.state.read();
  const plan = planSwap(ctx, state, opts, ctx.clock.now());
  return {
    outcome: 'dry-run',
    from: plan.from,
    to: plan.to,
    reason: plan.reason,
    resumed: false,
    tried: [],
    sessions: plan.sessions.map((s) => ({
      name: s.name,
      claudeSessionId: resumeIdFor(ctx, s, state),
      fresh: false,
      ready: false,
      screen: null,
      task: taskInFlight(ctx.config.stateDir, s)?.id ?? null,
      prompted: false,
    })),
    durationMs: 0,
  };
}

/** Plans a new swap and writes its journal (the source marked exhausted for a limit). */
async function beginSwap(ctx: Context, state: State, opts: SwapOptions): Promise<SwapJournal> {
  const now = ctx.clock.now();
  const plan = planSwap(ctx, state, opts, now);
  const { from, to, reason } = plan;
  if (!to) {
    await noUsableAccount(ctx, from, reason, opts.exhaustedUntil);
    throw new ImpossibleError(
      `no account can take the sessions of '${from}': every other one is exhausted, disabled, in auth error or over swapAt`,
      'the sessions keep running; Claude Code waits for the reset by itself',
    );
  }
  const trigger = opts.trigger ?? null;
  const journal = newJournal({ ...plan, to }, { id: randomUUID(), pid: process.pid, now, trigger });
  await recordFirst(ctx.config.stateDir, 'no swap was started', () =>
    ctx.state.update((st) => {
      st.swapJournal = journal;
      const until = exhaustionEnd(ctx.config, opts.exhaustedUntil, now);
      if (until !== undefined) accountState(st, from).exhaustedUntil = until;
    }),
  );
  await notifyEvent(
    ctx,
    'swap.started',
    { from, to, reason, trigger, sessions: plan.sessions.map((s) => s.name) },
    'warn',
  );
  faultPoint(ctx, 'planned');
  return journal;
}

/** Runs the journal's steps, one function per step, until only the finish is left. */
async function carryOut(
  ctx: Context,
  journal: SwapJournal,
  resumed: boolean,
  opts: SwapOptions,
): Promise<SwapResult> {
  const run: SwapRun = {
    journal,
    resumed,
    startedAt: Date.parse(journal.startedAt),
    settled: new Map(),
    launchedAt: null,
    inheritedEnv: await inheritedEnvNames(ctx),
    progress: opts.onProgress ?? (() => undefined),
  };
  for (;;) {
    const step = nextStep(run.journal, ctx.config);
    if (step.action === 'finish') return finishSwap(ctx, run);
    try {
      await STEPS[step.action](ctx, run, step);
    } catch (err) {
      // A full disk mid-swap: say how far it got; the journal is what the next run follows.
      const { from, to, step: done } = run.journal;
      throw (
        ioFaultError(err, {
          stateDir: ctx.config.stateDir,
          outcome: `the swap ${from} -> ${to} stopped in its '${step.action}' step (journaled at '${done}'); the next 'tick', 'quota check' or 'swap' carries it forward`,
        }) ?? err
      );
    }
  }
}
