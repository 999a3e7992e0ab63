import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import type { QuotaCheckResult } from '../lib/quota/check.js';
import { defineCommand } from './command.js';

export const quotaCheckOptionsSchema = z.strictObject({
  /** commander's `--no-swap` sets `swap: false`. */
  swap: z.optional(z.boolean()),
});

/** `quota check`: the result carries the exit code, 0, or 3 when no account can take over. */
export async function quotaCheck(
  opts: z.infer<typeof quotaCheckOptionsSchema>,
  ctx: Context,
): Promise<QuotaCheckResult> {
  const { runQuotaCheck } = await import('../lib/quota/check.js');
  const spinner = await ctx.out.spinner('checking for usage limits');
  return runQuotaCheck(ctx, {
    noSwap: opts.swap === false,
    onProgress: (m) => spinner.update(m),
  }).finally(() => spinner.stop());
}

function renderQuotaCheck(r: QuotaCheckResult, out: Output): void {
  for (const d of r.detections) {
    out.print(
      `${d.session}: ${d.verdict}${d.confirmed ? ' (confirmed)' : d.verdict === 'limit' ? ` (suspected, poll ${d.poll})` : ''} from ${d.source}` +
        `${d.resetsAt ? `, resets ${d.resetsAt}` : ''}${d.pattern ? ` [${d.pattern}]` : ''}: ${d.snippet}`,
    );
  }
  const what: Record<string, string> = {
    clean: `no limit on ${r.activeAccount}`,
    suppressed: `detection suppressed until ${r.cooldownUntil} (cooldown after the last swap)`,
    suspected: 'a limit without a reset time is suspected; the next run confirms or clears it',
    swapped: `swapped ${r.swap?.from} -> ${r.swap?.to}`,
    'resumed-swap': `finished an interrupted swap ${r.swap?.from} -> ${r.swap?.to}`,
    'no-swap': `limit confirmed on ${r.activeAccount}; not swapping (--no-swap)`,
    'skip-reset-soon': `limit on ${r.activeAccount} resets at ${r.limit?.resetsAt}; not worth a swap`,
    'no-usable-account':
      'no account can take over; the sessions keep running and wait for the reset',
    'swap-in-progress': 'another swap is running',
    'proactive-waiting': `usage of ${r.activeAccount} is over swapAt; swapping at the next idle moment`,
    'auth-error': `${r.activeAccount} failed to authenticate`,
  };
  const line = what[r.decision] ?? r.decision;
  if (r.exitCode !== 0) out.error(line);
  else out.print(line);
}

export const quotaCheckCommand = defineCommand({
  schema: quotaCheckOptionsSchema,
  run: quotaCheck,
  render: renderQuotaCheck,
  exitCode: (r) => r.exitCode,
});
