import { createContext, type GlobalOptions } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { runWatch } from '../lib/watch/watch.js';

export async function watch(globals: GlobalOptions, out: Output): Promise<number> {
  const ctx = await createContext(globals, out);
  const actions = await runWatch(ctx);
  if (globals.json) out.printJson({ actions });
  else {
    const notable = actions.filter((a) => a.action !== 'ok' && a.action !== 'skipped');
    for (const a of notable)
      out.print(`${a.session}: ${a.action}${a.detail ? ` (${a.detail})` : ''}`);
    if (!notable.length && !globals.quiet) out.info('all sessions healthy');
  }
  return 0;
}
