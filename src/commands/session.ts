import {
  listSessions,
  recordStartIntent,
  startSessions,
  stopSessions,
  type SessionListing,
  type StartResult,
  type StopResult,
} from '../lib/agents/session-control.js';
import type { Context } from '../lib/core/context.js';
import { EXIT } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import { textTable } from '../lib/core/table.js';
import * as z from '../lib/core/zod.js';
import { defineCommand } from './command.js';

export const sessionOptionsSchema = z.strictObject({
  verb: z.enum(['start', 'stop', 'restart']),
  names: z.array(z.string()),
});

export const sessionListOptionsSchema = z.strictObject({ names: z.array(z.string()) });

/** `session list [NAME...]`: each session's account, state, pid, cwd and conversation. */
export async function sessionList(
  opts: z.infer<typeof sessionListOptionsSchema>,
  ctx: Context,
): Promise<{ sessions: SessionListing[] }> {
  return { sessions: await listSessions(ctx, opts.names) };
}

async function renderSessionList(r: { sessions: SessionListing[] }, out: Output): Promise<void> {
  const t = await textTable(out, ['session', 'account', 'state', 'pid', 'cwd', 'claude session']);
  for (const s of r.sessions)
    t.push([
      s.name,
      s.account ?? '-',
      s.state,
      s.pid ?? '-',
      s.cwd ?? '-',
      s.claudeSessionId ?? '-',
    ]);
  out.print(t.toString());
}

export interface SessionResult {
  stopped: StopResult[];
  started: StartResult[];
}

/** `session start|stop|restart [NAME...]` (default: all configured). */
export async function session(
  opts: z.infer<typeof sessionOptionsSchema>,
  ctx: Context,
): Promise<SessionResult> {
  const { verb, names } = opts;
  const spinner = await ctx.out.spinner(`${verb}ing sessions`);
  try {
    // A restart records that the sessions are to run before it stops them.
    if (verb === 'restart') await recordStartIntent(ctx, names);
    const stopped =
      verb === 'start'
        ? []
        : await stopSessions(ctx, names, {
            operator: verb === 'stop',
            onProgress: (m) => spinner.update(m),
          });
    const started =
      verb === 'stop' ? [] : await startSessions(ctx, names, (m) => spinner.update(m));
    spinner.stop();
    return { stopped, started };
  } catch (err) {
    spinner.fail();
    throw err;
  }
}

/** An agent that died at once or waits at a login screen is a failed start: exit 1. */
function sessionExitCode(r: SessionResult): number {
  return r.started.some((s) => s.screen === 'dead' || s.screen === 'login')
    ? EXIT.FAILURE
    : EXIT.OK;
}

function renderSession(r: SessionResult, out: Output): void {
  for (const s of r.stopped)
    out.print(`${s.session}: ${s.action === 'absent' ? 'not running' : `stopped (${s.action})`}`);
  for (const s of r.started) {
    const how =
      s.action === 'running'
        ? 'already running'
        : `started on ${s.account}${s.resumeId ? ` with --resume ${s.resumeId}` : ''}` +
          (s.screen && s.screen !== 'ready' ? ` but not ready: ${s.screen}` : '');
    out.print(`${s.session}: ${how}`);
  }
}

export const sessionCommand = defineCommand({
  schema: sessionOptionsSchema,
  run: session,
  render: renderSession,
  exitCode: sessionExitCode,
});

export const sessionListCommand = defineCommand({
  schema: sessionListOptionsSchema,
  run: sessionList,
  render: renderSessionList,
});
