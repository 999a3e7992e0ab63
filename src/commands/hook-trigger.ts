import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { TRIGGER_KINDS } from '../lib/core/triggers.js';
import * as z from '../lib/core/zod.js';
import { runTrigger, type TriggerResult } from '../lib/schedule/trigger.js';
import { defineCommand } from './command.js';

export const hookTriggerOptionsSchema = z.strictObject({ kind: z.enum(TRIGGER_KINDS) });

/** `hook trigger <limit|idle>`: what a hook starts in the background (README: Triggers). */
export async function hookTrigger(
  opts: z.infer<typeof hookTriggerOptionsSchema>,
  ctx: Context,
): Promise<TriggerResult> {
  return runTrigger(ctx, opts.kind);
}

/** One line a run, with its time: this output goes to `<stateDir>/trigger.log`. */
function renderHookTrigger(r: TriggerResult, out: Output): void {
  for (const run of r.runs) {
    const from = run.request.session ? ` from ${run.request.session}` : '';
    const line = `${run.startedAt} ${r.kind} (${run.request.reason}${from}): ${run.error ?? run.summary} (exit ${run.exitCode}, ${run.durationMs} ms)`;
    if (run.error) out.error(line);
    else out.print(line);
  }
  if (!r.runs.length) out.info(`${r.kind}: nothing pending, or another runner serves it`);
}

export const hookTriggerCommand = defineCommand({
  schema: hookTriggerOptionsSchema,
  run: hookTrigger,
  render: renderHookTrigger,
  exitCode: (r) => r.exitCode,
});
