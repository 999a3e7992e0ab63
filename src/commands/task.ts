import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../lib/core/context.js';
import { UsageError } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import { showId } from '../lib/core/shell.js';
import { textTable } from '../lib/core/table.js';
import * as z from '../lib/core/zod.js';
import {
  addTask,
  completeTask,
  failTask,
  listTasks,
  requeueTask,
  type AddResult,
  type FinishResult,
  type RequeueResult,
  type TaskListEntry,
} from '../lib/tasks/tasks.js';
import { defineCommand } from './command.js';

const INTEGER = /^[+-]?\d{1,15}$/;

export const taskAddOptionsSchema = z.strictObject({
  project: z.string(),
  file: z.optional(z.string()),
  id: z.optional(z.string()),
  priority: z.optional(
    z.pipe(
      z.string().check(
        z.refine((v) => INTEGER.test(v.trim()), {
          error: (issue) => `expected an integer, got ${JSON.stringify(issue.input)}`,
        }),
      ),
      z.transform((v) => Number(v.trim())),
    ),
  ),
  session: z.optional(z.string()),
});

async function readInput(file: string | undefined): Promise<{ data: Buffer; name?: string }> {
  if (file === undefined || file === '-') {
    if (file === undefined && process.stdin.isTTY)
      throw new UsageError('give the task as a FILE, or - to read it from stdin');
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks) };
  }
  try {
    return { data: fs.readFileSync(file), name: path.basename(file) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code})`}`,
    );
  }
}

/** `task add PROJECT [FILE|-]`: queues a task from a file or stdin. */
export async function taskAdd(
  opts: z.infer<typeof taskAddOptionsSchema>,
  ctx: Context,
): Promise<AddResult> {
  const input = await readInput(opts.file);
  return addTask(ctx, opts.project, input.data, {
    id: opts.id,
    sourceName: input.name,
    priority: opts.priority,
    session: opts.session,
  });
}

function renderTaskAdd(r: AddResult, out: Output): void {
  out.print(`queued ${r.project}/${showId(r.task)} (${r.path})`);
}

export const taskListOptionsSchema = z.strictObject({ project: z.optional(z.string()) });

/** `task list [--project NAME]`: pending, dispatched, done and failed tasks. */
export async function taskList(
  opts: z.infer<typeof taskListOptionsSchema>,
  ctx: Context,
): Promise<{ tasks: TaskListEntry[] }> {
  return { tasks: await listTasks(ctx, opts.project) };
}

async function renderTaskList(r: { tasks: TaskListEntry[] }, out: Output): Promise<void> {
  if (!r.tasks.length) {
    out.print('no tasks');
    return;
  }
  const t = await textTable(out, ['project', 'task', 'state', 'prio', 'session', 'detail']);
  for (const x of r.tasks) {
    const detail =
      x.state === 'dispatched'
        ? `since ${x.dispatchedAt ?? '?'}, attempt ${x.attempt ?? '?'}${x.reason ? `; ${x.reason}` : ''}`
        : (x.reason ?? '');
    t.push([
      x.project,
      showId(x.task),
      x.state,
      x.priority === null ? '-' : String(x.priority),
      x.session ?? '-',
      detail,
    ]);
  }
  out.print(t.toString());
}

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

export const taskAddCommand = defineCommand({
  schema: taskAddOptionsSchema,
  run: taskAdd,
  render: renderTaskAdd,
});

export const taskListCommand = defineCommand({
  schema: taskListOptionsSchema,
  run: taskList,
  render: renderTaskList,
});

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
