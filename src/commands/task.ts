import fs from 'node:fs';
import path from 'node:path';
import { createContext, type GlobalOptions } from '../lib/core/context.js';
import { UsageError } from '../lib/core/errors.js';
import { textTable } from '../lib/core/table.js';
import type { Output } from '../lib/core/output.js';
import { showId } from '../lib/core/shell.js';
import { addTask } from '../lib/tasks/add.js';
import { completeTask, failTask, type FinishResult } from '../lib/tasks/finish.js';
import { listTasks } from '../lib/tasks/list.js';
import { requeueTask } from '../lib/tasks/requeue.js';

export interface TaskAddOptions {
  id?: string;
  priority?: string;
  session?: string;
}

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

function parsePriority(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[+-]?\d{1,15}$/.test(v.trim()))
    throw new UsageError(`--priority: expected an integer, got ${JSON.stringify(v)}`);
  return Number(v.trim());
}

export async function taskAdd(
  project: string,
  file: string | undefined,
  opts: TaskAddOptions,
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  const priority = parsePriority(opts.priority);
  const input = await readInput(file);
  const r = await addTask(ctx, project, input.data, {
    id: opts.id,
    sourceName: input.name,
    priority,
    session: opts.session,
  });
  if (globals.json) out.printJson(r);
  else out.print(`queued ${r.project}/${showId(r.task)} (${r.path})`);
  return 0;
}

export async function taskList(
  opts: { project?: string },
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  const tasks = await listTasks(ctx, opts.project);
  if (globals.json) {
    out.printJson({ tasks });
    return 0;
  }
  if (!tasks.length) {
    out.print('no tasks');
    return 0;
  }
  const t = await textTable(out, ['project', 'task', 'state', 'prio', 'session', 'detail']);
  for (const x of tasks) {
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
  return 0;
}

function renderFinish(r: FinishResult, globals: GlobalOptions, out: Output): number {
  if (globals.json) out.printJson(r);
  else {
    const what =
      r.action === 'done' || r.action === 'failed'
        ? `${r.action}: ${r.project}/${showId(r.task)} -> ${r.path}`
        : `${r.project}/${showId(r.task)} was ${r.action.replace('already-', 'already ')} (${r.path})`;
    out.print(what);
  }
  return 0;
}

export async function taskDone(
  id: string,
  opts: { session?: string; project?: string },
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  return renderFinish(await completeTask(ctx, id, opts), globals, out);
}

export async function taskFail(
  id: string,
  opts: { reason: string; session?: string; project?: string },
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  return renderFinish(await failTask(ctx, id, opts.reason, opts), globals, out);
}

export async function taskRequeue(
  id: string,
  opts: { project?: string; reason?: string },
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  const r = await requeueTask(ctx, id, { ...opts, by: 'operator' });
  if (globals.json) out.printJson(r);
  else {
    const name = `${r.project}/${showId(r.task)}`;
    const text = {
      requeued: `requeued ${name} (attempts so far: ${r.attempts} of ${r.maxAttempts})`,
      failed: `${name} had used up its ${r.maxAttempts} attempts: moved to ${r.path}`,
      'marker-removed': `${name}: removed its leftover marker (the task is ${r.path ?? 'gone'})`,
      unchanged: `${name} is ${r.from === 'inbox' ? 'already queued' : `in ${r.from}/; left there`}`,
    }[r.action];
    out.print(text);
  }
  return 0;
}
