/**
 * `doctor`'s view of the disks the tool writes to: stateDir, each project's `.agent-queue/`
 * and `sharedProjectsDir`. For each, whether this user can write there and how much space
 * is free, with a warning below `doctor.minFreeSpace`. Twenty agents writing transcripts
 * fill a disk on an ordinary day; this says so before a write fails.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { formatSize } from '../core/units.js';
import { queuePaths } from '../queue/files.js';

type Level = 'ok' | 'warn' | 'fail';

/** The directory itself, or the nearest ancestor that exists (where it would be created). */
function existingAncestor(dir: string): string {
  let d = dir;
  while (!fs.existsSync(d) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/** Why `dir` (`name`'s directory) is not writable by this process, or null when it is. */
function notWritable(name: string, dir: string): string | null {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS')
      return `${name} is read-only: ${dir} is on a read-only filesystem; remount it read-write`;
    return `${dir} is not writable by user ${userName()} (${code}): fix its owner or mode`;
  }
}

/** One check: writability and free space of `dir` (or of where it would be created). */
function spaceCheck(
  label: string,
  name: string,
  dir: string,
  minFree: number,
): [string, Level, string] {
  const at = existingAncestor(dir);
  const where = at === dir ? dir : `${dir} (not created yet; checked ${at})`;
  const problem = notWritable(name, at);
  if (problem) return [label, 'fail', problem];
  let free: number;
  try {
    const st = fs.statfsSync(at);
    free = st.bavail * st.bsize;
  } catch (err) {
    return [label, 'warn', `${where}: cannot read free space (${(err as Error).message})`];
  }
  if (free < minFree)
    return [
      label,
      'warn',
      `${where}: ${formatSize(free)} free, below doctor.minFreeSpace (${formatSize(minFree)}): free space on that filesystem`,
    ];
  return [label, 'ok', `${where}: writable, ${formatSize(free)} free`];
}

/** The space checks of every directory the tool writes to. */
export function spaceChecks(config: Config): Array<[string, Level, string]> {
  const min = config.doctor.minFreeSpace;
  return [
    spaceCheck('state dir space', 'stateDir', config.stateDir, min),
    ...config.projects.map((p) =>
      spaceCheck(
        `project ${p.name} queue space`,
        `the queue of project ${p.name}`,
        queuePaths(p.path).root,
        min,
      ),
    ),
    spaceCheck('shared projects space', 'sharedProjectsDir', config.sharedProjectsDir, min),
  ];
}
