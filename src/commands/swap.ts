import type { Context } from '../lib/core/context.js';
import { CliError, EXIT } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { runSwap, type SwapResult } from '../lib/swap/index.js';
import { defineCommand } from './command.js';

export const swapOptionsSchema = z.strictObject({
  from: z.optional(z.string()),
  to: z.optional(z.string()),
  reason: z.optional(z.string()),
  dryRun: z.optional(z.boolean()),
});

/** A swap, or the part of one that ran before it failed, with that failure. */
export type SwapCommandResult = SwapResult & { error?: { message: string; exitCode: number } };

/**
 * `swap`: exit 0 done, 3 no usable account, 75 another swap is running. A swap that fails
 * after it changed something returns what it did with the error, so that both are shown.
 */
export async function swap(
  opts: z.infer<typeof swapOptionsSchema>,
  ctx: Context,
): Promise<SwapCommandResult> {
  const spinner = await ctx.out.spinner('swapping');
  try {
    const result = await runSwap(ctx, {
      from: opts.from,
      to: opts.to,
      reason: opts.reason,
      dryRun: opts.dryRun,
      onProgress: (m) => spinner.update(m),
    });
    spinner.stop();
    return result;
  } catch (err) {
    spinner.fail();
    const partial = (err as { result?: SwapResult }).result;
    if (partial && err instanceof CliError)
      return { ...partial, error: { message: err.message, exitCode: err.exitCode } };
    throw err;
  }
}

function swapExitCode(r: SwapCommandResult): number {
  return r.error?.exitCode ?? EXIT.OK;
}

function renderSwap(r: SwapCommandResult, out: Output): void {
  if (r.outcome === 'dry-run') {
    out.print(`plan: ${r.from} -> ${r.to ?? '(no usable account)'}`);
    for (const s of r.sessions)
      out.print(
        `  ${s.name}: resume ${s.claudeSessionId ?? '(fresh)'}${s.task ? `, then re-prompt task ${s.task}` : ''}`,
      );
    if (!r.sessions.length) out.print('  (no sessions on this account)');
  } else {
    out.print(
      `${r.outcome === 'completed' ? 'swapped' : r.outcome}: ${r.from} -> ${r.to} in ${(r.durationMs / 1000).toFixed(1)}s${r.resumed ? ' (finished an interrupted swap)' : ''}`,
    );
    if (r.tried.length) out.print(`  failed to log in: ${r.tried.join(', ')}`);
    for (const s of r.sessions) {
      const state = s.ready ? 'ready' : `not ready (${s.screen ?? 'unknown'})`;
      out.print(
        `  ${s.name}: ${state}${s.fresh ? ', started fresh (conversation not found)' : s.claudeSessionId ? `, resumed ${s.claudeSessionId}` : ''}${s.prompted ? `, re-prompted task ${s.task}` : ''}`,
      );
    }
  }
  if (r.error) out.error(r.error.message);
}

export const swapCommand = defineCommand({
  schema: swapOptionsSchema,
  run: swap,
  render: renderSwap,
  exitCode: swapExitCode,
});
