/**
 * What an account can do right now: exhausted (a confirmed limit until its reset),
 * auth-error, draining (its usage passed `quota.drainAt`: no new tasks), over `swapAt`, or
 * in the middle of a swap. Dispatch, quota check, swap and status all ask here.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../core/config.js';
import { readUsage, type AccountUsage, type UsageWindow } from '../claude/signals.js';
import type { AccountState, State } from '../core/state-schema.js';

export interface AccountCondition {
  name: string;
  enabled: boolean;
  priority: number;
  exhausted: boolean;
  exhaustedUntil: string | null;
  authError: boolean;
  /** The freshest usage known (statusline or usage API), null when none. */
  usage: AccountUsage | NonNullable<AccountState['usage']> | null;
  /** The highest live window usage in percent (5 h or 7 d), null when unknown. */
  usedPercent: number | null;
  draining: boolean;
  overSwapAt: boolean;
  /** A swap is moving sessions off or onto this account right now. */
  midSwap: boolean;
}

type UsageLike = {
  fiveHour: UsageWindow | null;
  sevenDay: UsageWindow | null;
  updatedAt: string;
} | null;

/**
 * The StopFailure `error` values that mean the account cannot work at all, whatever its
 * quota: the login is refused (`authentication_failed`) or, since Claude Code 2.1.332, the
 * account is on hold, needs verification, or its cloud credentials fail. Waiting does not
 * help, so each is an auth error: the sessions leave the account and it is not chosen again
 * until its credentials change (`authErrorHolds`).
 */
const ACCOUNT_UNUSABLE_ERRORS: readonly string[] = [
  'authentication_failed',
  'account_on_hold',
  'verification_required',
  'cloud_credential_error',
];

/** Whether a StopFailure `error` value means the account cannot work (an auth error). */
export function isAccountUnusableError(error: string | null | undefined): boolean {
  return typeof error === 'string' && ACCOUNT_UNUSABLE_ERRORS.includes(error);
}

/**
 * Whether an account's auth-error mark still holds: it does until its credentials change
 * (a `/login` rewrites `<configDir>/.credentials.json`), or `doctor --repair` clears it.
 */
export function authErrorHolds(configDir: string | undefined, authErrorAt: string | null): boolean {
  if (!authErrorAt) return false;
  return holdsSince(credentialsMtime(configDir), authErrorAt);
}

/** An auth-error mark holds while the credentials are unknown or older than the mark. */
function holdsSince(credentialsMtimeMs: number | null, authErrorAt: string | null): boolean {
  if (!authErrorAt) return false;
  return credentialsMtimeMs === null || credentialsMtimeMs <= Date.parse(authErrorAt);
}

function credentialsMtime(configDir: string | undefined): number | null {
  if (!configDir) return null;
  try {
    return fs.statSync(path.join(configDir, '.credentials.json')).mtimeMs;
  } catch {
    return null;
  }
}

/**
 * What `accountCondition` reads from disk for one account: the statusline's usage file and
 * when its login last changed. Read once up front, they let a decision stay pure.
 */
export interface AccountFiles {
  usage: AccountUsage | null;
  /** The mtime of `<configDir>/.credentials.json`; null when it cannot be read. */
  credentialsMtimeMs: number | null;
}

/** Reads the `AccountFiles` of every configured account, by name. */
export function readAccountFiles(config: Config): Record<string, AccountFiles> {
  return Object.fromEntries(
    config.accounts.map((a) => [
      a.name,
      {
        usage: readUsage(config.stateDir, a.name),
        credentialsMtimeMs: credentialsMtime(a.configDir),
      },
    ]),
  );
}

/** A window counts until its reset: after it, the usage is back to zero. */
function liveWindow(w: UsageWindow | null | undefined, now: Date): number | null {
  if (!w) return null;
  if (w.resetsAt && Date.parse(w.resetsAt) <= now.getTime()) return 0;
  return w.usedPercentage;
}

