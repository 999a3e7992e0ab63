import { createContext, type GlobalOptions } from '../lib/core/context.js';
import { runJanitor } from '../lib/schedule/janitor.js';
import type { Output } from '../lib/core/output.js';

/** `janitor [--dry-run]`: exit 1 when an action failed. */
export async function janitor(
  opts: { dryRun?: boolean },
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  const r = await runJanitor(ctx, { dryRun: opts.dryRun });
  if (globals.json) out.printJson(r);
  else {
    const verb = r.dryRun ? 'would ' : '';
    for (const a of r.actions)
      out.print(
        `${verb}${a.kind}: ${a.project ? `${a.project}/` : ''}${a.target}${a.detail ? ` (${a.detail})` : ''}`,
      );
    if (!r.actions.length) out.print('nothing to clean');
    for (const e of r.errors) out.error(e);
  }
  return r.errors.length ? 1 : 0;
}
