import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { runTick, type TickResult } from '../lib/schedule/tick.js';
import { defineCommand } from './command.js';

export const tickOptionsSchema = z.strictObject({});

/** `tick`: one cycle; the result's exit code is the worst step's (0 when it skipped). */
export async function tick(
  _opts: z.infer<typeof tickOptionsSchema>,
  ctx: Context,
): Promise<TickResult> {
  return runTick(ctx);
}

function renderTick(r: TickResult, out: Output): void {
  if (r.skipped) {
    out.info('another tick is running; skipped');
    return;
  }
  for (const s of r.steps) {
    const line = `${s.step}: ${s.error ? `failed (exit ${s.exitCode}): ${s.error}` : s.summary}`;
    if (s.error || s.exitCode) out.error(line);
    else out.print(line);
  }
  // One corrupt state file fails every step the same way: say what to do once.
  for (const hint of new Set(r.steps.map((s) => s.hint).filter(Boolean))) out.info(`hint: ${hint}`);
}

export const tickCommand = defineCommand({
  schema: tickOptionsSchema,
  run: tick,
  render: renderTick,
  exitCode: (r) => r.exitCode,
});
