/** `task requeue`, which the janitor also uses for stale or orphaned dispatch markers. */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { UsageError } from '../core/errors.js';
import { logEvent } from '../core/events.js';
import { skipSecondaryWrite } from '../core/io-faults.js';
import {
  attemptsPath,
  errorPath,
  queuePaths,
  readTaskAttempts,
  removeDispatchMarker,
  taskPath,
  writeTaskAttempts,
  type QueueFolder,
} from '../queue/files.js';
import { updateAgentStatus } from '../claude/signals.js';
import { stamp } from './add.js';
import { failTaskFile } from './finish.js';
import {
  locateIn,
  locateTask,
  notFound,
  projectSessions,
  readSmall,
  safeMarker,
  type LocateOptions,
  type Project,
} from './locate.js';

interface RequeueOptions extends LocateOptions {
  /** Why, for the events log and the history (default: "requeued by <by>"). */
  reason?: string;
  /** Who asks: `operator` (the CLI) or `janitor`. */
  by?: string;
  /**
   * Only undo hand-outs: a task already in done/ or failed/ is left there and only a
   * leftover marker is removed (what the janitor wants for a stale marker).
   */
  inboxOnly?: boolean;
}

export interface RequeueResult {
  task: string;
  project: string;
  /** Where it was. `null`: only a marker was left (its task is nowhere in the queue). */
  from: QueueFolder | null;
  /**
   * requeued: back in the queue without a marker; failed: it had used up
   * `dispatch.maxAttempts` and went to failed/; marker-removed: a leftover marker was
   * cleared; unchanged: it was pending already.
   */
  action: 'requeued' | 'failed' | 'marker-removed' | 'unchanged';
  /** Hand-outs used so far (the next dispatch is attempt + 1). */
  attempts: number;
  maxAttempts: number;
  /** Where the task file is now. */
  path: string | null;
}

/**
 * Puts a task back in the queue; the janitor calls this for stale or orphaned markers, the
 * operator through `task requeue`.
 *
 * - In `inbox/` with a marker (handed out, not finished): the hand-out counts as an attempt.
 *   Below `dispatch.maxAttempts` the marker is removed and the count kept in
 *   `attempts/<id>.json`, so the next dispatch is attempt n+1; at the limit the task goes to
 *   `failed/` with the reason. The session's status.json entry drops the task.
 * - In `inbox/` without a marker: nothing to do (`unchanged`).
 * - In `done/` or `failed/`: moved back to `inbox/` with a fresh count (an operator's
 *   decision to run it again); the old `.error.txt` moves to
 *   `attempts/<id>.<time>.error.txt` and its first line into the history. Refused when
 *   `inbox/` already has that id.
 * - Only a marker left (its task moved on): the marker is removed.
 */
