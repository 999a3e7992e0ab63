/** `task done|fail|requeue`: what becomes of a task once it was handed out. */
import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { showId } from '../lib/core/shell.js';
import * as z from '../lib/core/zod.js';
import { completeTask, failTask, type FinishResult } from '../lib/tasks/finish.js';
import { requeueTask, type RequeueResult } from '../lib/tasks/requeue.js';
import { defineCommand } from './command.js';

export const taskDoneOptionsSchema = z.strictObject({
  id: z.string(),
  session: z.optional(z.string()),
  project: z.optional(z.string()),
});

/** `task done ID`: what an agent runs when it finishes. */
export async function taskDone(
  opts: z.infer<typeof taskDoneOptionsSchema>,
  ctx: Context,
): Promise<FinishResult> {
  return completeTask(ctx, opts.id, { session: opts.session, project: opts.project });
}

export const taskFailOptionsSchema = z.strictObject({
  id: z.string(),
  reason: z.string(),
  session: z.optional(z.string()),
  project: z.optional(z.string()),
});

/** `task fail ID --reason TEXT`. */
export async function taskFail(
  opts: z.infer<typeof taskFailOptionsSchema>,
  ctx: Context,
): Promise<FinishResult> {
  return failTask(ctx, opts.id, opts.reason, { session: opts.session, project: opts.project });
}

/** The human line for `task done` and `task fail`. */
function renderTaskFinish(r: FinishResult, out: Output): void {
  out.print(
    r.action === 'done' || r.action === 'failed'
      ? `${r.action}: ${r.project}/${showId(r.task)} -> ${r.path}`
      : `${r.project}/${showId(r.task)} was ${r.action.replace('already-', 'already ')} (${r.path})`,
  );
}

export const taskRequeueOptionsSchema = z.strictObject({
  id: z.string(),
  project: z.optional(z.string()),
  reason: z.optional(z.string()),
});

/** `task requeue ID`: back to the queue from failed/ or done/, or its hand-out undone. */
export async function taskRequeue(
  opts: z.infer<typeof taskRequeueOptionsSchema>,
  ctx: Context,
): Promise<RequeueResult> {
  return requeueTask(ctx, opts.id, { project: opts.project, reason: opts.reason, by: 'operator' });
}

function renderTaskRequeue(r: RequeueResult, out: Output): void {
  const name = `${r.project}/${showId(r.task)}`;
  const text = {
    requeued: `requeued ${name} (attempts so far: ${r.attempts} of ${r.maxAttempts})`,
    failed: `${name} had used up its ${r.maxAttempts} attempts: moved to ${r.path}`,
    'marker-removed': `${name}: removed its leftover marker (the task is ${r.path ?? 'gone'})`,
    unchanged: `${name} is ${r.from === 'inbox' ? 'already queued' : `in ${r.from}/; left there`}`,
  }[r.action];
  out.print(text);
}

export const taskDoneCommand = defineCommand({
  schema: taskDoneOptionsSchema,
  run: taskDone,
  render: renderTaskFinish,
});

export const taskFailCommand = defineCommand({
  schema: taskFailOptionsSchema,
  run: taskFail,
  render: renderTaskFinish,
});

export const taskRequeueCommand = defineCommand({
  schema: taskRequeueOptionsSchema,
  run: taskRequeue,
  render: renderTaskRequeue,
});
