/** Paths and counts of a project's task queue (`<project>/.agent-queue/`, SPEC section 4). */
import fs from 'node:fs';
import path from 'node:path';
import * as z from './zod.js';
import { formatKeyPath, issueText } from './zod.js';

export const QUEUE_DIR = '.agent-queue';
export const MARKER_SUFFIX = '.dispatched';

export interface QueuePaths {
  root: string;
  inbox: string;
  done: string;
  failed: string;
  archive: string;
  status: string;
}

export function queuePaths(projectPath: string): QueuePaths {
  const root = path.join(projectPath, QUEUE_DIR);
  return {
    root,
    inbox: path.join(root, 'inbox'),
    done: path.join(root, 'done'),
    failed: path.join(root, 'failed'),
    archive: path.join(root, 'archive'),
    status: path.join(root, 'status.json'),
  };
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

const isTaskName = (name: string) => name.endsWith('.md') && !name.startsWith('.');

export interface QueueCounts {
  pending: number;
  dispatched: number;
  done: number;
  failed: number;
}

/** Counts a queue's tasks from one directory listing each (no file is opened). */
export function countQueue(projectPath: string): QueueCounts {
  const q = queuePaths(projectPath);
  const inbox = listDir(q.inbox);
  const markers = new Set(
    inbox
      .filter((n) => n.endsWith(`.md${MARKER_SUFFIX}`))
      .map((n) => n.slice(0, -MARKER_SUFFIX.length)),
  );
  let pending = 0;
  let dispatched = 0;
  for (const name of inbox) {
    if (!isTaskName(name)) continue;
    if (markers.has(name)) dispatched++;
    else pending++;
  }
  return {
    pending,
    dispatched,
    done: listDir(q.done).filter(isTaskName).length,
    failed: listDir(q.failed).filter(isTaskName).length,
  };
}

/**
 * A dispatch marker, `inbox/<id>.md.dispatched` (SPEC section 4): JSON `{session, account,
 * dispatchedAt, attempt}`, created exclusively (`wx`) by dispatch. Extra keys are kept.
 */
export const dispatchMarkerSchema = z.looseObject({
  session: z.string().check(z.minLength(1)),
  account: z.string(),
  dispatchedAt: z.iso.datetime({ offset: true }),
  attempt: z.int().check(z.gte(1)),
});

export interface DispatchMarker {
  /** The task id: the file name without `.md`. */
  taskId: string;
  /** `inbox/<id>.md` */
  taskPath: string;
  /** `inbox/<id>.md.dispatched` */
  markerPath: string;
  session: string;
  account: string;
  dispatchedAt: string;
  attempt: number;
}

/** The marker file of a task id. */
export function markerPath(projectPath: string, taskId: string): string {
  return path.join(queuePaths(projectPath).inbox, `${taskId}.md${MARKER_SUFFIX}`);
}

/**
 * Reads one marker. Returns null when it does not exist; throws an Error naming the file
 * and the field when it is not valid JSON or not the SPEC shape (an empty file, say, in
 * the instant between the exclusive create and the write).
 */
export function readDispatchMarker(file: string): DispatchMarker | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = dispatchMarkerSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`${file}: ${formatKeyPath(issue.path) || '(top level)'}: ${issueText(issue)}`);
  }
  const name = path.basename(file);
  const taskId = name.slice(0, -`.md${MARKER_SUFFIX}`.length);
  const m = parsed.data;
  return {
    taskId,
    taskPath: path.join(path.dirname(file), `${taskId}.md`),
    markerPath: file,
    session: m.session,
    account: m.account,
    dispatchedAt: m.dispatchedAt,
    attempt: m.attempt,
  };
}

/**
 * Every valid marker of a project's inbox, in name order. An invalid marker is reported
 * through `onInvalid` and left out (never deleted: the janitor and dispatch decide).
 */
export function listDispatchMarkers(
  projectPath: string,
  onInvalid?: (msg: string) => void,
): DispatchMarker[] {
  const inbox = queuePaths(projectPath).inbox;
  const out: DispatchMarker[] = [];
  for (const name of listDir(inbox).sort()) {
    if (!name.endsWith(`.md${MARKER_SUFFIX}`) || name.startsWith('.')) continue;
    try {
      const marker = readDispatchMarker(path.join(inbox, name));
      if (marker) out.push(marker);
    } catch (err) {
      onInvalid?.((err as Error).message);
    }
  }
  return out;
}
