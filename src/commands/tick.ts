import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { runTick, type TickResult, type TickStep } from '../lib/schedule/tick.js';
import { defineCommand } from './command.js';

export const tickOptionsSchema = z.strictObject({});

/** A tick, and what went wrong after its steps without failing it. */
export type TickCommandResult = TickResult & { warnings: string[] };

/**
 * `tick`: one cycle; the result's exit code is the worst step's (0 when it skipped). Its last
 * step writes `metrics.textfile` when one is configured; a failure there is a warning only.
 */
export async function tick(
  _opts: z.infer<typeof tickOptionsSchema>,
  ctx: Context,
): Promise<TickCommandResult> {
  const result = await runTick(ctx);
  const warnings = [...(result.warnings ?? [])];
  if (!result.skipped && ctx.config.metrics.textfile) {
    const { writeMetricsTextfile } = await import('../lib/ops/metrics.js');
    const warning = await writeMetricsTextfile(ctx);
    if (warning) warnings.push(warning);
  }
  return { ...result, warnings };
}

function renderTick(r: TickCommandResult, out: Output): void {
  for (const w of r.warnings) out.warn(w);
  if (r.skipped) {
    out.info('another tick is running; skipped');
    return;
  }
  // Steps skipped by the same filesystem fault (a full stateDir stops most of them) share
  // one line: the first one's message, which names the file.
  const key = (s: TickStep) => (s.fault ? `${s.fault}\0${s.hint}` : s.error);
  const printed = new Set<string>();
  for (const s of r.steps) {
    const k = key(s);
    if (k && printed.has(k)) continue;
    const same = k ? r.steps.filter((x) => key(x) === k).map((x) => x.step) : [];
    if (k) printed.add(k);
    const line = s.error
      ? `${same.join(', ')}: ${s.summary} (exit ${s.exitCode}): ${s.error}`
      : `${s.step}: ${s.summary}`;
    if (s.error || s.exitCode) out.error(line);
    else out.print(line);
  }
  for (const w of r.warnings ?? []) out.warn(w);
  // One corrupt state file fails every step the same way: say what to do once.
  for (const hint of new Set(r.steps.map((s) => s.hint).filter(Boolean))) out.info(`hint: ${hint}`);
}

export const tickCommand = defineCommand({
  schema: tickOptionsSchema,
  run: tick,
  render: renderTick,
  exitCode: (r) => r.exitCode,
});
