import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { runWatch, type WatchAction } from '../lib/watch/watch.js';
import { defineCommand } from './command.js';

export const watchOptionsSchema = z.strictObject({});

/** `watch`: restarts dead agents, marks crash loops, reports stuck sessions. */
export async function watch(
  _opts: z.infer<typeof watchOptionsSchema>,
  ctx: Context,
): Promise<{ actions: WatchAction[] }> {
  return { actions: await runWatch(ctx) };
}

function renderWatch(r: { actions: WatchAction[] }, out: Output): void {
  const notable = r.actions.filter((a) => a.action !== 'ok' && a.action !== 'skipped');
  for (const a of notable)
    out.print(`${a.session}: ${a.action}${a.detail ? ` (${a.detail})` : ''}`);
  if (!notable.length && !out.opts.quiet) out.info('all sessions healthy');
}

export const watchCommand = defineCommand({
  schema: watchOptionsSchema,
  run: watch,
  render: renderWatch,
});
