import { createContext, type GlobalOptions } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { runTick } from '../lib/schedule/tick.js';

/** `tick`: one cycle; the exit code is the worst step's (0 when it skipped). */
export async function tick(globals: GlobalOptions, out: Output): Promise<number> {
  const ctx = await createContext(globals, out);
  const r = await runTick(ctx);
  if (globals.json) {
    out.printJson(r);
    return r.exitCode;
  }
  if (r.skipped) {
    out.info('another tick is running; skipped');
    return r.exitCode;
  }
  for (const s of r.steps) {
    const line = `${s.step}: ${s.error ? `failed (exit ${s.exitCode}): ${s.error}` : s.summary}`;
    if (s.error || s.exitCode) out.error(line);
    else out.print(line);
  }
  // One corrupt state file fails every step the same way: say what to do once.
  for (const hint of new Set(r.steps.map((s) => s.hint).filter(Boolean))) out.info(`hint: ${hint}`);
  return r.exitCode;
}
