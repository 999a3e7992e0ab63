/** Crash-safe file writes: temp file, fsync, rename, fsync of the directory. */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { withPath } from './io-faults.js';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates a directory (and parents) readable only by its owner. */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  } catch (err) {
    // A recursive mkdir that fails higher up (a read-only or full filesystem) reports ENOENT
    // for the deepest directory: one level at a time gives the real cause.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    mkdirEachLevel(dir);
  }
}

function mkdirEachLevel(dir: string): void {
  const parent = path.dirname(dir);
  if (parent !== dir && !fs.existsSync(parent)) mkdirEachLevel(parent);
  try {
    fs.mkdirSync(dir, { mode: PRIVATE_DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** A temp name beside `file`, unique per process and call. */
export function tempPathFor(file: string): string {
  return path.join(
    path.dirname(file),
    `.${path.basename(file)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * Writes `data` to `file` atomically: readers see the old or the new content, never a mix,
 * even if this process is killed mid-write. With `backup`, the previous file is kept
 * (hard-linked, so it costs no copy) under that name before the new one replaces it.
 */
export function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: { mode?: number; backup?: string } = {},
): void {
  const tmp = tempPathFor(file);
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', opts.mode ?? PRIVATE_FILE_MODE);
  } catch (err) {
    throw withPath(err, file, tmp);
  }
  try {
    fs.writeFileSync(fd, data);
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw withPath(err, file, tmp);
  }
  fs.closeSync(fd);
  try {
    if (opts.backup) {
      const bakTmp = tempPathFor(opts.backup);
      try {
        fs.linkSync(file, bakTmp);
        fs.renameSync(bakTmp, opts.backup);
      } catch (err) {
        fs.rmSync(bakTmp, { force: true });
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw withPath(err, file, tmp);
  }
  fsyncDir(path.dirname(file));
}

/** Reads a file, or returns undefined when it does not exist. */
export function readFileIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** The names in a directory; none when it does not exist (yet). */
export function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}
