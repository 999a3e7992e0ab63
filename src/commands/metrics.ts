import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { defineCommand } from './command.js';

export const metricsOptionsSchema = z.strictObject({});

/** `metrics`: the Prometheus text exposition of the pool (prom-client loads only here). */
export async function metrics(
  _opts: z.infer<typeof metricsOptionsSchema>,
  ctx: Context,
): Promise<{ text: string }> {
  const { collectMetrics } = await import('../lib/ops/metrics.js');
  return { text: await collectMetrics(ctx) };
}

function renderMetrics(r: { text: string }, out: Output): void {
  // The exposition ends with a newline of its own; print adds one.
  out.print(r.text.replace(/\n$/, ''));
}

export const metricsCommand = defineCommand({
  schema: metricsOptionsSchema,
  run: metrics,
  render: renderMetrics,
});
