/** `task list`: every task of the configured projects, by state. */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { errorPath, isTaskName, queuePaths, taskIdOf, taskPath } from '../queue/files.js';
import { scanInbox } from '../queue/scan.js';
import { projectByName, readSmall, safeMarker } from './locate.js';

export interface TaskListEntry {
  task: string;
  project: string;
  state: 'pending' | 'settling' | 'dispatched' | 'done' | 'failed';
  path: string;
  priority: number | null;
  session: string | null;
  account: string | null;
  dispatchedAt: string | null;
  attempt: number | null;
  /** Why it failed (the first line of its .error.txt), or why it cannot be dispatched. */
  reason: string | null;
}

/**
 * Every task of the projects (all, or `project`): pending ones in dispatch order (with the
 * ones still settling), then the dispatched ones, then done and failed, by id.
 */
export async function listTasks(ctx: Context, project?: string): Promise<TaskListEntry[]> {
  const projects = project ? [projectByName(ctx.config, project)] : ctx.config.projects;
  const out: TaskListEntry[] = [];
  const now = ctx.clock.now();
  for (const p of projects) {
    const q = queuePaths(p.path);
    const scan = await scanInbox(ctx.config, p, now, { settle: ctx.config.dispatch.settle });
    const blank = {
      project: p.name,
      priority: null,
      session: null,
      account: null,
      dispatchedAt: null,
      attempt: null,
      reason: null,
    };
    for (const t of scan.pending)
      out.push({
        ...blank,
        task: t.id,
        state: 'pending',
        path: t.path,
        priority: t.priority,
        session: t.session,
        reason: t.error,
      });
    for (const s of scan.settling)
      out.push({ ...blank, task: s.id, state: 'settling', path: taskPath(p.path, 'inbox', s.id) });
    for (const id of [...scan.dispatched].sort()) {
      const m = safeMarker(p, id);
      out.push({
        ...blank,
        task: id,
        state: 'dispatched',
        path: taskPath(p.path, 'inbox', id),
        session: m?.session ?? null,
        account: m?.account ?? null,
        dispatchedAt: m?.dispatchedAt ?? null,
        attempt: m?.attempt ?? null,
        reason: m ? null : 'its marker is not readable',
      });
    }
    for (const folder of ['done', 'failed'] as const) {
      let names: string[] = [];
      try {
        names = fs.readdirSync(q[folder]).filter(isTaskName).sort();
      } catch {
        names = [];
      }
      for (const name of names) {
        const id = taskIdOf(name);
        out.push({
          ...blank,
          task: id,
          state: folder,
          path: path.join(q[folder], name),
          reason:
            folder === 'failed' ? (readSmall(errorPath(p.path, id))?.split('\n')[0] ?? null) : null,
        });
      }
    }
  }
  return out;
}
