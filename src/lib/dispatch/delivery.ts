/**
 * Task prompts into agents, counted as delivered only when Claude Code says so.
 *
 * `dispatch` (a new task), `swap` and `watch` (carry on after a relaunch) all type a prompt
 * into a pane. Whether it went in is read from Claude Code's own reports, never from the
 * screen: the session's `UserPromptSubmit` hook signal carrying the prompt's fingerprint,
 * or a new `user` record holding the prompt in the session's transcript (for agents without
 * our hooks). Until one of them says so the typing is retried (see `typePrompt`); a prompt
 * still unconfirmed is recorded on the session (`undelivered` in the state file), the task
 * stays in flight with its marker, a `task.undelivered` event is written, and the next
 * `dispatch` (every `tick`) delivers it again: no task waits for the janitor.
 */
import fs from 'node:fs';
import path from 'node:path';
import { typePrompt, type PromptConfirmation } from '../agents/agent.js';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import { appendEvent } from '../core/events.js';
import { skipSecondaryWrite } from '../core/io-faults.js';
import { normalizePrompt, promptFingerprint } from '../claude/prompt-fingerprint.js';
import { renderPrompt } from './prompt.js';
import { readSignals } from '../claude/signals.js';
import { sessionState, type State, type Undelivered } from '../core/state-schema.js';
import { paneRunsAgent } from '../agents/screens.js';
import { readLinesFromEnd } from '../claude/lines-from-end.js';
import { parseTranscriptLine } from '../claude/transcript.js';
import { candidateDirs, locateSessionTranscript } from '../claude/transcript-find.js';

/** Clock slack between our `Date.now()` and the timestamps hooks and transcripts write. */
const SLACK_MS = 2000;
/** How far back from the end a transcript is searched for the prompt. */
const TRANSCRIPT_TAIL_BYTES = 4 * 1024 * 1024;

/** The text of a transcript `user` record: a string, or its text blocks joined. */
function userText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  const parts = content
    .filter((b): b is { type: 'text'; text: string } => {
      const block = b as { type?: unknown; text?: unknown };
      return block?.type === 'text' && typeof block.text === 'string';
    })
    .map((b) => b.text);
  return parts.length ? parts.join('\n') : null;
}

/** Whether `file` holds a `user` record written since `sinceMs` that carries the prompt. */
export function transcriptHasPrompt(file: string, sinceMs: number, prompt: string): boolean {
  const wanted = normalizePrompt(prompt);
  let found = false;
  try {
    readLinesFromEnd(
      file,
      (line) => {
        const rec = parseTranscriptLine(line);
        if (!rec) return false;
        const at = rec.timestamp ? Date.parse(rec.timestamp) : NaN;
        if (Number.isFinite(at) && at < sinceMs - SLACK_MS) return true; // older: stop
        if (rec.type !== 'user' || rec.isMeta) return false;
        const text = userText(rec.message?.content);
        if (text !== null && normalizePrompt(text).includes(wanted)) found = true;
        return found;
      },
      { maxBytes: TRANSCRIPT_TAIL_BYTES },
    );
  } catch {
    return false; // no file yet, or unreadable: not a confirmation
  }
  return found;
}

/** How much of the signal file's end is read for a confirmation (recent lines only). */
const SIGNAL_TAIL_BYTES = 64 * 1024;
/** While no transcript is known by id, list the candidates again at most this often. */
const RELOCATE_MS = 1000;

/**
 * A probe for Claude Code's word that `session` took the prompt with this fingerprint since
 * `sinceMs`: its UserPromptSubmit hook signal, or a user record in its transcript. Each call
 * answers now (null: not yet); it is polled, so it reads only the signal file's tail and
 * looks for the transcript again at most once a second until it has found it.
 */
