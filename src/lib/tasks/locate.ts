/**
 * Where a task is: task ids, project and session lookup, and `locateTask`, which the task
 * commands (add, done, fail, requeue, list) share. Every move between queue folders goes
 * through `moveTaskFile` (link, then unlink: never an overwrite, never a lost file, one copy
 * when two processes race); the only files removed are dispatch markers, temp files and an
 * extra link a lost race left behind.
 */
import fs from 'node:fs';
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import { ENV_PROJECT, ENV_SESSION } from '../core/env-names.js';
import { UsageError } from '../core/errors.js';
import {
  markerPath,
  readDispatchMarker,
  taskIdProblem,
  taskPath,
  type DispatchMarker,
  type QueueFolder,
} from '../queue/files.js';

export type Project = Config['projects'][number];

/** Throws a usage error (exit 2) naming `field` when `id` cannot be a task id. */
export function assertTaskId(id: string, field = 'task id'): void {
  const problem = taskIdProblem(id);
  if (problem) throw new UsageError(`${field}: ${problem} (got ${JSON.stringify(id)})`);
}

/** The configured project called `name`; a usage error naming the others if none is. */
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

interface TaskLocation {
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

/** Where task `id` is in `project` (inbox/, done/, failed/, or only a marker), or null. */
export function locateIn(project: Project, id: string): TaskLocation | null {
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

/** The usage error for a task id found nowhere it was looked for. */
export function notFound(ctx: Context, id: string, opts: LocateOptions): UsageError {
  const where = opts.project ? `project ${opts.project}` : 'any configured project';
  return new UsageError(
    `no task '${id}' in ${where} (looked in inbox/, done/ and failed/)`,
    ctx.config.projects.length ? undefined : 'no projects are configured',
  );
}

/** The task's dispatch marker, or null when it has none or it cannot be read. */
export function safeMarker(project: Project, id: string): DispatchMarker | null {
  try {
    return readDispatchMarker(markerPath(project.path, id));
  } catch {
    return null; // an unreadable marker names nobody
  }
}

/** The first 4000 characters of `file`, or null when it cannot be read. */
export function readSmall(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8').slice(0, 4000);
  } catch {
    return null;
  }
}
