/** Paths and counts of a project's task queue (`<project>/.agent-queue/`, SPEC section 4). */
import fs from 'node:fs';
import path from 'node:path';

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