/** The freshest usage we know for an account: the statusline's file or the state's copy. */
export function accountUsage(
  stateDir: string,
  state: State,
  name: string,
): AccountUsage | NonNullable<AccountState['usage']> | null {
  return freshestUsage(readUsage(stateDir, name), state.accounts[name]?.usage ?? null);
}

function freshestUsage(
  fromHook: AccountUsage | null,
  fromState: AccountState['usage'] | null,
): AccountUsage | NonNullable<AccountState['usage']> | null {
  if (!fromHook) return fromState;
  if (!fromState) return fromHook;
  return Date.parse(fromHook.updatedAt) >= Date.parse(fromState.updatedAt) ? fromHook : fromState;
}

/** The highest live usage percentage of the 5 h and 7 d windows, or null. */
export function usedPercent(usage: UsageLike, now: Date): number | null {
  if (!usage) return null;
  const values = [liveWindow(usage.fiveHour, now), liveWindow(usage.sevenDay, now)].filter(
    (v): v is number => v !== null,
  );
  return values.length ? Math.max(...values) : null;
}

/** Whether a swap journal is open (a swap started and has not finished or rolled back). */
export function swapInProgress(state: State): { from: string | null; to: string | null } | null {
  const j = state.swapJournal;
  return j && j.step !== 'done' ? { from: j.from, to: j.to } : null;
}

/**
 * What account `name` can do at `now`. `files` are its files read beforehand
 * (`readAccountFiles`); without them they are read here.
 */
export function accountCondition(
  config: Config,
  state: State,
  name: string,
  now: Date,
  files?: AccountFiles,
): AccountCondition {
  const acct = config.accounts.find((a) => a.name === name);
  const st = state.accounts[name];
  const exhausted = Boolean(st?.exhaustedUntil && Date.parse(st.exhaustedUntil) > now.getTime());
  const usage = files
    ? freshestUsage(files.usage, st?.usage ?? null)
    : accountUsage(config.stateDir, state, name);
  const used = usedPercent(usage, now);
  const swap = swapInProgress(state);
  return {
    name,
    enabled: acct?.enabled ?? false,
    priority: acct?.priority ?? Number.MAX_SAFE_INTEGER,
    exhausted,
    exhaustedUntil: exhausted ? st!.exhaustedUntil : null,
    authError: files
      ? holdsSince(files.credentialsMtimeMs, st?.authErrorAt ?? null)
      : authErrorHolds(acct?.configDir, st?.authErrorAt ?? null),
    usage,
    usedPercent: used,
    draining: used !== null && used >= config.quota.drainAt,
    overSwapAt: used !== null && used >= config.quota.swapAt,
    midSwap: Boolean(swap && (swap.from === name || swap.to === name)),
  };
}

/** Whether new tasks may go to sessions on this account. */
export function acceptsWork(c: AccountCondition): boolean {
  return c.enabled && !c.exhausted && !c.authError && !c.draining && !c.midSwap;
}

/**
 * The swap target: enabled, not exhausted, not in auth error, not over `swapAt`; then the
 * lowest priority number, then the most headroom (unknown usage counts as full headroom).
 * `exclude` holds the source and accounts already tried; `files` as for `accountCondition`.
 */
export function pickSwapTarget(
  config: Config,
  state: State,
  now: Date,
  exclude: readonly string[],
  files?: Record<string, AccountFiles>,
): AccountCondition | null {
  const candidates = config.accounts
    .filter((a) => !exclude.includes(a.name))
    .map((a) => accountCondition(config, state, a.name, now, files?.[a.name]))
    .filter((c) => c.enabled && !c.exhausted && !c.authError && !c.overSwapAt);
  candidates.sort(
    (a, b) =>
      a.priority - b.priority ||
      (a.usedPercent ?? 0) - (b.usedPercent ?? 0) ||
      a.name.localeCompare(b.name),
  );
  return candidates[0] ?? null;
}
