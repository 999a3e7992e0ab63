/**
 * Filesystem faults (a full disk, a read-only or unwritable directory, a quota, a failing
 * device) as the rest of the tool reports errors: one line naming the path and the
 * operation, a hint, and exit code 74 (EXIT.IO). The registry (cli.ts) and `tick` turn any
 * such error into an IoFaultError; no command needs its own try/catch for them.
 *
 * Secondary writes (an event line, a notification outbox entry, a checkpoint) must never
 * turn a command whose main effect happened into a failure: they call `skipSecondaryWrite`,
 * which remembers the fault, and the registry prints one warning per file at the end of
 * the run (`takeSkippedWrites`), however many writes were skipped.
 */
import os from 'node:os';
import path from 'node:path';
import { CliError, EXIT } from './errors.js';

const FAULT_REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
};

/** What a syscall was doing, in the words of a message ("cannot write …"). */
const OPERATIONS: Record<string, string> = {
  open: 'open',
  write: 'write',
  read: 'read',
  rename: 'rename',
  link: 'link',
  unlink: 'remove',
  rmdir: 'remove',
  rm: 'remove',
  mkdir: 'create directory',
  mkdtemp: 'create directory',
  copyfile: 'copy',
  fsync: 'sync',
  close: 'close',
  chmod: 'change mode of',
  symlink: 'link',
  utime: 'touch',
  futime: 'touch',
  ftruncate: 'truncate',
};

/** Node's fs errors: a rename or a link also names its destination. */
type FsError = NodeJS.ErrnoException & { dest?: string };

/** The errno code of a filesystem fault this module explains, or null for anything else. */
export function ioFaultCode(err: unknown): string | null {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code in FAULT_REASONS ? code : null;
}

/**
 * Remembers which file a failed write was for, when the error does not say (a write or an
 * fsync on a descriptor carries no path) or names only the hidden temp file `tmp` that was
 * to replace it. Returns the same error, for `throw withPath(…)`.
 */
export function withPath(err: unknown, file: string, tmp?: string): unknown {
  const e = err as FsError | null;
  if (e && typeof e === 'object' && ioFaultCode(e) && (!e.path || e.path === tmp)) {
    e.path = file;
    delete e.dest;
  }
  return err;
}

/** A filesystem fault, explained: the path, the operation, the reason and what to do. */
export class IoFaultError extends CliError {
  constructor(
    message: string,
    readonly code: string,
    readonly path: string | null,
    hint: string,
    cause: unknown,
  ) {
    super(message, { exitCode: EXIT.IO, hint, cause });
  }
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

function inside(file: string, dir: string | undefined): boolean {
  if (!dir) return false;
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** What to do about fault `code` at `file` (stateDir named as such when it is there). */
function faultHint(code: string, file: string | null, stateDir: string | undefined): string {
  const isState = file ? inside(file, stateDir) : false;
  // Every file under stateDir shares one hint, so a run that hits several says it once.
  const dir = isState ? stateDir! : file ? path.dirname(file) : (stateDir ?? 'the file');
  switch (code) {
    case 'ENOSPC':
      return `free space on the filesystem of ${isState ? 'stateDir ' : ''}${dir} (df -h ${dir})`;
    case 'EDQUOT':
      return `free space within your disk quota on the filesystem of ${dir} (quota -s)`;
    case 'EROFS':
      return isState
        ? `stateDir is read-only: remount ${stateDir} read-write, or set stateDir to a writable directory`
        : `${dir} is on a read-only filesystem: remount it read-write`;
    case 'EACCES':
    case 'EPERM':
      return `${dir} is not writable by user ${userName()}: fix its owner or mode, or run as its owner`;
    default:
      return `the device holding ${dir} reports I/O errors: check the disk (dmesg) before going on`;
  }
}

/**
 * Turns a filesystem fault into an IoFaultError ("cannot write <path>: no space left on
 * device"), or returns null when `err` is something else. `stateDir` lets the hint say so;
 * `outcome` says what that meant for the command ("nothing was stopped").
 */
export function ioFaultError(
  err: unknown,
  opts: { stateDir?: string; outcome?: string } = {},
): IoFaultError | null {
  if (err instanceof IoFaultError) return err;
  const code = ioFaultCode(err);
  if (!code) return null;
  const e = err as FsError;
  const file = e.path ?? e.dest ?? null;
  const op = OPERATIONS[e.syscall ?? ''] ?? e.syscall ?? 'write';
  const message =
    `cannot ${op} ${file ?? '(a file)'}: ${FAULT_REASONS[code]} (${code})` +
    (opts.outcome ? `; ${opts.outcome}` : '');
  return new IoFaultError(message, code, file, faultHint(code, file, opts.stateDir), err);
}

/**
 * Runs `record`, the write that must precede an action; a filesystem fault becomes an
 * IoFaultError saying that nothing was done (`outcome`), anything else is thrown as is.
 */
export async function recordFirst<T>(
  stateDir: string,
  outcome: string,
  record: () => Promise<T>,
): Promise<T> {
  try {
    return await record();
  } catch (err) {
    throw ioFaultError(err, { stateDir, outcome }) ?? err;
  }
}

interface SkippedWrite {
  what: string;
  file: string;
  code: string;
  count: number;
}

const skipped = new Map<string, SkippedWrite>();

/**
 * For a secondary write that failed: a filesystem fault is remembered (and reported once
 * per file at the end of the run) and swallowed; anything else is thrown again.
 * `what` names the write for the operator ("event log", "checkpoint").
 */
export function skipSecondaryWrite(what: string, file: string, err: unknown): void {
  const code = ioFaultCode(err);
  if (!code) throw err;
  const key = `${what}\0${file}`;
  const prev = skipped.get(key);
  if (prev) prev.count++;
  else skipped.set(key, { what, file, code, count: 1 });
}

/**
 * The warnings for the secondary writes skipped so far in this process, one per file, and
 * forgets them: "could not write the event log /s/events.jsonl (3 times): no space left on
 * device (ENOSPC)". Faults whose code is in `except` were reported already (as the run's
 * error): they are not said twice.
 */
export function takeSkippedWrites(except: ReadonlySet<string> = new Set()): string[] {
  const lines = [...skipped.values()]
    .filter((s) => !except.has(s.code))
    .map(
      (s) =>
        `could not write the ${s.what} ${s.file}${s.count > 1 ? ` (${s.count} times)` : ''}: ` +
        `${FAULT_REASONS[s.code]} (${s.code}); the main effect of the command happened`,
    );
  skipped.clear();
  return lines;
}
