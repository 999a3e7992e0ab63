/**
 * Checkpoints (README: Checkpoints): a snapshot of each live session's context, so that a swap
 * or `watch` can resume the conversation and re-prompt the agent with its task.
 *
 * Files: `<stateDir>/checkpoints/<session>/<time>.json` plus `latest.json`, both written
 * atomically (temp file, fsync, rename; mode 0600, directories 0700). `<time>` is the UTC
 * ISO-8601 time with `:` replaced by `-` (`2026-11-24T10-15-30.123Z.json`): legal on every
 * filesystem, and the names still sort by time. The janitor prunes them
 * (`checkpoint.keep`, `checkpoint.maxAge`); `latest.json` is never pruned.
 */
import fs from 'node:fs';
import path from 'node:path';
import { readAgentStatus, type AgentStatusEntry } from '../queue/status-file.js';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { appendEvent } from '../core/events.js';
import { ioFaultError, skipSecondaryWrite, type IoFaultError } from '../core/io-faults.js';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../core/fs-atomic.js';
import { listDispatchMarkers, queuePaths } from '../queue/files.js';
import { redact, snippet } from '../core/redact.js';
import { activeAccount, selectSessions } from './sessions.js';
import type { State } from '../core/state-schema.js';
import { paneRunsAgent } from './screens.js';
import type { PaneInfo } from '../core/tmux.js';
import { scanTranscriptTail, type ToolCall } from '../claude/transcript.js';
import { locateSessionTranscript, type TranscriptSource } from '../claude/transcript-find.js';
import * as z from '../core/zod.js';

const CHECKPOINTS_DIR = 'checkpoints';
const LATEST_FILE = 'latest.json';
/** Lines of the pane kept in a checkpoint. */
const PANE_TAIL_LINES = 20;
const MAX_TOOL_INPUT = 200;
const MAX_ASSISTANT_TEXT = 500;

const nullableStr = () => z._default(z.nullable(z.string()), null);

const checkpointTaskSchema = z.looseObject({
  id: z.string(),
  path: nullableStr(),
  dispatchedAt: nullableStr(),
  attempt: z._default(z.nullable(z.number()), null),
});

/** The checkpoint file, validated loosely on read (older or newer writers may add keys). */
const checkpointSchema = z.looseObject({
  session: z.string(),
  account: nullableStr(),
  cwd: nullableStr(),
  claudeSessionId: nullableStr(),
  transcriptPath: nullableStr(),
  task: z._default(z.nullable(checkpointTaskSchema), null),
  lastToolCall: z._default(
    z.nullable(z.looseObject({ name: z.string(), input: z.string(), at: nullableStr() })),
    null,
  ),
  lastAssistantText: nullableStr(),
  paneTail: z._default(z.array(z.string()), []),
  at: z.iso.datetime({ offset: true }),
});

export type Checkpoint = z.output<typeof checkpointSchema> & {
  /** Where the transcript was learnt from (hooks, signals, state or newest-for-cwd). */
  transcriptSource?: TranscriptSource | null;
};
export type CheckpointTask = z.output<typeof checkpointTaskSchema>;

export function checkpointDir(stateDir: string, session: string): string {
  return path.join(stateDir, CHECKPOINTS_DIR, session);
}

export function latestCheckpointPath(stateDir: string, session: string): string {
  return path.join(checkpointDir(stateDir, session), LATEST_FILE);
}

/** `2026-11-24T10-15-30.123Z.json`: the ISO time with `:` made filesystem-safe. */
export function checkpointFileName(at: Date): string {
  return `${at.toISOString().replace(/:/g, '-')}.json`;
}

/** The time a checkpoint file name stands for; null for other names (`latest.json`). */
export function checkpointTimeOf(fileName: string): Date | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2})-(\d{2})-(\d{2}(?:\.\d+)?Z)\.json$/.exec(fileName);
  if (!m) return null;
  const t = Date.parse(`${m[1]}:${m[2]}:${m[3]}`);
  return Number.isNaN(t) ? null : new Date(t);
}

