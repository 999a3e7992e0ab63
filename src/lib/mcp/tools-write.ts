/**
 * The write tools, offered only with `mcp.allowWrite` or `mcp --allow-write`: the queue
 * (add, done, fail, requeue), restarting sessions, and the swap. Each calls the same lib
 * function as its command, which takes the same locks, so a call never races a `tick`.
 */
import { spawn } from 'node:child_process';
import { startSessions, stopSessions } from '../agents/session-control.js';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { cliArgv } from '../core/package-root.js';
import * as z from '../core/zod.js';
import { runSwap } from '../swap/index.js';
import { addTask } from '../tasks/add.js';
import { completeTask, failTask } from '../tasks/finish.js';
import { requeueTask } from '../tasks/requeue.js';
import { assertOwnTask, defineTool } from './tool.js';

const taskId = () => z.string().check(z.minLength(1, { error: 'expected a task id' }));

const taskAdd = defineTool({
  name: 'task_add',
  title: 'Queue a task',
  description:
    "Writes a new task into a project's inbox (as `claude-failover task add`). `text` is the Markdown task; `id` defaults to a timestamp and a slug, `priority` (higher first) and `session` (pin it to one session) go into its front matter.",
  input: z.strictObject({
    project: z.string(),
    text: z.string().check(z.minLength(1, { error: 'expected the task text' })),
    id: z.optional(z.string()),
    priority: z.optional(z.int()),
    session: z.optional(z.string()),
  }),
  write: true,
  run: async (ctx, input) => ({
    ...(await addTask(ctx, input.project, Buffer.from(input.text, 'utf8'), {
      id: input.id,
      priority: input.priority,
      session: input.session,
      sourceName: 'text',
    })),
  }),
});

const taskDone = defineTool({
  name: 'task_done',
  title: 'Mark a task done',
  description:
    'Call this when the task you were given is finished: it moves the task to done/ and frees your session for the next one. Only `id` is needed. Inside a managed session only that session’s own task can be marked.',
  input: z.strictObject({ id: taskId(), project: z.optional(z.string()) }),
  write: true,
  run: async (ctx, input, served) => {
    assertOwnTask(ctx, served, input.id, input.project);
    return {
      ...(await completeTask(ctx, input.id, {
        project: input.project,
        session: served.session ?? undefined,
      })),
    };
  },
});

const taskFail = defineTool({
  name: 'task_fail',
  title: 'Mark a task failed',
  description:
    'Call this when the task cannot be done: it moves the task to failed/ with `reason` and frees the session. Inside a managed session only that session’s own task can be marked.',
  input: z.strictObject({
    id: taskId(),
    reason: z.string().check(z.minLength(1, { error: 'expected a reason' })),
    project: z.optional(z.string()),
  }),
  write: true,
  run: async (ctx, input, served) => {
    assertOwnTask(ctx, served, input.id, input.project);
    return {
      ...(await failTask(ctx, input.id, input.reason, {
        project: input.project,
        session: served.session ?? undefined,
      })),
    };
  },
});

const taskRequeue = defineTool({
  name: 'task_requeue',
  title: 'Requeue a task',
  description:
    'Puts a task back in the queue: from failed/ or done/, or undoes its hand-out (as `claude-failover task requeue`). Inside a managed session only that session’s own task can be requeued.',
  input: z.strictObject({
    id: taskId(),
    project: z.optional(z.string()),
    reason: z.optional(z.string()),
  }),
  write: true,
  run: async (ctx, input, served) => {
    if (served.session) assertOwnTask(ctx, served, input.id, input.project);
    return {
      ...(await requeueTask(ctx, input.id, {
        project: input.project,
        reason: input.reason,
        by: served.session ? `mcp (${served.session})` : 'mcp',
      })),
    };
  },
});

const sessionRestart = defineTool({
  name: 'session_restart',
  title: 'Restart sessions',
  description:
    'Stops the named sessions (gracefully first) and starts them again with --resume, as `claude-failover session restart`. A server inside a managed session cannot restart its own session.',
  input: z.strictObject({
    names: z.array(z.string()).check(z.minLength(1, { error: 'expected at least one session' })),
  }),
  write: true,
  run: async (ctx, input, served) => {
    if (served.session && input.names.includes(served.session))
      throw new UsageError(
        `names: ${served.session} is the session this server runs in; restarting it would end this call`,
      );
    const stopped = await stopSessions(ctx, input.names, { operator: false });
    const started = await startSessions(ctx, input.names);
    return { stopped, started };
  },
});

/**
 * Starts `claude-failover swap` as a process of its own, outside the agent's process tree:
 * a swap stops every session on the account, the one whose Claude Code runs this server
 * included, and the swap must outlive it. Its journal and events tell how it went.
 */
function startDetachedSwap(
  ctx: Context,
  input: { from?: string; to?: string; reason?: string },
): number | null {
  const [node, script] = cliArgv();
  const args = [script, 'swap', '--quiet'];
  if (ctx.config.file) args.push('--config', ctx.config.file);
  if (input.from) args.push('--from', input.from);
  if (input.to) args.push('--to', input.to);
  args.push('--reason', input.reason ?? 'requested over MCP');
  const child = spawn(node, args, {
    cwd: ctx.cwd,
    env: ctx.env,
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  return child.pid ?? null;
}

const swap = defineTool({
  name: 'swap',
  title: 'Swap accounts',
  description:
    'Moves every session to another account and resumes each conversation. Without `confirm: true` it only returns the plan (a dry run). Inside a managed session the confirmed swap runs as a separate process, because it restarts this session too; follow it with the `events` tool (prefix "swap.").',
  input: z.strictObject({
    from: z.optional(z.string()),
    to: z.optional(z.string()),
    reason: z.optional(z.string()),
    confirm: z._default(z.boolean(), false),
  }),
  write: true,
  run: async (ctx, input, served) => {
    const reason = input.reason ?? 'requested over MCP';
    if (!input.confirm)
      return { ...(await runSwap(ctx, { ...input, reason, dryRun: true })), confirmed: false };
    if (served.session) {
      const pid = startDetachedSwap(ctx, { ...input, reason });
      return { confirmed: true, started: true, pid, outcome: 'started' };
    }
    return { ...(await runSwap(ctx, { ...input, reason })), confirmed: true };
  },
});

/** The write tools, in the order they are listed. */
export const WRITE_TOOLS = [taskAdd, taskDone, taskFail, taskRequeue, sessionRestart, swap];
