/**
 * `task done` and `task fail`, and `failTaskFile` (inbox/ to failed/ with its .error.txt),
 * which dispatch and requeue use too.
 */
import fs from 'node:fs';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { logEvent } from '../core/events.js';
import { skipSecondaryWrite } from '../core/io-faults.js';
import { writeFileAtomic } from '../core/fs-atomic.js';
import {
  ERROR_SUFFIX,
  errorPath,
  moveTaskFile,
  queuePaths,
  removeDispatchMarker,
  taskPath,
} from '../queue/files.js';
import { updateAgentStatus } from '../claude/signals.js';
import {
  locateIn,
  locateTask,
  notFound,
  projectSessions,
  safeMarker,
  sessionFrom,
  type LocateOptions,
  type Project,
} from './locate.js';

// Marks a session idle with no task in its project's status.json, unless the entry says it
// is on another task by now.
async function releaseSession(
  ctx: Context,
  project: Project,
  session: string,
  taskId: string,
): Promise<void> {
  if (!projectSessions(ctx.config, project.name).includes(session)) return;
  const at = ctx.clock.now().toISOString();
  // Secondary: the task has moved; the agent's next Stop hook marks it idle anyway.
  await updateAgentStatus(project.path, session, (prev) => {
    if (prev && prev.task !== null && prev.task !== taskId) return prev;
    return {
      ...(prev ?? { claudeSessionId: null }),
      state: 'idle',
      task: null,
      updatedAt: at,
    };
  }).catch((err: unknown) =>
    skipSecondaryWrite('status file', queuePaths(project.path).status, err),
  );
}

interface FailInfo {
  /** Who failed it: `dispatch`, `task fail`, `requeue`, `janitor`. */
  by: string;
  session?: string | null;
  account?: string | null;
  attempt?: number | null;
}

/**
 * Moves `inbox/<id>.md` to `failed/` (under a free name: `<id>~2.md` when `<id>` is taken)
 * with a `.error.txt` beside it whose first line is `reason`, and records `task.failed`.
 * Returns the new id and path (`by: 'other'` when another process is failing this same file
 * at this moment; that one writes the error and the event), or null when the file was
 * already gone. The marker, if any, is left to the caller.
 */
export function failTaskFile(
  ctx: Context,
  project: Project,
  id: string,
  reason: string,
  info: FailInfo,
): { id: string; path: string; by: 'us' | 'other' } | null {
  const moved = moveTaskFile(
    taskPath(project.path, 'inbox', id),
    queuePaths(project.path).failed,
    id,
    [ERROR_SUFFIX],
  );
  // Gone, or another process is failing it right now (that one writes the error and event).
  if (!moved || moved.by === 'other') return moved;
  const at = ctx.clock.now().toISOString();
  const lines = [
    reason,
    '',
    `task: ${id}`,
    `project: ${project.name}`,
    `file: ${moved.path}`,
    `failed at: ${at}`,
    `by: ${info.by}`,
  ];
  if (info.session) lines.push(`session: ${info.session}`);
  if (info.account) lines.push(`account: ${info.account}`);
  if (info.attempt) lines.push(`attempt: ${info.attempt}`);
  // The task is in failed/ already: a note that cannot be written (a full disk) is warned
  // about, not taken for a failure of the move.
  try {
    writeFileAtomic(errorPath(project.path, moved.id), `${lines.join('\n')}\n`, { mode: 0o644 });
  } catch (err) {
    skipSecondaryWrite('failure note', errorPath(project.path, moved.id), err);
  }
  logEvent(
    ctx,
    'task.failed',
    {
      task: id,
      project: project.name,
      reason,
      by: info.by,
      session: info.session ?? null,
      account: info.account ?? null,
      attempt: info.attempt ?? null,
      path: moved.path,
    },
    'error',
  );
  return moved;
}

export interface FinishResult {
  task: string;
  project: string;
  /** What happened: moved now, or it already was there (a repeated call is fine). */
  action: 'done' | 'failed' | 'already-done' | 'already-failed';
  /** Where the file is now. */
  path: string;
  /** The session released (from the marker, else --session / $CLAUDE_FAILOVER_SESSION). */
  session: string | null;
}

