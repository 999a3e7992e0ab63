import { writeCheckpoints } from '../lib/agents/checkpoint.js';
import type { Context } from '../lib/core/context.js';
import { EXIT } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { defineCommand } from './command.js';

export const checkpointOptionsSchema = z.strictObject({ names: z.array(z.string()) });

export type CheckpointResult = Awaited<ReturnType<typeof checkpoint>>;

/** `checkpoint [NAME...]`: snapshots each live session. */
export async function checkpoint(opts: z.infer<typeof checkpointOptionsSchema>, ctx: Context) {
  const { at, results } = await writeCheckpoints(ctx, opts.names);
  for (const r of results) for (const w of r.warnings) ctx.out.warn(`${r.session}: ${w}`);
  return {
    at,
    sessions: results.map((r) => ({
      session: r.session,
      written: r.written,
      skipped: r.skipped,
      error: r.error,
    })),
  };
}

/** Exit 1 when a write failed. */
function checkpointExitCode(r: CheckpointResult): number {
  return r.sessions.some((s) => s.error) ? EXIT.FAILURE : EXIT.OK;
}

function renderCheckpoint(r: CheckpointResult, out: Output): void {
  for (const s of r.sessions) {
    if (s.written) out.print(`${s.session}: ${s.written}`);
    else if (s.skipped) out.print(`${s.session}: skipped (${s.skipped})`);
    else out.error(`${s.session}: checkpoint failed: ${s.error}`);
  }
  if (r.sessions.length === 0) out.info('no sessions are configured');
}

export const checkpointCommand = defineCommand({
  schema: checkpointOptionsSchema,
  run: checkpoint,
  render: renderCheckpoint,
  exitCode: checkpointExitCode,
});
