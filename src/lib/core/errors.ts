/**
 * Typed errors. Only the entry point turns them into an exit code (README: Exit codes):
 * 0 ok, 1 runtime failure, 2 bad usage / invalid config, state or task file,
 * 3 action needed but impossible, 74 a filesystem fault (full disk, read-only or unwritable
 * directory, quota, I/O error), 75 a lock was still busy.
 */
export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  IMPOSSIBLE: 3,
  IO: 74,
  LOCK_BUSY: 75,
} as const;

export class CliError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;
  /** A user error is expected and explained; it never prints a stack trace. */
  readonly userError: boolean;

  constructor(
    message: string,
    opts: { exitCode?: number; hint?: string; cause?: unknown; userError?: boolean } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode ?? EXIT.FAILURE;
    this.hint = opts.hint;
    this.userError = opts.userError ?? true;
  }
}

/** Bad command-line usage. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.USAGE, hint });
  }
}

/** Invalid or missing config. The message names the file and the key path. */
export class ConfigError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.USAGE, hint });
  }
}

/** Unreadable, corrupt or invalid state file. The message names the file. */
export class StateError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.USAGE, hint });
  }
}

/** A lock was still held by someone else after `lock.waitFor`. */
export class LockBusyError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.LOCK_BUSY, hint });
  }
}

/** Something must happen but cannot, e.g. every account is exhausted. */
export class ImpossibleError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: EXIT.IMPOSSIBLE, hint });
  }
}

/** An external program (tmux, the agent, crontab) failed. */
export class ExternalCommandError extends CliError {
  readonly kind: 'not-found' | 'timeout' | 'exit' | 'signal' | 'other';
  readonly stderr: string;

  constructor(
    message: string,
    kind: ExternalCommandError['kind'],
    stderr = '',
    opts: { hint?: string; cause?: unknown } = {},
  ) {
    super(message, { exitCode: EXIT.FAILURE, hint: opts.hint, cause: opts.cause });
    this.kind = kind;
    this.stderr = stderr;
  }
}
