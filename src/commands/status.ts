import { createContext, type GlobalOptions } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { buildStatus } from '../lib/ops/status.js';
import { renderStatus } from '../lib/ops/status-render.js';

export async function status(globals: GlobalOptions, out: Output): Promise<number> {
  const ctx = await createContext(globals, out);
  const report = await buildStatus(ctx);
  if (globals.json) out.printJson(report);
  else out.print(await renderStatus(report, out));
  return 0;
}
