/** The last step of a swap: the state, the event, the result (see outcome.ts for the data). */
import type { Context } from '../core/context.js';
import { ImpossibleError } from '../core/errors.js';
import { notifyEvent } from '../notify/index.js';
import { readAgentStatus } from '../queue/status-file.js';
import { goingBack } from './journal.js';
import { applySwapEnd, sessionResults, swapRecord, swapResult, type SwapEnd } from './outcome.js';
import { configOf, type SwapRun } from './swap-run.js';
import type { SwapResult } from './types.js';

/**
 * Ends the swap: every session recorded on the journal's target, the record kept, the
 * journal removed, `swap.completed` (or `swap.failed`) notified. A rollback throws
 * ImpossibleError (exit 3) carrying the result.
 */
export async function finishSwap(ctx: Context, run: SwapRun): Promise<SwapResult> {
  const { journal, settled } = run;
  const rolledBack = goingBack(journal);
  const end: SwapEnd = {
    rolledBack,
    resumed: run.resumed,
    durationMs: Math.max(0, Date.now() - run.startedAt),
    at: ctx.clock.now(),
  };
  const record = swapRecord(journal, end);
  await ctx.state.update((st) => {
    const hookIds = new Map(
      journal.sessions.map((js) => {
        const s = configOf(ctx, js.name);
        const id = s
          ? (readAgentStatus(s.projectPath).sessions[s.name]?.claudeSessionId ?? null)
          : null;
        return [js.name, id];
      }),
    );
    applySwapEnd(st, ctx.config, journal, record, settled, hookIds);
  });
  const sessions = sessionResults(journal, settled);
  await notifyEvent(
    ctx,
    rolledBack ? 'swap.failed' : 'swap.completed',
    {
      from: journal.from,
      to: journal.to,
      reason: journal.reason,
      trigger: journal.trigger,
      sessions: sessions.map((s) => ({
        name: s.name,
        ready: s.ready,
        fresh: s.fresh,
        task: s.task,
        prompted: s.prompted,
      })),
      tried: journal.tried,
      durationMs: end.durationMs,
      resumed: run.resumed,
    },
    rolledBack ? 'error' : 'info',
  );
  const result = swapResult(journal, sessions, end);
  if (rolledBack) {
    throw Object.assign(
      new ImpossibleError(
        `no account could take the sessions: ${journal.tried.join(', ')} failed to log in; they are back on ${journal.to}`,
      ),
      { result },
    );
  }
  return result;
}