export function confirmationProbe(
  ctx: Pick<Context, 'config'>,
  session: SessionConfig,
  account: string,
  prompt: { text: string; fingerprint: string },
  sinceMs: number,
  state: State,
  cwd: string | null = null,
): () => PromptConfirmation | null {
  const since = new Date(sinceMs - SLACK_MS).toISOString();
  // The session's own transcript when it is known by id (hooks, signals, state); otherwise
  // (no hooks, several sessions in one directory) every transcript of its directory written
  // since the send: the prompt names its task, so finding it in any of them is the proof.
  let known: string | null = null;
  let recent: string[] = [];
  let lookedAt = 0;
  const look = () => {
    lookedAt = Date.now();
    const where = locateSessionTranscript(ctx, session, { state, cwd, account });
    if (
      where.source !== 'newest-for-cwd' &&
      where.transcriptPath &&
      fs.existsSync(where.transcriptPath)
    ) {
      known = where.transcriptPath;
      return;
    }
    const projectsDirs = [ctx.config.sharedProjectsDir];
    const acct = ctx.config.accounts.find((a) => a.name === account);
    if (acct) projectsDirs.push(path.join(acct.configDir, 'projects'));
    const cwds = [cwd, session.projectPath].filter((c): c is string => Boolean(c));
    recent = candidateDirs(projectsDirs, cwds).flatMap((dir) => {
      try {
        return fs
          .readdirSync(dir)
          .filter((n) => n.endsWith('.jsonl'))
          .map((n) => path.join(dir, n))
          .filter((f) => fs.statSync(f).mtimeMs >= sinceMs - SLACK_MS);
      } catch {
        return [];
      }
    });
  };
  return () => {
    const signals = readSignals(ctx.config.stateDir, session.name, since, SIGNAL_TAIL_BYTES);
    if (signals.some((s) => s.event === 'UserPromptSubmit' && s.promptHash === prompt.fingerprint))
      return 'hook';
    if (!known && Date.now() - lookedAt >= RELOCATE_MS) look();
    const files = known ? [known] : recent;
    return files.some((f) => transcriptHasPrompt(f, sinceMs, prompt.text)) ? 'transcript' : null;
  };
}

export type TaskPromptResult =
  | { ok: true; confirmedBy: PromptConfirmation; steps: string[] }
  | {
      ok: false;
      reason: string;
      /** Whether anything was typed (false: the agent was not running, nothing reached it). */
      typed: boolean;
      steps: string[];
    };

/**
 * Types `text` into a session's agent and waits for Claude Code to confirm it (see the
 * header). The agent must be running before anything is typed: tmux accepts keys for a dead
 * pane without complaint.
 */
export async function deliverTaskPrompt(
  ctx: Context,
  session: SessionConfig,
  account: string,
  text: string,
): Promise<TaskPromptResult> {
  const alive = async () => paneRunsAgent((await ctx.tmux.sessions()).get(session.name));
  let typing = false;
  try {
    const pane = (await ctx.tmux.sessions()).get(session.name);
    if (!paneRunsAgent(pane))
      return { ok: false, reason: 'its agent is not running', typed: false, steps: [] };
    const since = Date.now();
    const prompt = { text, fingerprint: promptFingerprint(text) };
    const state = ctx.state.read();
    const cwd = pane!.currentPath || null;
    typing = true;
    const typed = await typePrompt(
      ctx.tmux,
      session.name,
      text,
      confirmationProbe(ctx, session, account, prompt, since, state, cwd),
      { confirmMs: ctx.config.agent.confirmTimeout },
    );
    if (typed.confirmedBy) return { ok: true, confirmedBy: typed.confirmedBy, steps: typed.steps };
    const reason = (await alive())
      ? `Claude Code did not confirm the prompt (no UserPromptSubmit hook, no transcript record) after ${typed.steps.join(', ')}`
      : 'its agent exited during delivery';
    return { ok: false, reason, typed: true, steps: typed.steps };
  } catch (err) {
    return {
      ok: false,
      reason: `tmux: ${(err as Error).message.split('\n')[0]}`,
      typed: typing,
      steps: [],
    };
  }
}

export interface TaskPromptJob {
  session: SessionConfig;
  account: string;
  task: { id: string; path: string };
  /** The task from the top (`dispatch.prompt`) or "carry on" (the caller's resume template). */
  prompt: Undelivered['prompt'];
  template: string;
  by: 'dispatch' | 'swap' | 'watch';
}

