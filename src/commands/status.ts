import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { buildStatus, type StatusReport } from '../lib/ops/status.js';
import { renderStatus as statusText } from '../lib/ops/status-render.js';
import { defineCommand } from './command.js';

export const statusOptionsSchema = z.strictObject({});

/** `status`: accounts, sessions, queues, last swap, cooldown and warnings. */
export async function status(
  _opts: z.infer<typeof statusOptionsSchema>,
  ctx: Context,
): Promise<StatusReport> {
  return buildStatus(ctx);
}

async function renderStatus(r: StatusReport, out: Output): Promise<void> {
  out.print(await statusText(r, out));
}

export const statusCommand = defineCommand({
  schema: statusOptionsSchema,
  run: status,
  render: renderStatus,
});
