/**
 * File locks through proper-lockfile, with a deadline (`lock.waitFor`) instead of a retry
 * count, and stale-lock takeover after `lock.staleAfter`. Every process must use the same
 * `stale` and `update` values, so they come from the config only.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type lockfileApi from 'proper-lockfile';
import { LockBusyError } from './errors.js';

export interface LockOptions {
  /** How long to keep trying before LockBusyError (exit 75). */
  waitFor: number;
  /** A lock whose holder stopped refreshing it for this long is taken over (min 2s). */
  staleAfter: number;
  /** What the lock protects, for the error message. */
  what?: string;
}

// Loaded on first use: it pulls in graceful-fs, which read-only commands do not need.
let lockfilePromise: Promise<typeof lockfileApi> | undefined;
function lockfile(): Promise<typeof lockfileApi> {
  return (lockfilePromise ??= import('proper-lockfile').then(
    (m) => (m.default ?? m) as typeof lockfileApi,
  ));
}

/** proper-lockfile refuses a stale time below 2 s. */
function effectiveStale(staleAfter: number): number {
  return Math.max(2000, staleAfter);
}

/**
 * proper-lockfile's options, the same in every process: it takes a lock over once its mtime
 * is older than `stale`, so each holder refreshes it at half that; no retries of its own.
 */
function lockOptions(stale: number, onCompromised: (err: Error) => void) {
  return {
    realpath: false,
    stale,
    update: Math.max(1000, Math.floor(stale / 2)),
    retries: 0,
    onCompromised,
  };
}

/**
 * Takes the lock on `file` (it need not exist), runs `fn`, and releases the lock.
 * Throws LockBusyError when it is still held after `waitFor`.
 */
export async function withLock<T>(
  file: string,
  opts: LockOptions,
  fn: (assertHeld: () => void) => Promise<T> | T,
): Promise<T> {
  const stale = effectiveStale(opts.staleAfter);
  const deadline = Date.now() + opts.waitFor;
  let compromised: Error | undefined;
  let delay = 10;
  let release: (() => Promise<void>) | undefined;
  for (;;) {
    try {
      release = await (
        await lockfile()
      ).lock(
        file,
        lockOptions(stale, (err) => {
          // Another process took the lock over (we were too slow to refresh it). Finish
          // nothing more under it: the caller's write checks `compromised` first.
          compromised = err;
        }),
      );
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      if (Date.now() >= deadline) {
        throw new LockBusyError(
          `${opts.what ?? file} is locked by another claude-failover process (waited ${Math.round(opts.waitFor / 1000)}s)`,
          `try again later; a lock left by a killed process is taken over after ${Math.round(stale / 1000)}s`,
        );
      }
      await sleep(Math.min(delay, Math.max(1, deadline - Date.now())) * (0.5 + Math.random()));
      delay = Math.min(delay * 1.5, 200);
    }
  }
  const assertHeld = () => {
    if (compromised) throw compromised;
  };
  try {
    const out = await fn(assertHeld);
    assertHeld();
    return out;
  } finally {
    await release().catch(() => undefined);
  }
}

/** Takes the lock only if it is free right now; returns null when busy. */
export async function tryLock(
  file: string,
  opts: Omit<LockOptions, 'waitFor'>,
): Promise<(() => Promise<void>) | null> {
  const stale = effectiveStale(opts.staleAfter);
  try {
    return await (
      await lockfile()
    ).lock(
      file,
      lockOptions(stale, () => undefined),
    );
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') return null;
    throw err;
  }
}

/** Whether `file` is locked now (by a live, non-stale holder). */
export async function isLocked(file: string, staleAfter: number): Promise<boolean> {
  return (await lockfile()).check(file, { realpath: false, stale: effectiveStale(staleAfter) });
}
