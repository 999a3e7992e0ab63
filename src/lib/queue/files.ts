/** Paths and counts of a project's task queue (`<project>/.agent-queue/`, README: Files). */
import fs from 'node:fs';
import path from 'node:path';
import { listDir, tempPathFor, writeFileAtomic } from '../core/fs-atomic.js';
import * as z from '../core/zod.js';
import { formatKeyPath, issueText } from '../core/zod.js';

const QUEUE_DIR = '.agent-queue';
export const MARKER_SUFFIX = '.dispatched';
export const TASK_SUFFIX = '.md';
export const ERROR_SUFFIX = '.error.txt';
/** The longest task id, in UTF-8 bytes: `<id>.md.dispatched` and temp names stay below 255. */
const MAX_TASK_ID_BYTES = 200;

/** The queue folders a task file lives in. */
export type QueueFolder = 'inbox' | 'done' | 'failed';

export interface QueuePaths {
  root: string;
  inbox: string;
  done: string;
  failed: string;
  archive: string;
  status: string;
  /** `attempts/<id>.json`: how often a task was handed out without finishing (see requeue). */
  attempts: string;
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
    attempts: path.join(root, 'attempts'),
  };
}

/** Whether a directory entry is a task: `<id>.md`, not hidden. */
export const isTaskName = (name: string) =>
  name.endsWith(TASK_SUFFIX) && !name.startsWith('.') && name.length > TASK_SUFFIX.length;

/** The task id of a task file name (`<id>.md`). */
export const taskIdOf = (name: string) => name.slice(0, -TASK_SUFFIX.length);

/** Whether a directory entry is a dispatch marker (`<id>.md.dispatched`). */
export const isMarkerName = (name: string) =>
  name.endsWith(`${TASK_SUFFIX}${MARKER_SUFFIX}`) && !name.startsWith('.');

/**
 * Why `id` cannot be a task id, or null when it can. Ids are file names: anything else is
 * data (spaces, quotes, `$(...)`, a leading dash, unicode), and reaches tmux and the agent
 * literally.
 */
export function taskIdProblem(id: string): string | null {
  if (id === '') return 'must not be empty';
  if (id.includes('/')) return "must not contain '/'";
  if (id.includes('\0')) return 'must not contain a NUL byte';
  if (/^\.+$/.test(id)) return "must not be '.' or '..'";
  if (id.startsWith('.')) return "must not start with '.' (hidden files are not tasks)";
  if (Buffer.byteLength(id) > MAX_TASK_ID_BYTES)
    return `must be at most ${MAX_TASK_ID_BYTES} bytes long`;
  return null;
}

/** `<folder>/<id>.md` of a project. */
export function taskPath(projectPath: string, folder: QueueFolder, id: string): string {
  return path.join(queuePaths(projectPath)[folder], `${id}${TASK_SUFFIX}`);
}

/** `failed/<id>.error.txt`: why a task failed. */
export function errorPath(projectPath: string, id: string): string {
  return path.join(queuePaths(projectPath).failed, `${id}${ERROR_SUFFIX}`);
}

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
 * A dispatch marker, `inbox/<id>.md.dispatched` (README: Task queue): JSON `{session, account,
 * dispatchedAt, attempt}`, created exclusively (`wx`) by dispatch. Extra keys are kept.
 */
