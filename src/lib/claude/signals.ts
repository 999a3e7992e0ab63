/**
 * What the hooks record: one append-only signal file per session
 * (`<stateDir>/signals/<session>.jsonl`), the per-project `status.json` (README: Files),
 * and the statusline usage per account (`<stateDir>/usage/<account>.json`).
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  agentStatusSchema,
  readAgentStatus,
  type AgentStatus,
  type AgentStatusEntry,
} from '../queue/status-file.js';
import {
  ensurePrivateDir,
  PRIVATE_FILE_MODE,
  readFileIfExists,
  writeFileAtomic,
} from '../core/fs-atomic.js';
import { withLock } from '../core/lock.js';
import { queuePaths } from '../queue/files.js';

export interface Signal {
  ts: string;
  event: string;
  account: string | null;
  claudeSessionId?: string | null;
  transcriptPath?: string | null;
  /** StopFailure's error class: rate_limit, server_error, authentication_failed, ... */
  error?: string | null;
  /** The message shown, e.g. the limit text with its reset time (redacted, cut). */
  message?: string | null;
  source?: string | null;
  /** UserPromptSubmit: the fingerprint of the prompt taken (see prompt-fingerprint.ts). */
  promptHash?: string | null;
}

/**
 * Whether our hooks are installed in an account's settings.json (by `setup`): then its
 * agents report SessionStart, UserPromptSubmit, Stop and StopFailure, and a missing signal
 * means "not yet", not "no hooks".
 */
export function hooksInstalled(configDir: string): boolean {
  try {
    return /claude-failover[^"]*hook run/.test(
      fs.readFileSync(path.join(configDir, 'settings.json'), 'utf8'),
    );
  } catch {
    return false;
  }
}

/**
 * Whether the hooks can record signals now: their directory (or the stateDir that will hold
 * it) is writable and its filesystem has room. On a full or read-only stateDir a missing
 * SessionStart says nothing, and readiness is read from the screen alone.
 */
export function signalsWritable(stateDir: string): boolean {
  let dir = path.join(stateDir, 'signals');
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return fs.statfsSync(dir).bavail > 0;
  } catch {
    return false;
  }
}

function signalsPath(stateDir: string, session: string): string {
  return path.join(stateDir, 'signals', `${session}.jsonl`);
}

/** Appends one signal line (one O_APPEND write, so concurrent hooks never interleave). */
export function appendSignal(stateDir: string, session: string, signal: Signal): void {
  const file = signalsPath(stateDir, session);
  ensurePrivateDir(path.dirname(file));
  fs.appendFileSync(file, `${JSON.stringify(signal)}\n`, { mode: PRIVATE_FILE_MODE });
}

/**
 * Reads the signals of a session newer than `since` (ISO), from the end of the file, so the
 * cost stays flat however long the file grows.
 */
export function readSignals(
  stateDir: string,
  session: string,
  since: string | null,
  maxBytes = 256 * 1024,
): Signal[] {
  const file = signalsPath(stateDir, session);
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (start > 0) lines.shift(); // a partial first line
    const out: Signal[] = [];
    for (const line of lines) {
      if (!line) continue;
      try {
        const s = JSON.parse(line) as Signal;
        if (!since || s.ts > since) out.push(s);
      } catch {
        // a torn line from a killed hook is skipped
      }
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * status.json's lock: held for a read and a write, so a holder older than `staleAfter` was
 * killed; other writers wait longer than that, so they take such a lock over instead of
 * failing. Hooks pass a shorter wait: they must not hold the agent up.
 */
const STATUS_LOCK = { waitFor: 7000, staleAfter: 5000 };

/**
 * Read-modify-write of a project's status.json under its own short lock. The hooks of every
 * session of a project write it, so the update must not lose a neighbour's entry.
 */
export async function updateAgentStatus(
  projectPath: string,
  session: string,
  patch: (entry: AgentStatusEntry | undefined) => AgentStatusEntry | null,
  opts: { waitFor?: number } = {},
): Promise<void> {
  const file = queuePaths(projectPath).status;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await withLock(file, { ...STATUS_LOCK, ...opts, what: file }, () => {
    const current: AgentStatus = readAgentStatus(projectPath);
    const next = patch(current.sessions[session]);
    if (next === null) delete current.sessions[session];
    else current.sessions[session] = next;
    writeFileAtomic(file, `${JSON.stringify(agentStatusSchema.parse(current), null, 2)}\n`, {
      mode: 0o644,
    });
  });
}

export interface UsageWindow {
  usedPercentage: number;
  resetsAt: string | null;
}

export interface AccountUsage {
  fiveHour: UsageWindow | null;
  sevenDay: UsageWindow | null;
  updatedAt: string;
  session: string | null;
}

function usagePath(stateDir: string, account: string): string {
  return path.join(stateDir, 'usage', `${account}.json`);
}

/** Records an account's statusline usage (last writer wins: they all see the same account). */
export function writeUsage(stateDir: string, account: string, usage: AccountUsage): void {
  const file = usagePath(stateDir, account);
  ensurePrivateDir(path.dirname(file));
  writeFileAtomic(file, JSON.stringify(usage));
}

export function readUsage(stateDir: string, account: string): AccountUsage | null {
  const text = readFileIfExists(usagePath(stateDir, account));
  if (!text) return null;
  try {
    return JSON.parse(text) as AccountUsage;
  } catch {
    return null;
  }
}
