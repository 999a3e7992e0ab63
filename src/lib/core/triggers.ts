/**
 * Triggers, the hooks' side (README: Triggers). A hook that sees a usage limit or an idle
 * agent asks for the matching step (`quota check`, `dispatch`) to run now instead of at the
 * next tick: it leaves a pending mark and, unless a runner is already at work, starts one in
 * a detached process (`hook trigger <kind>`, schedule/trigger.ts). The runner consumes the
 * mark before it runs the step and looks again after it releases its lock, so a trigger that
 * arrives while it works is never lost, and 20 triggers at once make one run.
 *
 * Hooks never load the config (it costs more than the hook may), so the settings they need
 * are copied to `<stateDir>/triggers/settings.json` by the commands that do (`tick`, every
 * agent launch, `setup`). No settings file: no triggers, as before they existed.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import { ENV_ACCOUNT, ENV_PROJECT, ENV_SESSION, isForbiddenAgentVar } from './env-names.js';
import { EXIT } from './errors.js';
import {
  ensurePrivateDir,
  PRIVATE_FILE_MODE,
  readFileIfExists,
  writeFileAtomic,
} from './fs-atomic.js';
import { cliArgv } from './package-root.js';

export const TRIGGER_KINDS = ['limit', 'idle'] as const;
export type TriggerKind = (typeof TRIGGER_KINDS)[number];

/** What the hooks need of the config, as `tick` last wrote it. */
export interface TriggerSettings {
  enabled: boolean;
  limit: boolean;
  idle: boolean;
  /** `quota.drainAt` and `quota.swapAt`: a statusline usage crossing one is a limit trigger. */
  drainAt: number;
  swapAt: number;
  /** `lock.staleAfter` (ms): a runner lock older than this is a dead runner's. */
  staleAfterMs: number;
}

/** One hook's request: the pending mark's content (the latest request wins). */
export interface TriggerRequest {
  kind: TriggerKind;
  at: string;
  session: string | null;
  /** What the hook saw: `StopFailure rate_limit`, `Stop`, `5h usage 98% >= swapAt 98`. */
  reason: string;
}

/** The detached runners' output, for when one fails before it can log an event. */
export const TRIGGER_LOG = 'trigger.log';

const dirOf = (stateDir: string) => path.join(stateDir, 'triggers');
const settingsFile = (stateDir: string) => path.join(dirOf(stateDir), 'settings.json');
const pendingFile = (stateDir: string, kind: TriggerKind) =>
  path.join(dirOf(stateDir), `${kind}.pending`);

/** The file a kind's runner locks (proper-lockfile makes `<file>.lock` beside it). */
export const triggerLockFile = (stateDir: string, kind: TriggerKind) =>
  path.join(dirOf(stateDir), kind);

/** Where a kind's runner records its runs, for `status` and `doctor`. */
export const triggerRecordFile = (stateDir: string, kind: TriggerKind) =>
  path.join(dirOf(stateDir), `${kind}.json`);

export function triggerSettingsOf(config: Config): TriggerSettings {
  return {
    enabled: config.triggers.enabled,
    limit: config.triggers.limit,
    idle: config.triggers.idle,
    drainAt: config.quota.drainAt,
    swapAt: config.quota.swapAt,
    staleAfterMs: Math.max(2000, config.lock.staleAfter),
  };
}

/**
 * Copies the trigger settings where the hooks read them, when they changed. Never throws:
 * a command that cannot write them (a full disk) goes on, and the hooks keep the old ones.
 */
export function syncTriggerSettings(config: Config): boolean {
  const text = `${JSON.stringify(triggerSettingsOf(config))}\n`;
  const file = settingsFile(config.stateDir);
  try {
    if (readFileIfExists(file) === text) return false;
    ensurePrivateDir(path.dirname(file));
    writeFileAtomic(file, text);
    return true;
  } catch {
    return false;
  }
}

export function readTriggerSettings(stateDir: string): TriggerSettings | null {
  try {
    const text = readFileIfExists(settingsFile(stateDir));
    return text ? (JSON.parse(text) as TriggerSettings) : null;
  } catch {
    return null;
  }
}

/** Whether the settings let a hook start this kind of step. */
export function triggerOn(settings: TriggerSettings | null, kind: TriggerKind): boolean {
  return Boolean(settings?.enabled && settings[kind]);
}

/** Whether a live runner holds the kind's lock (its holder refreshes it every few seconds). */
function runnerAlive(stateDir: string, kind: TriggerKind, staleAfterMs: number): boolean {
  try {
    const stat = fs.statSync(`${triggerLockFile(stateDir, kind)}.lock`);
    return Date.now() - stat.mtimeMs < staleAfterMs;
  } catch {
    return false;
  }
}

/** What the hook's environment has of its agent and pane, which a runner must not carry. */
const AGENT_ONLY = new Set([
  'TMUX',
  'TMUX_PANE',
  'CLAUDE_CONFIG_DIR',
  'CLAUDE_PROJECT_DIR',
  ENV_SESSION,
  ENV_ACCOUNT,
  ENV_PROJECT,
]);

