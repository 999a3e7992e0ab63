/**
 * The task queue's operations besides dispatch: add, list, done, fail and requeue. Every move
 * goes through `moveTaskFile` (link, then unlink: never an overwrite, never a lost file, one
 * copy when two processes race); the only files removed are dispatch markers, temp files and
 * an extra link a lost race left behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import { ENV_PROJECT, ENV_SESSION } from '../core/env-names.js';
import { UsageError } from '../core/errors.js';
import { logEvent } from '../core/events.js';
import { tempPathFor, writeFileAtomic } from '../core/fs-atomic.js';
import { parseTaskText, setFrontMatterKeys, TaskFileError } from '../queue/front-matter.js';
import {
  ERROR_SUFFIX,
  errorPath,
  isTaskName,
  markerPath,
  moveTaskFile,
  queuePaths,
  readDispatchMarker,
  attemptsPath,
  readTaskAttempts,
  removeDispatchMarker,
  taskIdOf,
  taskIdProblem,
  taskPath,
  writeTaskAttempts,
  type DispatchMarker,
  type QueueFolder,
} from '../queue/files.js';
import { updateAgentStatus } from '../claude/signals.js';
import { scanInbox } from '../queue/scan.js';

export type Project = Config['projects'][number];

/** Throws a usage error (exit 2) naming `field` when `id` cannot be a task id. */
export function assertTaskId(id: string, field = 'task id'): void {
  const problem = taskIdProblem(id);
  if (problem) throw new UsageError(`${field}: ${problem} (got ${JSON.stringify(id)})`);
}

export function projectByName(config: Config, name: string): Project {
  const p = config.projects.find((x) => x.name === name);
  if (!p) {
    throw new UsageError(
      `unknown project '${name}'`,
      `configured: ${config.projects.map((x) => x.name).join(', ') || '(none)'}`,
    );
  }
  return p;
}

/** The sessions configured for a project. */
export function projectSessions(config: Config, project: string): string[] {
  return config.sessions.filter((s) => s.project === project).map((s) => s.name);
}

/** Why `session` cannot be a pin for tasks of `project`, or null. */
export function pinProblem(config: Config, project: string, session: string): string | null {
  const mine = projectSessions(config, project);
  if (mine.includes(session)) return null;
  const other = config.sessions.find((s) => s.name === session);
  return other
    ? `session '${session}' belongs to project ${other.project}, not ${project}`
    : `unknown session '${session}' (sessions of ${project}: ${mine.join(', ') || 'none'})`;
}

// ---- where a task is --------------------------------------------------------------------

export interface TaskLocation {
  project: Project;
  id: string;
  /** The folder its file is in, or null when only a marker is left. */
  folder: QueueFolder | null;
  path: string | null;
  marker: boolean;
}

export interface LocateOptions {
  /** `--project`: look only there. */
  project?: string;
  /** `--session`, else $CLAUDE_FAILOVER_SESSION: look in its project first. */
  session?: string;
}

function locateIn(project: Project, id: string): TaskLocation | null {
  const marker = fs.existsSync(markerPath(project.path, id));
  for (const folder of ['inbox', 'done', 'failed'] as const) {
    const file = taskPath(project.path, folder, id);
    if (fs.existsSync(file)) return { project, id, folder, path: file, marker };
  }
  return marker ? { project, id, folder: null, path: null, marker } : null;
}

/** The session named by `--session` or the agent's own environment. */
export function sessionFrom(ctx: Context, flag: string | undefined): string | undefined {
  return flag || ctx.env[ENV_SESSION] || undefined;
}

/**
 * Finds a task by id: in `--project`; else in the project of the session (flag or
 * $CLAUDE_FAILOVER_SESSION) or $CLAUDE_FAILOVER_PROJECT, and failing that in every
 * configured project. Inbox first, then done/, then failed/. An id found in two projects is
 * a usage error asking for `--project`; one found nowhere returns null.
 */
export function locateTask(
  ctx: Context,
  id: string,
  opts: LocateOptions = {},
): TaskLocation | null {
  assertTaskId(id);
  const { config } = ctx;
  if (opts.project) return locateIn(projectByName(config, opts.project), id);
  const session = sessionFrom(ctx, opts.session);
  const own =
    config.sessions.find((s) => s.name === session)?.project ??
    config.projects.find((p) => ctx.env[ENV_PROJECT] && p.path === ctx.env[ENV_PROJECT])?.name;
  if (own) {
    const hit = locateIn(projectByName(config, own), id);
    if (hit) return hit;
  }
  const hits = config.projects
    .map((p) => locateIn(p, id))
    .filter((h): h is TaskLocation => h !== null);
  if (hits.length > 1) {
    throw new UsageError(
      `task '${id}' exists in projects ${hits.map((h) => h.project.name).join(', ')}`,
      'pass --project <name>',
    );
  }
  return hits[0] ?? null;
}

function notFound(ctx: Context, id: string, opts: LocateOptions): UsageError {
  const where = opts.project ? `project ${opts.project}` : 'any configured project';
  return new UsageError(
    `no task '${id}' in ${where} (looked in inbox/, done/ and failed/)`,
    ctx.config.projects.length ? undefined : 'no projects are configured',
  );
}