/**
 * `task done <id>`: moves the task to `done/` (never overwriting: a second `<id>` becomes
 * `<id>~2.md`), records `task.done`, removes the marker and marks the session idle. A task
 * already in `done/` is reported as such (exit 0); one in `failed/` is moved to `done/` too,
 * because the agent says the work was finished (its `.error.txt` stays in `failed/`).
 */
export async function completeTask(
  ctx: Context,
  id: string,
  opts: LocateOptions = {},
): Promise<FinishResult> {
  const loc = locateTask(ctx, id, opts);
  if (!loc) throw notFound(ctx, id, opts);
  const { project } = loc;
  const marker = safeMarker(project, id);
  const session = marker?.session ?? sessionFrom(ctx, opts.session) ?? null;
  const base = { task: id, project: project.name, session };
  if (loc.folder === 'done' || loc.folder === null) {
    // A repeated call, or one interrupted after the move: finish the clean-up.
    if (loc.marker && !fs.existsSync(taskPath(project.path, 'inbox', id)))
      removeDispatchMarker(project.path, id);
    if (loc.folder === null) throw notFound(ctx, id, opts);
    return { ...base, action: 'already-done', path: loc.path! };
  }
  const moved = moveTaskFile(loc.path!, queuePaths(project.path).done, id);
  if (moved?.by === 'other') return { ...base, action: 'already-done', path: moved.path };
  if (!moved) {
    // Someone moved it at the same moment; say where it went.
    const again = locateIn(project, id);
    if (again?.folder === 'done') return { ...base, action: 'already-done', path: again.path! };
    throw new UsageError(`task '${id}' moved away while it was being marked done`);
  }
  // The event comes before the marker goes: in the log, a task is done before its session
  // can be handed the next one.
  const at = ctx.clock.now();
  logEvent(ctx, 'task.done', {
    task: id,
    project: project.name,
    from: loc.folder,
    session,
    account: marker?.account ?? null,
    attempt: marker?.attempt ?? null,
    durationMs: marker ? Math.max(0, at.getTime() - Date.parse(marker.dispatchedAt)) : null,
    path: moved.path,
  });
  if (loc.folder === 'inbox') removeDispatchMarker(project.path, id);
  if (session) await releaseSession(ctx, project, session, id);
  return { ...base, action: 'done', path: moved.path };
}

/**
 * `task fail <id> --reason TEXT`: moves the task to `failed/` with `<id>.error.txt`, records
 * `task.failed` (level error), removes the marker and marks the session idle. A task already
 * in `failed/` is reported as such; one in `done/` is a usage error (requeue it first).
 */
export async function failTask(
  ctx: Context,
  id: string,
  reason: string,
  opts: LocateOptions = {},
): Promise<FinishResult> {
  if (!reason.trim()) throw new UsageError('--reason: must not be empty');
  const loc = locateTask(ctx, id, opts);
  if (!loc || loc.folder === null) throw notFound(ctx, id, opts);
  const { project } = loc;
  const marker = safeMarker(project, id);
  const session = marker?.session ?? sessionFrom(ctx, opts.session) ?? null;
  const base = { task: id, project: project.name, session };
  if (loc.folder === 'failed') return { ...base, action: 'already-failed', path: loc.path! };
  if (loc.folder === 'done') {
    throw new UsageError(
      `task '${id}' is already done (${loc.path})`,
      `run 'claude-failover task requeue ${id}' first to run it again`,
    );
  }
  const moved = failTaskFile(ctx, project, id, reason.trim(), {
    by: 'task fail',
    session,
    account: marker?.account ?? null,
    attempt: marker?.attempt ?? null,
  });
  if (moved?.by === 'other') return { ...base, action: 'already-failed', path: moved.path };
  if (!moved) {
    const again = locateIn(project, id);
    if (again?.folder === 'failed') return { ...base, action: 'already-failed', path: again.path! };
    throw new UsageError(`task '${id}' moved away while it was being marked failed`);
  }
  removeDispatchMarker(project.path, id);
  if (session) await releaseSession(ctx, project, session, id);
  return { ...base, action: 'failed', path: moved.path };
}
