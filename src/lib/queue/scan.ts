/**
 * One pass over a project's `inbox/`: which entries are tasks, which are handed out (they
 * have a marker), which are still settling, and each pending task's priority and pin.
 *
 * The scan has to stay cheap with thousands of queued files (10,000 in under half a second
 * for a whole `dispatch --dry-run`), so it lists the directory once, stats each task once,
 * and reads a file's head only when its front matter is not already known: what it learnt is
 * kept per project in `<stateDir>/cache/tasks-<project>.json`, keyed by name, size, mtime and
 * inode, so an edited or replaced file is read again. The cache is only a cache: losing it, or
 * two processes writing it at once, costs a re-read and nothing else.
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Config } from '../core/config.js';
import { ensurePrivateDir, listDir } from '../core/fs-atomic.js';
import { inspectTaskHead, TaskFileError } from './front-matter.js';
import {
  isMarkerName,
  isTaskName,
  MARKER_SUFFIX,
  queuePaths,
  taskIdOf,
  TASK_SUFFIX,
} from './files.js';

export interface ScannedTask {
  id: string;
  /** `<id>.md` */
  name: string;
  path: string;
  size: number;
  mtimeMs: number;
  /** 0 when the front matter does not say. */
  priority: number;
  /** The session it is pinned to (not checked against the config here), or null. */
  session: string | null;
  /** Why it cannot be dispatched (empty, not UTF-8, invalid front matter), or null. */
  error: string | null;
}

export interface InboxScan {
  project: string;
  projectPath: string;
  /** Settled tasks without a marker, in dispatch order: priority (higher first), then id. */
  pending: ScannedTask[];
  /** Task ids that have a marker (handed out, not done). */
  dispatched: string[];
  /** Tasks modified within `settle`, with how long ago (ms). */
  settling: Array<{ id: string; ageMs: number }>;
  /** Entries that are not tasks, or could not be read, with the reason. */
  ignored: Array<{ file: string; reason: string }>;
}

/** Dispatch order: priority, higher first; then the id in code-point order (locale-free). */
function compareTasks(
  a: { priority: number; id: string },
  b: { priority: number; id: string },
): number {
  return b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

type CacheEntry = [
  mtimeMs: number,
  size: number,
  ino: number,
  priority: number,
  session: string | null,
  error: string | null,
];

interface CacheFile {
  v: 1;
  entries: Record<string, CacheEntry>;
}

function scanCachePath(stateDir: string, project: string): string {
  return path.join(stateDir, 'cache', `tasks-${project}.json`);
}

function readCache(file: string): Record<string, CacheEntry> {
  try {
    const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheFile;
    return raw && raw.v === 1 && raw.entries && typeof raw.entries === 'object' ? raw.entries : {};
  } catch {
    return {};
  }
}

function writeCache(file: string, entries: Record<string, CacheEntry>): void {
  // No fsync: a cache lost in a crash is rebuilt by the next scan.
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    ensurePrivateDir(path.dirname(file));
    fs.writeFileSync(tmp, JSON.stringify({ v: 1, entries } satisfies CacheFile), {
      mode: 0o600,
    });
    fs.renameSync(tmp, file);
  } catch {
    // An unwritable cache only makes the next scan slower; a full disk may have left the
    // temp file created and empty.
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * Scans one project's inbox at `now`. Files modified less than `settle` ms ago are left for
 * a later run (they may still be being written). With `useCache` false the cache is neither
 * read nor written.
 */
export async function scanInbox(
  config: Pick<Config, 'stateDir'>,
  project: { name: string; path: string },
  now: Date,
  opts: { settle: number; useCache?: boolean },
): Promise<InboxScan> {
  const inbox = queuePaths(project.path).inbox;
  const names = listDir(inbox);
  const useCache = opts.useCache ?? true;
  const cacheFile = scanCachePath(config.stateDir, project.name);
  const cache = useCache ? readCache(cacheFile) : {};
  const nextCache: Record<string, CacheEntry> = {};
  let cacheChanged = false;

  const markers = new Set<string>();
  for (const n of names) if (isMarkerName(n)) markers.add(n.slice(0, -MARKER_SUFFIX.length));

  const scan: InboxScan = {
    project: project.name,
    projectPath: project.path,
    pending: [],
    dispatched: [],
    settling: [],
    ignored: [],
  };
  const nowMs = now.getTime();
  for (const name of names) {
    if (isMarkerName(name)) continue;
    if (name.startsWith('.')) {
      scan.ignored.push({ file: name, reason: 'hidden file' });
      continue;
    }
    if (!isTaskName(name)) {
      scan.ignored.push({ file: name, reason: `not a ${TASK_SUFFIX} file` });
      continue;
    }
    const id = taskIdOf(name);
    if (markers.has(name)) {
      scan.dispatched.push(id);
      continue;
    }
    const file = path.join(inbox, name);
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(file, { throwIfNoEntry: false });
    } catch (err) {
      scan.ignored.push({
        file: name,
        reason: `cannot stat: ${(err as NodeJS.ErrnoException).code}`,
      });
      continue;
    }
    if (!st) {
      // A name that is not valid UTF-8 comes back from readdir with U+FFFD and cannot be
      // opened by that name; anything else simply went away meanwhile.
      if (name.includes('\ufffd'))
        scan.ignored.push({ file: name, reason: 'the file name is not valid UTF-8: rename it' });
      continue;
    }
    if (!st.isFile()) {
      scan.ignored.push({ file: name, reason: 'not a regular file' });
      continue;
    }
    const ageMs = nowMs - st.mtimeMs;
    if (ageMs < opts.settle) {
      scan.settling.push({ id, ageMs: Math.max(0, Math.round(ageMs)) });
      continue;
    }
    const hit = cache[name];
    let entry: CacheEntry;
    if (hit && hit[0] === st.mtimeMs && hit[1] === st.size && hit[2] === st.ino) entry = hit;
    else {
      let priority = 0;
      let session: string | null = null;
      let error: string | null = null;
      try {
        ({ priority, session } = await inspectTaskHead(file, st.size));
      } catch (err) {
        if (err instanceof TaskFileError) error = err.reason;
        else {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT')
            scan.ignored.push({
              file: name,
              reason: `cannot read: ${code ?? (err as Error).message}`,
            });
          continue;
        }
      }
      entry = [st.mtimeMs, st.size, st.ino, priority, session, error];
      cacheChanged = true;
    }
    nextCache[name] = entry;
    scan.pending.push({
      id,
      name,
      path: file,
      size: st.size,
      mtimeMs: st.mtimeMs,
      priority: entry[3],
      session: entry[4],
      error: entry[5],
    });
  }
  scan.pending.sort(compareTasks);
  if (useCache) {
    if (!cacheChanged) cacheChanged = Object.keys(cache).length !== Object.keys(nextCache).length;
    if (cacheChanged) writeCache(cacheFile, nextCache);
  }
  return scan;
}