/** The prompt of a job, rendered. */
export function renderJob(job: TaskPromptJob): string {
  return renderPrompt(job.template, {
    taskPath: job.task.path,
    taskId: job.task.id,
    project: job.session.project,
    session: job.session.name,
  });
}

/**
 * Delivers a task prompt and records the outcome on the session: a confirmed prompt clears
 * an older undelivered record of the same task; an unconfirmed one that was typed leaves
 * (or updates) the record and writes `task.undelivered`, so the next run delivers again.
 */
export async function sendTaskPrompt(
  ctx: Context,
  job: TaskPromptJob,
  prior?: Undelivered,
): Promise<TaskPromptResult> {
  const text = renderJob(job);
  const startedAt = ctx.clock.now().toISOString();
  const res = await deliverTaskPrompt(ctx, job.session, job.account, text);
  const now = ctx.clock.now();
  // The prompt went in (or was typed): what is recorded about it afterwards is secondary,
  // and a full disk makes it a warning rather than a failure of a delivery that happened.
  const secondary = (err: unknown) => skipSecondaryWrite('state file', ctx.state.paths.file, err);
  if (res.ok) {
    await clearUndelivered(ctx, job.session.name, job.task.id).catch(secondary);
    appendEvent(
      ctx.config.stateDir,
      'task.delivered',
      {
        task: job.task.id,
        project: job.session.project,
        session: job.session.name,
        by: job.by,
        prompt: job.prompt,
        confirmedBy: res.confirmedBy,
        retried: res.steps.length > 2 || Boolean(prior),
      },
      { now },
    );
    return res;
  }
  const tries = (prior?.tries ?? 0) + 1;
  if (res.typed || prior)
    await owe(ctx, job, {
      since: prior?.since ?? startedAt,
      fingerprint: promptFingerprint(text),
      tries,
      reason: res.reason,
      by: prior?.by ?? job.by,
    }).catch(secondary);
  else logUndelivered(ctx, job, res.reason, tries, now);
  return res;
}

/**
 * Records a task prompt as owed without typing it: the agent came back but is not ready to
 * be typed into. The next `dispatch` delivers it once the session is idle.
 */
export async function owePrompt(ctx: Context, job: TaskPromptJob, reason: string): Promise<void> {
  await owe(ctx, job, {
    since: ctx.clock.now().toISOString(),
    fingerprint: promptFingerprint(renderJob(job)),
    tries: 0,
    reason,
    by: job.by,
  });
}

/** Records the session's owed prompt in the state file and logs `task.undelivered`. */
async function owe(
  ctx: Context,
  job: TaskPromptJob,
  r: Pick<Undelivered, 'since' | 'fingerprint' | 'tries' | 'reason' | 'by'>,
): Promise<void> {
  const record: Undelivered = {
    task: job.task.id,
    project: job.session.project,
    prompt: job.prompt,
    ...r,
  };
  await ctx.state.update((st) => {
    sessionState(st, job.session.name).undelivered = record;
  });
  logUndelivered(ctx, job, r.reason, r.tries, ctx.clock.now());
}

function logUndelivered(
  ctx: Context,
  job: TaskPromptJob,
  reason: string | null,
  tries: number,
  now: Date,
): void {
  appendEvent(
    ctx.config.stateDir,
    'task.undelivered',
    {
      task: job.task.id,
      project: job.session.project,
      session: job.session.name,
      by: job.by,
      prompt: job.prompt,
      reason,
      tries,
    },
    { level: 'warn', now },
  );
}

/** Forgets a session's undelivered record (of `task`, when given). */
export async function clearUndelivered(
  ctx: Context,
  session: string,
  task?: string,
): Promise<void> {
  const current = ctx.state.read().sessions[session]?.undelivered;
  if (!current || (task !== undefined && current.task !== task)) return;
  await ctx.state.update((st) => {
    const ss = st.sessions[session];
    if (ss?.undelivered && (task === undefined || ss.undelivered.task === task))
      ss.undelivered = null;
  });
}
