import type { BaseContext } from '../lib/core/context.js';
import { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { defineCommand } from './command.js';

export const mcpOptionsSchema = z.strictObject({ allowWrite: z.optional(z.boolean()) });

/**
 * `mcp [--allow-write]`: serves MCP on stdio until the client closes it. It starts without
 * a config (each call loads it, and reports a missing one as a tool error), so a client
 * always gets a server that says what is wrong.
 */
export async function mcp(
  opts: z.infer<typeof mcpOptionsSchema>,
  ctx: BaseContext,
): Promise<Record<string, never>> {
  // stdout is the protocol's channel: anything the lib prints goes to stderr instead.
  const out = new Output({ ...ctx.out.opts, json: false }, process.stderr, process.stderr);
  const { runMcpServer } = await import('../lib/mcp/server.js');
  await runMcpServer({ ...ctx, out }, { allowWrite: opts.allowWrite });
  return {};
}

export const mcpCommand = defineCommand({
  needsConfig: false,
  schema: mcpOptionsSchema,
  run: mcp,
  // Nothing more goes to stdout once the protocol ends.
  render: () => undefined,
  json: () => ({}),
});