/**
 * The runner's environment: the hook's (it carries `CLAUDE_FAILOVER_CONFIG`, so the runner
 * reads the config the session was launched with), without what marks a process as one
 * agent's or as running inside Claude Code or a tmux pane: the runner acts for the whole
 * pool, like a tick from cron (and a tmux server it may start passes its env on).
 */
function runnerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(env).filter(([k]) => !isForbiddenAgentVar(k) && !AGENT_ONLY.has(k)),
  );
}

/** Starts `claude-failover hook trigger <kind>` in its own session, output to trigger.log. */
function spawnRunner(stateDir: string, kind: TriggerKind, env: NodeJS.ProcessEnv): void {
  const [node, script] = cliArgv();
  const log = fs.openSync(path.join(stateDir, TRIGGER_LOG), 'a', PRIVATE_FILE_MODE);
  try {
    spawn(node, [script, 'hook', 'trigger', kind], {
      detached: true,
      stdio: ['ignore', log, log],
      env: runnerEnv(env),
    }).unref();
  } finally {
    fs.closeSync(log);
  }
}

/**
 * Asks for a kind's step to run now: leaves the pending mark, then starts a runner unless a
 * live one holds the lock (it will see the mark). `off` when the settings say no.
 */
export function requestTrigger(
  stateDir: string,
  request: TriggerRequest,
  env: NodeJS.ProcessEnv = process.env,
): 'off' | 'pending' | 'started' {
  const settings = readTriggerSettings(stateDir);
  if (!settings || !triggerOn(settings, request.kind)) return 'off';
  ensurePrivateDir(dirOf(stateDir));
  writeFileAtomic(pendingFile(stateDir, request.kind), JSON.stringify(request));
  if (runnerAlive(stateDir, request.kind, settings.staleAfterMs)) return 'pending';
  spawnRunner(stateDir, request.kind, env);
  return 'started';
}

/** Takes the pending mark (the runner, before each run); null when there is none. */
export function takePendingTrigger(stateDir: string, kind: TriggerKind): TriggerRequest | null {
  const file = pendingFile(stateDir, kind);
  const text = readFileIfExists(file);
  if (text === undefined) return null;
  try {
    fs.unlinkSync(file);
  } catch {
    // Another runner took it between the read and here: its run serves this request.
    return null;
  }
  try {
    return JSON.parse(text) as TriggerRequest;
  } catch {
    return { kind, at: new Date().toISOString(), session: null, reason: 'unreadable mark' };
  }
}

export function hasPendingTrigger(stateDir: string, kind: TriggerKind): boolean {
  return fs.existsSync(pendingFile(stateDir, kind));
}

export interface TriggerRun {
  request: TriggerRequest;
  startedAt: string;
  durationMs: number;
  exitCode: number;
  /** What the step did: quota check's decision, or dispatch's count. */
  summary: string;
  error: string | null;
}

/** What `status` and `doctor` read about a kind's runs. */
export interface TriggerRecord {
  kind: TriggerKind;
  runs: number;
  failures: number;
  last: TriggerRun | null;
  lastFailure: TriggerRun | null;
}

/** Exit codes that are the step's verdict, not a failure of the run (3: nothing possible). */
export const TRIGGER_SUCCESS: ReadonlySet<number> = new Set([EXIT.OK, EXIT.IMPOSSIBLE]);

export function readTriggerRecord(stateDir: string, kind: TriggerKind): TriggerRecord | null {
  try {
    const text = readFileIfExists(triggerRecordFile(stateDir, kind));
    return text ? (JSON.parse(text) as TriggerRecord) : null;
  } catch {
    return null;
  }
}

export interface TriggersReport {
  enabled: boolean;
  /** The detached runs' output. */
  log: string;
  limit: TriggerKindReport;
  idle: TriggerKindReport;
}

interface TriggerKindReport {
  on: boolean;
  runs: number;
  failures: number;
  last: TriggerRun | null;
  lastFailure: TriggerRun | null;
  /** The most recent run failed: `status` and `doctor` warn. */
  lastFailed: boolean;
}

/** What `status` and `doctor` show of the triggers: the config, and each kind's runs. */
export function triggersReport(config: Config): TriggersReport {
  const kind = (k: TriggerKind): TriggerKindReport => {
    const r = readTriggerRecord(config.stateDir, k);
    return {
      on: config.triggers.enabled && config.triggers[k],
      runs: r?.runs ?? 0,
      failures: r?.failures ?? 0,
      last: r?.last ?? null,
      lastFailure: r?.lastFailure ?? null,
      lastFailed: Boolean(r?.last && !TRIGGER_SUCCESS.has(r.last.exitCode)),
    };
  };
  return {
    enabled: config.triggers.enabled,
    log: path.join(config.stateDir, TRIGGER_LOG),
    limit: kind('limit'),
    idle: kind('idle'),
  };
}