const dispatchMarkerSchema = z.looseObject({
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
 * and the field when it is not valid JSON or not that shape (an empty file, say, in
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

/** The fields of a marker, as written (README: Task queue). */
export interface MarkerFields {
  session: string;
  account: string;
  dispatchedAt: string;
  attempt: number;
}

const errno = (err: unknown) => (err as NodeJS.ErrnoException).code;
// Filesystems without hard links answer link(2) with one of these.
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'ENOSYS']);

/**
 * Creates `inbox/<id>.md.dispatched` exclusively: true when this call created it, false when
 * a marker was already there (another dispatcher has the task). The marker is written to a
 * hidden temp file first and then hard-linked into place: link(2) fails with EEXIST exactly
 * like an `open(..., 'wx')`, and a reader never sees a half-written marker. Where hard links
 * are not supported it falls back to `wx` and a write.
 */
export function createDispatchMarker(
  projectPath: string,
  taskId: string,
  fields: MarkerFields,
): boolean {
  const file = markerPath(projectPath, taskId);
  const body = `${JSON.stringify({
    session: fields.session,
    account: fields.account,
    dispatchedAt: fields.dispatchedAt,
    attempt: fields.attempt,
  })}\n`;
  const tmp = tempPathFor(file);
  try {
    // Inside the try: on a full disk the temp file can be created and its write then fail.
    fs.writeFileSync(tmp, body, { flag: 'wx', mode: 0o644 });
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if (errno(err) === 'EEXIST') return false;
    if (!NO_LINKS.has(errno(err) ?? '')) throw err;
    try {
      fs.writeFileSync(file, body, { flag: 'wx', mode: 0o644 });
      return true;
    } catch (err2) {
      if (errno(err2) === 'EEXIST') return false;
      throw err2;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Removes a task's marker; false when there was none. The task file is never touched. */
export function removeDispatchMarker(projectPath: string, taskId: string): boolean {
  try {
    fs.unlinkSync(markerPath(projectPath, taskId));
    return true;
  } catch (err) {
    if (errno(err) === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Moves a task file into `destDir` as `<id>.md`, or `<id>~2.md`, `<id>~3.md`, ... when that
 * name is taken (or, with `sidecars`, when one of `<name><suffix>` exists): a file is never
 * overwritten. The move is a hard link followed by an unlink of the source, so the content
 * always has at least one name; when two processes move the same file at once, the one whose
 * unlink fails removes its own extra link, so exactly one copy remains. Returns the new id
 * and path (`by: 'other'` when another process is moving this very file to that name right
 * now), or null when the source was gone (someone else moved it first).
 */
export function moveTaskFile(
  src: string,
  destDir: string,
  id: string,
  sidecars: readonly string[] = [],
): { id: string; path: string; by: 'us' | 'other' } | null {
  fs.mkdirSync(destDir, { recursive: true });
  for (let n = 1; n < 10_000; n++) {
    const name = n === 1 ? id : `${id}~${n}`;
    const dest = path.join(destDir, `${name}${TASK_SUFFIX}`);
    if (sidecars.some((s) => fs.existsSync(path.join(destDir, `${name}${s}`)))) continue;
    try {
      fs.linkSync(src, dest);
    } catch (err) {
      const code = errno(err);
      if (code === 'EEXIST') {
        // The same file under that name: another process is in the middle of this move.
        if (sameFile(src, dest)) return { id: name, path: dest, by: 'other' };
        continue;
      }
      if (code === 'ENOENT') return null;
      if (!NO_LINKS.has(code ?? '')) throw err;
      // No hard links here: check, then rename (the small race is the filesystem's limit).
      if (fs.existsSync(dest)) continue;
      try {
        fs.renameSync(src, dest);
      } catch (err2) {
        if (errno(err2) === 'ENOENT') return null;
        throw err2;
      }
      return { id: name, path: dest, by: 'us' };
    }
    try {
      fs.unlinkSync(src);
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
      // Someone else moved the source meanwhile: theirs is the copy that counts.
      fs.rmSync(dest, { force: true });
      return null;
    }
    return { id: name, path: dest, by: 'us' };
  }
  throw new Error(`${destDir}: no free name for task ${id}`);
}

function sameFile(a: string, b: string): boolean {
  try {
    const x = fs.lstatSync(a);
    const y = fs.lstatSync(b);
    return x.ino === y.ino && x.dev === y.dev;
  } catch {
    return false;
  }
}

/** Where a task's attempt count and hand-out history live, across requeues and moves. */
export interface TaskAttempts {
  /** Hand-outs that ended without `task done` or `task fail` (the next one is +1). */
  attempts: number;
  history: Array<{
    at: string;
    event: string;
    session?: string | null;
    account?: string | null;
    attempt?: number | null;
    reason?: string | null;
  }>;
}

const HISTORY_MAX = 50;

export function attemptsPath(projectPath: string, taskId: string): string {
  return path.join(queuePaths(projectPath).attempts, `${taskId}.json`);
}

/** A task's attempts record; an absent or unreadable one counts as none. */
export function readTaskAttempts(projectPath: string, taskId: string): TaskAttempts {
  try {
    const raw = JSON.parse(
      fs.readFileSync(attemptsPath(projectPath, taskId), 'utf8'),
    ) as Partial<TaskAttempts>;
    return {
      attempts:
        Number.isInteger(raw.attempts) && (raw.attempts as number) >= 0
          ? (raw.attempts as number)
          : 0,
      history: Array.isArray(raw.history) ? raw.history : [],
    };
  } catch {
    return { attempts: 0, history: [] };
  }
}

/** Writes a task's attempts record atomically (the history is capped). */
export function writeTaskAttempts(projectPath: string, taskId: string, a: TaskAttempts): void {
  const file = attemptsPath(projectPath, taskId);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(
    file,
    `${JSON.stringify({ attempts: a.attempts, history: a.history.slice(-HISTORY_MAX) }, null, 2)}\n`,
    { mode: 0o644 },
  );
}
