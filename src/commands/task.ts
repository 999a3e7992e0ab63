import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { showId } from '../lib/core/shell.js';
import { textTable } from '../lib/core/table.js';
import * as z from '../lib/core/zod.js';
import { readTaskInput } from '../lib/tasks/input.js';
import { addTask, type AddResult } from '../lib/tasks/add.js';
import { listTasks, type TaskListEntry } from '../lib/tasks/list.js';
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

/** `task add PROJECT [FILE|-]`: queues a task from a file or stdin. */
export async function taskAdd(
  opts: z.infer<typeof taskAddOptionsSchema>,
  ctx: Context,
): Promise<AddResult> {
  const input = await readTaskInput(opts.file);
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