/** A session's timestamped checkpoint files (not latest.json), oldest first. */
export function listCheckpoints(stateDir: string, session: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(checkpointDir(stateDir, session));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return names
    .filter((n) => checkpointTimeOf(n) !== null)
    .sort()
    .map((n) => path.join(checkpointDir(stateDir, session), n));
}

/**
 * Reads and validates a checkpoint file. Null when it does not exist; an unreadable or
 * invalid one is reported through `onInvalid` and read as null, so a resume falls back to
 * the state file instead of failing.
 */
function readCheckpoint(file: string, onInvalid?: (msg: string) => void): Checkpoint | null {
  const text = readFileIfExists(file);
  if (text === undefined) return null;
  try {
    const parsed = checkpointSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0]!;
    onInvalid?.(`${file}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`);
  } catch (err) {
    onInvalid?.(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return null;
}

/** The newest checkpoint of a session (`latest.json`), for swap and watch to resume from. */
export function readLatestCheckpoint(
  stateDir: string,
  session: string,
  onInvalid?: (msg: string) => void,
): Checkpoint | null {
  return readCheckpoint(latestCheckpointPath(stateDir, session), onInvalid);
}

/**
 * Writes a checkpoint as `<time>.json` and `latest.json`, each atomically. Returns the
 * path of the timestamped file.
 */
function saveCheckpoint(stateDir: string, cp: Checkpoint): string {
  const dir = checkpointDir(stateDir, cp.session);
  ensurePrivateDir(dir);
  const text = `${JSON.stringify(cp, null, 2)}\n`;
  const file = path.join(dir, checkpointFileName(new Date(cp.at)));
  writeFileAtomic(file, text);
  writeFileAtomic(path.join(dir, LATEST_FILE), text);
  return file;
}

/**
 * A short, redacted summary of a tool's input: the command for Bash, the file for
 * Read/Edit/Write, the pattern for Grep/Glob, the URL or query for web tools, the
 * description for a subagent; compact JSON otherwise. At most 200 characters.
 */
export function summarizeToolInput(name: string, input: unknown): string {
  const o = input && typeof input === 'object' ? (input as Record<string, unknown>) : null;
  const str = (k: string) => (o && typeof o[k] === 'string' ? (o[k] as string) : null);
  let text: string | null = null;
  if (o) {
    if (name === 'Bash') text = str('command');
    else if (['Read', 'Edit', 'Write', 'MultiEdit'].includes(name)) text = str('file_path');
    else if (name === 'NotebookEdit') text = str('notebook_path') ?? str('file_path');
    else if (name === 'Grep' || name === 'Glob')
      text = str('pattern') && `${str('pattern')}${str('path') ? ` in ${str('path')}` : ''}`;
    else if (name === 'WebFetch') text = str('url');
    else if (name === 'WebSearch') text = str('query');
    else if (name === 'Task' || name === 'Agent') text = str('description');
  }
  if (text === null) {
    try {
      text = typeof input === 'string' ? input : (JSON.stringify(input) ?? '');
    } catch {
      text = '';
    }
  }
  return snippet(text, MAX_TOOL_INPUT);
}

/** The last `max` characters of the assistant's last words, redacted. */
function summarizeAssistantText(text: string): string {
  const clean = redact(text.trim());
  return clean.length > MAX_ASSISTANT_TEXT
    ? `…${clean.slice(clean.length - (MAX_ASSISTANT_TEXT - 1))}`
    : clean;
}

// A task id comes from a file name; anything that could climb out of the inbox is refused.
const SAFE_TASK_ID = /^(?!\.)[^/\\\0]+$/;

/**
 * The task a session is working on: the dispatch marker (`inbox/<id>.md.dispatched`) whose
 * `session` is this one, the newest by `dispatchedAt` if there are several; else the `task`
 * of its status.json entry.
 */
export function currentTask(
  session: SessionConfig,
  hook: AgentStatusEntry | undefined,
  onInvalid?: (msg: string) => void,
): CheckpointTask | null {
  const mine = listDispatchMarkers(session.projectPath, onInvalid)
    .filter((m) => m.session === session.name)
    .sort((a, b) => Date.parse(b.dispatchedAt) - Date.parse(a.dispatchedAt));
  const m = mine[0];
  if (m)
    return { id: m.taskId, path: m.taskPath, dispatchedAt: m.dispatchedAt, attempt: m.attempt };
  const id = hook?.task;
  if (!id || !SAFE_TASK_ID.test(id)) return null;
  return {
    id,
    path: path.join(queuePaths(session.projectPath).inbox, `${id}.md`),
    dispatchedAt: null,
    attempt: null,
  };
}

function toolCallRecord(call: ToolCall | null): Checkpoint['lastToolCall'] {
  if (!call) return null;
  return {
    name: snippet(call.name, 80),
    input: summarizeToolInput(call.name, call.input),
    at: call.at,
  };
}

/**
 * Builds the checkpoint of one running session: account and cwd, the transcript (see
 * `locateSessionTranscript`) and what its tail says, the current task, and the last 20
 * lines of the pane, every text redacted. `warn` receives problems that do not prevent the
 * checkpoint (an unreadable transcript, an invalid marker).
 */
async function buildCheckpoint(
  ctx: Context,
  session: SessionConfig,
  pane: PaneInfo,
  state: State,
  now: Date,
  warn: (msg: string) => void = () => undefined,
): Promise<Checkpoint> {
  const account = state.sessions[session.name]?.account ?? activeAccount(ctx, state);
  const cwd = pane.currentPath || session.projectPath;
  const where = locateSessionTranscript(ctx, session, { state, cwd, account });
  let tail: ReturnType<typeof scanTranscriptTail> | null = null;
  if (where.transcriptPath) {
    try {
      tail = scanTranscriptTail(where.transcriptPath);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A new conversation has no file until its first message: not worth a warning.
      if (code !== 'ENOENT') warn(`${where.transcriptPath}: ${(err as Error).message}`);
    }
  }
  const hook = readAgentStatus(session.projectPath, warn).sessions[session.name];
  const paneTail = (await ctx.tmux.capturePane(session.name, PANE_TAIL_LINES)).map((l) =>
    redact(l),
  );
  return {
    session: session.name,
    account,
    cwd,
    claudeSessionId: where.claudeSessionId ?? tail?.claudeSessionId ?? null,
    transcriptPath: where.transcriptPath,
    transcriptSource: where.source,
    task: currentTask(session, hook, warn),
    lastToolCall: toolCallRecord(tail?.lastToolCall ?? null),
    lastAssistantText: tail?.lastAssistantText
      ? summarizeAssistantText(tail.lastAssistantText.text)
      : null,
    paneTail,
    at: now.toISOString(),
  };
}

export interface CheckpointRun {
  /** The time of the run, also the \`at\` of every checkpoint it wrote. */
  at: string;
  results: CheckpointResult[];
}

export interface CheckpointResult {
  session: string;
  /** The timestamped file written, or null. */
  written: string | null;
  /** Why the session was skipped (it is not running an agent), or null. */
  skipped: string | null;
  /** Why writing failed, or null. */
  error: string | null;
  warnings: string[];
}

function deadReason(pane: PaneInfo | undefined): string {
  if (!pane) return 'no tmux session';
  if (pane.dead) return `pane dead (exit ${pane.deadStatus ?? '?'})`;
  return `no agent running (${pane.currentCommand || 'unknown command'} in the foreground)`;
}

/**
 * Checkpoints the named sessions (all configured ones when `names` is empty; an unknown name
 * throws UsageError). Sessions whose pane does not run an agent are skipped and reported.
 * One `checkpoint.written` event sums up the run. With `recordRun` (default: when every
 * session was asked for) the run is recorded as `lastRun.checkpoint` in the state file,
 * which `tick` compares with `checkpoint.interval`; a swap checkpointing a few sessions
 * does not reset that clock.
 *
 * Takes the state lock only for that last update: do not call it inside `ctx.state.update`.
 */
export async function writeCheckpoints(
  ctx: Context,
  names: readonly string[],
  opts: { recordRun?: boolean } = {},
): Promise<CheckpointRun> {
  const sessions = selectSessions(ctx, [...new Set(names)]);
  const state = ctx.state.read();
  const panes = await ctx.tmux.sessions();
  const now = ctx.clock.now();
  // Built in parallel (each waits on its own pane capture), written in order.
  const built = await Promise.all(
    sessions.map(async (s) => {
      const pane = panes.get(s.name);
      const r: CheckpointResult = {
        session: s.name,
        written: null,
        skipped: null,
        error: null,
        warnings: [],
      };
      if (!paneRunsAgent(pane)) {
        r.skipped = deadReason(pane);
        return { r, cp: null };
      }
      try {
        const cp = await buildCheckpoint(ctx, s, pane!, state, now, (m) => r.warnings.push(m));
        return { r, cp };
      } catch (err) {
        // The pane went away between the listing and the capture.
        if (!(await ctx.tmux.hasSession(s.name).catch(() => false))) r.skipped = 'no tmux session';
        else r.error = (err as Error).message;
        return { r, cp: null };
      }
    }),
  );
  const results: CheckpointResult[] = [];
  const faults: IoFaultError[] = [];
  for (const { r, cp } of built) {
    results.push(r);
    if (!cp) continue;
    try {
      r.written = saveCheckpoint(ctx.config.stateDir, cp);
    } catch (err) {
      const fault = ioFaultError(err, { stateDir: ctx.config.stateDir });
      if (fault) faults.push(fault);
      r.error = fault
        ? fault.message
        : `${checkpointDir(ctx.config.stateDir, r.session)}: ${(err as Error).message}`;
    }
  }
  // A full or read-only stateDir fails every session the same way: one error, not one per
  // session, and the run is not recorded, so the next tick takes them again.
  if (faults.length && !results.some((r) => r.written)) throw faults[0];

  const failed = results.filter((r) => r.error);
  appendEvent(
    ctx.config.stateDir,
    'checkpoint.written',
    {
      sessions: results.filter((r) => r.written).map((r) => r.session),
      skipped: results
        .filter((r) => r.skipped)
        .map((r) => ({ session: r.session, reason: r.skipped })),
      failed: failed.map((r) => ({ session: r.session, error: r.error })),
    },
    { level: failed.length ? 'error' : 'info', now },
  );
  if (opts.recordRun ?? names.length === 0) {
    await ctx.state
      .update((st) => {
        st.lastRun.checkpoint = now.toISOString();
      })
      .catch((err: unknown) => skipSecondaryWrite('state file', ctx.state.paths.file, err));
  }
  return { at: now.toISOString(), results };
}

/**
 * The task a session has in flight, to re-prompt after a relaunch: its dispatch marker, else
 * its latest checkpoint's task; null when that task is no longer in the inbox.
 */
export function taskInFlight(
  stateDir: string,
  s: SessionConfig,
): { id: string; path: string } | null {
  const hook = readAgentStatus(s.projectPath).sessions[s.name];
  const t = currentTask(s, hook);
  const fromCp = readLatestCheckpoint(stateDir, s.name)?.task ?? null;
  const task = t ?? fromCp;
  if (!task) return null;
  const taskPath = task.path ?? path.join(queuePaths(s.projectPath).inbox, `${task.id}.md`);
  // A task that is already done or gone needs no resume prompt.
  if (!fs.existsSync(taskPath)) return null;
  return { id: task.id, path: taskPath };
}
