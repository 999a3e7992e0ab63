import type { Context } from '../lib/core/context.js';
import { EXIT } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { runJanitor, type JanitorResult } from '../lib/schedule/janitor.js';
import { defineCommand } from './command.js';

export const janitorOptionsSchema = z.strictObject({ dryRun: z.optional(z.boolean()) });

/** `janitor [--dry-run]`: stale markers, done tasks, old checkpoints, big logs. */
export async function janitor(
  opts: z.infer<typeof janitorOptionsSchema>,
  ctx: Context,
): Promise<JanitorResult> {
  return runJanitor(ctx, { dryRun: opts.dryRun });
}

/** Exit 1 when an action failed. */
function janitorExitCode(r: JanitorResult): number {
  return r.errors.length ? EXIT.FAILURE : EXIT.OK;
}

function renderJanitor(r: JanitorResult, out: Output): void {
  const verb = r.dryRun ? 'would ' : '';
  for (const a of r.actions)
    out.print(
      `${verb}${a.kind}: ${a.project ? `${a.project}/` : ''}${a.target}${a.detail ? ` (${a.detail})` : ''}`,
    );
  if (!r.actions.length) out.print('nothing to clean');
  for (const e of r.errors) out.error(e);
}

export const janitorCommand = defineCommand({
  schema: janitorOptionsSchema,
  run: janitor,
  render: renderJanitor,
  exitCode: janitorExitCode,
});
