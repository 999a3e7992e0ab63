import type { Context } from '../lib/core/context.js';
import { EXIT } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import { showId } from '../lib/core/shell.js';
import * as z from '../lib/core/zod.js';
import { runDispatch } from '../lib/dispatch/dispatch.js';
import type { DispatchReport } from '../lib/dispatch/report.js';
import { defineCommand } from './command.js';

export const dispatchOptionsSchema = z.strictObject({ dryRun: z.optional(z.boolean()) });

const name = (project: string, task: string | null, file: string) =>
  `${project}/${showId(task ?? file)}`;

/** `dispatch [--dry-run]`: hands inbox tasks to idle sessions; problems go to stderr. */
export async function dispatch(
  opts: z.infer<typeof dispatchOptionsSchema>,
  ctx: Context,
): Promise<DispatchReport> {
  const r = await runDispatch(ctx, { dryRun: opts.dryRun });
  const out = ctx.out;
  for (const w of r.warnings) out.warn(w);
  for (const f of r.failed)
    out.warn(
      `${name(f.project, f.task, f.task)}: ${f.reason}: ${r.dryRun ? 'would move it' : 'moved it'} to failed/`,
    );
  for (const e of r.errors)
    out.error(
      `${name(e.project, e.task, e.task)} -> ${e.session}: ${e.reason}; ${e.owed ? 'it stays in flight and the next run delivers it again' : 'it stays queued'}`,
    );
  return r;
}

/** Exit 1 when a prompt was not confirmed by Claude Code, else 0. */
function dispatchExitCode(r: DispatchReport): number {
  return r.errors.length ? EXIT.FAILURE : EXIT.OK;
}

function renderDispatch(r: DispatchReport, out: Output): void {
  for (const a of r.assignments)
    out.print(
      `${r.dryRun ? 'would dispatch' : 'dispatched'} ${name(a.project, a.task, a.task)} -> ${a.session} (${a.account}, attempt ${a.attempt})`,
    );
  for (const d of r.redelivered)
    if (d.outcome === 'delivered' || d.outcome === 'confirmed-late' || d.outcome === 'released')
      out.print(
        `${d.outcome === 'released' ? 'released' : 'delivered again'} ${name(d.project, d.task, d.task)} -> ${d.session} (${d.prompt} prompt${d.outcome === 'confirmed-late' ? ', it had gone in' : ''})`,
      );
    else out.debug(`${name(d.project, d.task, d.task)} -> ${d.session}: ${d.outcome}: ${d.reason}`);
  for (const p of r.passed) out.debug(`${p.session} passed over: ${p.reason}`);
  const waiting = r.skipped.filter((s) => s.task !== null);
  if (waiting.length) {
    const byReason = new Map<string, number>();
    for (const s of waiting) {
      const key = s.reason
        .replace(/ \(.*\)$/, '')
        .replace(/^already dispatched to .*/, 'dispatched');
      byReason.set(key, (byReason.get(key) ?? 0) + 1);
    }
    out.print(
      `${waiting.length} not handed out: ${[...byReason].map(([k, n]) => `${n} ${k}`).join(', ')}`,
    );
    for (const s of waiting) out.debug(`  ${name(s.project, s.task, s.file)}: ${s.reason}`);
  }
  if (!r.assignments.length && !waiting.length && !r.failed.length)
    out.print('nothing to dispatch');
}

export const dispatchCommand = defineCommand({
  schema: dispatchOptionsSchema,
  run: dispatch,
  render: renderDispatch,
  exitCode: dispatchExitCode,
});
