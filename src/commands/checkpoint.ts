import { writeCheckpoints } from '../lib/agents/checkpoint.js';
import { createContext, type GlobalOptions } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';

/** `checkpoint [NAME...]`: snapshots each live session; exit 1 when a write failed. */
export async function checkpoint(
  names: string[],
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  const { at, results } = await writeCheckpoints(ctx, names);
  for (const r of results) for (const w of r.warnings) out.warn(`${r.session}: ${w}`);
  if (globals.json) {
    out.printJson({
      at,
      sessions: results.map((r) => ({
        session: r.session,
        written: r.written,
        skipped: r.skipped,
        error: r.error,
      })),
    });
  } else {
    for (const r of results) {
      if (r.written) out.print(`${r.session}: ${r.written}`);
      else if (r.skipped) out.print(`${r.session}: skipped (${r.skipped})`);
      else out.error(`${r.session}: checkpoint failed: ${r.error}`);
    }
    if (results.length === 0) out.info('no sessions are configured');
  }
  return results.some((r) => r.error) ? 1 : 0;
}