export async function requeueTask(
  ctx: Context,
  id: string,
  opts: RequeueOptions = {},
): Promise<RequeueResult> {
  const by = opts.by ?? 'operator';
  const reason = opts.reason?.trim() || `requeued by ${by}`;
  const loc = locateTask(ctx, id, opts);
  if (!loc) throw notFound(ctx, id, opts);
  const { project } = loc;
  const maxAttempts = ctx.config.dispatch.maxAttempts;
  const now = ctx.clock.now().toISOString();
  const record = readTaskAttempts(project.path, id);
  const base = { task: id, project: project.name, maxAttempts };

  if (loc.folder !== 'inbox' && loc.marker) {
    // A marker whose task moved on (an interrupted `task done`, say) holds nothing.
    removeDispatchMarker(project.path, id);
    logEvent(ctx, 'task.marker-removed', { task: id, project: project.name, reason, by });
    if (loc.folder === null || opts.inboxOnly) {
      const action = 'marker-removed' as const;
      return { ...base, from: loc.folder, action, attempts: record.attempts, path: loc.path };
    }
  }
  if (loc.folder === null) throw notFound(ctx, id, opts);
  if (loc.folder !== 'inbox' && opts.inboxOnly) {
    const action = 'unchanged' as const;
    return { ...base, from: loc.folder, action, attempts: record.attempts, path: loc.path };
  }

  if (loc.folder === 'inbox') {
    const marker = safeMarker(project, id);
    if (!loc.marker) {
      return {
        ...base,
        from: 'inbox',
        action: 'unchanged',
        attempts: record.attempts,
        path: loc.path,
      };
    }
    const attempts = Math.max(record.attempts, marker?.attempt ?? record.attempts + 1);
    record.attempts = attempts;
    record.history.push({
      at: now,
      event: 'requeued',
      session: marker?.session ?? null,
      account: marker?.account ?? null,
      attempt: marker?.attempt ?? null,
      reason,
    });
    writeTaskAttempts(project.path, id, record);
    if (attempts >= maxAttempts) {
      const moved = failTaskFile(
        ctx,
        project,
        id,
        `gave up after ${attempts} attempt${attempts > 1 ? 's' : ''} (dispatch.maxAttempts ${maxAttempts}): ${reason}`,
        {
          by,
          session: marker?.session ?? null,
          account: marker?.account ?? null,
          attempt: marker?.attempt ?? null,
        },
      );
      removeDispatchMarker(project.path, id);
      if (marker) await dropTask(ctx, project, marker.session, id);
      if (!moved) {
        // It left the inbox meanwhile (its agent finished it, say): nothing to give up on.
        const now = locateIn(project, id);
        const action = 'unchanged' as const;
        return { ...base, from: 'inbox', action, attempts, path: now?.path ?? null };
      }
      return { ...base, from: 'inbox', action: 'failed', attempts, path: moved.path };
    }
    removeDispatchMarker(project.path, id);
    if (marker) await dropTask(ctx, project, marker.session, id);
    logEvent(ctx, 'task.requeued', {
      task: id,
      project: project.name,
      from: 'inbox',
      session: marker?.session ?? null,
      attempt: marker?.attempt ?? null,
      attempts,
      maxAttempts,
      reason,
      by,
    });
    return { ...base, from: 'inbox', action: 'requeued', attempts, path: loc.path };
  }

  // done/ or failed/: back to the inbox, never over a task of the same id.
  const inboxFile = taskPath(project.path, 'inbox', id);
  if (fs.existsSync(inboxFile)) {
    throw new UsageError(
      `inbox already has a task '${id}' (${inboxFile}); not requeueing ${loc.path}`,
    );
  }
  const from = loc.folder;
  const errFile = errorPath(project.path, id);
  const oldError = from === 'failed' ? readSmall(errFile) : null;
  linkInto(loc.path!, inboxFile);
  record.history.push({
    at: now,
    event: `requeued from ${from}`,
    reason: oldError ? `${reason} (it had failed: ${oldError.split('\n')[0]})` : reason,
  });
  record.attempts = 0;
  writeTaskAttempts(project.path, id, record);
  // failed/ keeps only what is failed: the old reason moves beside the attempts record.
  if (oldError !== null) {
    try {
      fs.renameSync(
        errFile,
        path.join(
          path.dirname(attemptsPath(project.path, id)),
          `${id}.${stamp(new Date(now))}.error.txt`,
        ),
      );
    } catch {
      // already moved by a concurrent requeue
    }
  }
  logEvent(ctx, 'task.requeued', {
    task: id,
    project: project.name,
    from,
    attempts: 0,
    maxAttempts,
    reason,
    by,
  });
  return { ...base, from, action: 'requeued', attempts: 0, path: inboxFile };
}

/** Moves `src` to exactly `dest` without overwriting (usage error when it is taken). */
function linkInto(src: string, dest: string): void {
  try {
    fs.linkSync(src, dest);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new UsageError(`${dest} already exists; not overwriting it`);
    if (code === 'ENOENT') throw new UsageError(`${src} moved away meanwhile`);
    if (fs.existsSync(dest)) throw new UsageError(`${dest} already exists; not overwriting it`);
    fs.renameSync(src, dest);
    return;
  }
  fs.unlinkSync(src);
}

/**
 * Takes a requeued task off its session's status.json entry. The entry goes back to idle
 * too: the hand-out is over, and a prompt that never arrived would fire no hook to say so.
 * An agent that is in fact still busy shows it in its pane (and its next hook), which the
 * idle check reads before anything is handed to it.
 */
async function dropTask(ctx: Context, project: Project, session: string, id: string) {
  if (!projectSessions(ctx.config, project.name).includes(session)) return;
  await updateAgentStatus(project.path, session, (prev) =>
    prev && prev.task === id
      ? { ...prev, state: 'idle', task: null, updatedAt: ctx.clock.now().toISOString() }
      : (prev ?? null),
  ).catch((err: unknown) =>
    skipSecondaryWrite('status file', queuePaths(project.path).status, err),
  );
}
