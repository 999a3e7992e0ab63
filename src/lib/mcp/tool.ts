/**
 * What one MCP tool is: a name, a zod input schema, whether it changes anything, and the
 * lib call it makes. The server (server.ts) turns these into SDK registrations.
 */
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import type * as z from '../core/zod.js';
import { safeMarker, locateTask } from '../tasks/locate.js';

/** Who the server serves: the managed session it was launched in, if any. */
export interface Served {
  /** `CLAUDE_FAILOVER_SESSION` of the server's environment; null for an operator's client. */
  session: string | null;
}

export interface ToolDef<Input> {
  name: string;
  title: string;
  description: string;
  input: z.ZodMiniType<Input>;
  /** A write tool is listed only when writes are allowed. */
  write: boolean;
  run: (ctx: Context, input: Input, served: Served) => Promise<Record<string, unknown>>;
}

/** Ties a tool's parts together, checking that their types agree. */
export function defineTool<Input>(def: ToolDef<Input>): ToolDef<Input> {
  return def;
}

/**
 * A server launched inside a managed session acts only on that session's own tasks: the task
 * must have been handed to it (its dispatch marker names the session). A task that is
 * already finished passes, so a repeated call reports "already done" rather than an error.
 */
export function assertOwnTask(
  ctx: Context,
  served: Served,
  id: string,
  project: string | undefined,
): void {
  if (!served.session) return;
  const loc = locateTask(ctx, id, { project, session: served.session });
  if (!loc || loc.folder === 'done' || loc.folder === 'failed') return;
  const owner = safeMarker(loc.project, id)?.session ?? null;
  if (owner === served.session) return;
  throw new UsageError(
    `id: task '${id}' was ${owner ? `handed to session ${owner}` : 'not handed to any session'}, not to ${served.session}; a session may finish only its own tasks`,
  );
}
