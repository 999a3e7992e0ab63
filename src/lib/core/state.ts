/**
 * The one state file, `<stateDir>/state.json` (README: Files): read without a lock (writes
 * are atomic renames), changed only under the lock, validated by zod on every read, and
 * never overwritten when it is corrupt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { StateError } from './errors.js';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from './fs-atomic.js';
import { withLock, type LockOptions } from './lock.js';
import { emptyState, stateSchema, type State } from './state-schema.js';
import { formatKeyPath, issueText } from './zod.js';

const STATE_FILE = 'state.json';
const REPAIR_HINT =
  "run 'claude-failover doctor --repair' to keep the corrupt copy and restore state.json.bak";

export interface StatePaths {
  file: string;
  backup: string;
  lock: string;
}

function statePaths(stateDir: string): StatePaths {
  const file = path.join(stateDir, STATE_FILE);
  return { file, backup: `${file}.bak`, lock: file };
}

/** Parses and validates state text; throws StateError naming the file and the field. */
export function parseState(text: string, file: string): State {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StateError(`${file}: not valid JSON (${(err as Error).message})`, REPAIR_HINT);
  }
  const result = stateSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new StateError(
      `${file}: invalid state at ${formatKeyPath(issue.path) || '(top level)'}: ${issueText(issue)}`,
      REPAIR_HINT,
    );
  }
  return result.data;
}

export class StateStore {
  readonly paths: StatePaths;

  constructor(
    readonly stateDir: string,
    private readonly lockOpts: Omit<LockOptions, 'what'>,
  ) {
    this.paths = statePaths(stateDir);
  }

  /** The current state; a fresh empty one when the file does not exist yet. */
  read(): State {
    const text = readFileIfExists(this.paths.file);
    if (text === undefined) return emptyState();
    return parseState(text, this.paths.file);
  }

  /**
   * Read-modify-write under the lock. `fn` mutates the state it is given (or returns a
   * replacement in `{state}`); the result is validated and written atomically, keeping the
   * previous file as `state.json.bak`. A corrupt file throws before anything is written.
   */
  async update<T>(fn: (state: State) => T | Promise<T>): Promise<T> {
    ensurePrivateDir(this.stateDir);
    return withLock(
      this.paths.lock,
      { ...this.lockOpts, what: this.paths.file },
      async (assertHeld) => {
        const existed = fs.existsSync(this.paths.file);
        const state = this.read();
        const out = await fn(state);
        state.updatedAt = new Date().toISOString();
        const checked = stateSchema.parse(state);
        assertHeld();
        writeFileAtomic(this.paths.file, `${JSON.stringify(checked, null, 2)}\n`, {
          backup: existed ? this.paths.backup : undefined,
        });
        return out;
      },
    );
  }

  /** Runs `fn` under the state lock without writing (for repairs that move files). */
  async locked<T>(fn: () => T | Promise<T>): Promise<T> {
    ensurePrivateDir(this.stateDir);
    return withLock(this.paths.lock, { ...this.lockOpts, what: this.paths.file }, () => fn());
  }
}

export type StateHealth =
  | { status: 'missing' }
  | { status: 'ok'; state: State }
  | { status: 'corrupt'; error: StateError; backupUsable: boolean };

/** Checks state.json and its backup without changing anything (for `doctor`). */
export function checkStateHealth(stateDir: string): StateHealth {
  const { file, backup } = statePaths(stateDir);
  const text = readFileIfExists(file);
  if (text === undefined) return { status: 'missing' };
  try {
    return { status: 'ok', state: parseState(text, file) };
  } catch (err) {
    if (!(err instanceof StateError)) throw err;
    let backupUsable = false;
    const bak = readFileIfExists(backup);
    if (bak !== undefined) {
      try {
        parseState(bak, backup);
        backupUsable = true;
      } catch {
        backupUsable = false;
      }
    }
    return { status: 'corrupt', error: err, backupUsable };
  }
}

export interface RepairResult {
  action: 'none' | 'restored-backup' | 'reset-empty';
  corruptCopy: string | null;
}

/**
 * Repairs a corrupt state file under the lock: the corrupt file is kept as
 * `state.json.corrupt-<time>`, then the backup is restored, or, when there is no usable
 * backup, an empty state is written.
 */
export async function repairState(store: StateStore, now = new Date()): Promise<RepairResult> {
  return store.locked(() => {
    const health = checkStateHealth(store.stateDir);
    if (health.status !== 'corrupt') return { action: 'none', corruptCopy: null };
    const { file, backup } = store.paths;
    const corruptCopy = `${file}.corrupt-${now.toISOString().replace(/[:.]/g, '-')}`;
    // Copy first, then replace atomically: state.json is never missing in between.
    fs.copyFileSync(file, corruptCopy, fs.constants.COPYFILE_EXCL);
    if (health.backupUsable) {
      writeFileAtomic(file, fs.readFileSync(backup));
      return { action: 'restored-backup', corruptCopy };
    }
    writeFileAtomic(file, `${JSON.stringify(emptyState(), null, 2)}\n`);
    return { action: 'reset-empty', corruptCopy };
  });
}
