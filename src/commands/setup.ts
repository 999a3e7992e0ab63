import { activeAccount } from '../lib/agents/sessions.js';
import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { runSetup, type SetupChange } from '../lib/ops/setup.js';
import { defineCommand } from './command.js';

export const setupOptionsSchema = z.strictObject({
  uninstallHooks: z.optional(z.boolean()),
  uninstallMcp: z.optional(z.boolean()),
});

/**
 * `setup [--uninstall-hooks] [--uninstall-mcp]`: account dirs, project links, hooks and the
 * MCP server registration; what it changed.
 */
export async function setup(
  opts: z.infer<typeof setupOptionsSchema>,
  ctx: Context,
): Promise<{ changes: SetupChange[] }> {
  const active = activeAccount(ctx, ctx.state.read());
  const changes = runSetup(ctx.config, active, {
    uninstallHooks: opts.uninstallHooks,
    uninstallMcp: opts.uninstallMcp,
    now: ctx.clock.now(),
  });
  return { changes };
}

function renderSetup(r: { changes: SetupChange[] }, out: Output): void {
  if (r.changes.length === 0) out.print('nothing to change');
  else for (const c of r.changes) out.print(`${c.account ? `${c.account}: ` : ''}${c.what}`);
}

export const setupCommand = defineCommand({
  schema: setupOptionsSchema,
  run: setup,
  render: renderSetup,
});