function safeMarker(project: Project, id: string): DispatchMarker | null {
  try {
    return readDispatchMarker(markerPath(project.path, id));
  } catch {
    return null; // an unreadable marker names nobody
  }
}

/**
 * Marks a session idle with no task in its project's status.json, unless the entry says it
 * is on another task by now.
 */
export async function releaseSession(
  ctx: Context,
  project: Project,
  session: string,
  taskId: string,
): Promise<void> {
  if (!projectSessions(ctx.config, project.name).includes(session)) return;
  const at = ctx.clock.now().toISOString();
  await updateAgentStatus(project.path, session, (prev) => {
    if (prev && prev.task !== null && prev.task !== taskId) return prev;
    return {
      ...(prev ?? { claudeSessionId: null }),
      state: 'idle',
      task: null,
      updatedAt: at,
    };
  });
}

// ---- failing a task ---------------------------------------------------------------------

export interface FailInfo {
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
  writeFileAtomic(errorPath(project.path, moved.id), `${lines.join('\n')}\n`, { mode: 0o644 });
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

// ---- done / fail ------------------------------------------------------------------------

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

// ---- requeue ----------------------------------------------------------------------------

export interface RequeueOptions extends LocateOptions {
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

function readSmall(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').slice(0, 4000);
  } catch {
    return null;
  }
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
  );
}

// ---- add --------------------------------------------------------------------------------

export interface AddOptions {
  /** `--id`; default: from `sourceName`, else a timestamp and a slug of the first line. */
  id?: string;
  /** The file the text came from (its name gives the default id). */
  sourceName?: string;
  priority?: number;
  session?: string;
}

export interface AddResult {
  task: string;
  project: string;
  path: string;
  priority: number;
  session: string | null;
}

function slugOf(text: string): string {
  const line =
    text
      .split('\n')
      .map((l) => l.replace(/^#+\s*/, '').trim())
      .find((l) => l) ?? '';
  const slug = line
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug || 'task';
}

function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
}

/**
 * `task add`: validates the text (UTF-8, front matter, a known pin, not empty), sets
 * `priority` / `session` in its front matter when given, and writes it into `inbox/`
 * atomically and exclusively: a hidden temp file, then a hard link to `<id>.md` that fails
 * rather than overwrite. An explicit id that is taken is a usage error; a derived one gets a
 * `-2`, `-3`, ... suffix. Errors name the field and exit 2.
 */
export async function addTask(
  ctx: Context,
  projectName: string,
  content: Uint8Array,
  opts: AddOptions = {},
): Promise<AddResult> {
  const project = projectByName(ctx.config, projectName);
  const source = opts.sourceName ?? 'stdin';
  if (opts.id !== undefined) assertTaskId(opts.id, '--id');
  if (opts.session !== undefined) {
    const problem = pinProblem(ctx.config, project.name, opts.session);
    if (problem) throw new UsageError(`--session: ${problem}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(content);
  } catch {
    throw new UsageError(`${source}: not valid UTF-8 text`);
  }
  const keys: Record<string, string | number> = {};
  if (opts.priority !== undefined) keys.priority = opts.priority;
  if (opts.session !== undefined) keys.session = opts.session;
  let meta;
  try {
    text = await setFrontMatterKeys(text, keys);
    meta = await parseTaskText(text);
  } catch (err) {
    if (err instanceof TaskFileError) throw new UsageError(`${source}: ${err.reason}`);
    throw err;
  }
  if (meta.session !== null) {
    const problem = pinProblem(ctx.config, project.name, meta.session);
    if (problem) throw new UsageError(`${source}: front matter: session: ${problem}`);
  }

  const q = queuePaths(project.path);
  fs.mkdirSync(q.inbox, { recursive: true });
  let base = opts.id;
  if (base === undefined && opts.sourceName) {
    base = path.basename(opts.sourceName).replace(/\.md$/i, '').replace(/^\.+/, '');
    if (taskIdProblem(base)) base = undefined;
  }
  base ??= `${stamp(ctx.clock.now())}-${slugOf(meta.body)}`;
  const file = path.join(q.inbox, `${base}.md`);
  const tmp = tempPathFor(file);
  fs.writeFileSync(tmp, text, { flag: 'wx', mode: 0o644 });
  try {
    for (let n = 1; ; n++) {
      const id = n === 1 ? base : `${base}-${n}`;
      const dest = path.join(q.inbox, `${id}.md`);
      try {
        fs.linkSync(tmp, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (opts.id !== undefined)
          throw new UsageError(`--id: inbox of ${project.name} already has a task '${id}'`);
        if (n > 1000) throw err;
        continue;
      }
      logEvent(ctx, 'task.added', {
        task: id,
        project: project.name,
        priority: meta.priority,
        session: meta.session,
        path: dest,
      });
      return {
        task: id,
        project: project.name,
        path: dest,
        priority: meta.priority,
        session: meta.session,
      };
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

// ---- list -------------------------------------------------------------------------------

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
