/**
 * What `quota check` weighs, gathered one source at a time: the `StopFailure` hook signals
 * (rate limits and the errors that mean the account cannot work), the transcript's 429
 * record, the pane text, and each account's files (statusline usage, credentials). Each
 * function reads and classifies; none decides: `decideQuota` (decide.ts) does.
 *
 * Only evidence newer than the session's launch on this account (and the last swap) counts.
 */
import fs from 'node:fs';
import { readAccountFiles, type AccountFiles } from '../accounts/condition.js';
import { paneRunsAgent } from '../agents/screens.js';
import { readSignals } from '../claude/signals.js';
import { scanTranscriptTail } from '../claude/transcript.js';
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import type { State } from '../core/state-schema.js';
import { readAgentStatus } from '../queue/status-file.js';
import { laterTime } from './detections.js';
import { createClassifier, type QuotaClassifier, type QuotaExplanation } from './index.js';

/** A `StopFailure` that a session's agent reported on the account. */
interface HookReport {
  /** Claude Code's error class: rate_limit, server_error, authentication_failed, ... */
  error: string | null;
  /** The message shown, e.g. the limit text with its reset time. */
  text: string;
  /** The classifier's reading of `text`, for a `rate_limit` only. */
  reading: QuotaExplanation | null;
}

/** The transcript's last 429 record. */
interface TranscriptReport {
  text: string;
  reading: QuotaExplanation;
}

export interface SessionEvidence {
  session: string;
  hooks: HookReport[];
  /** Null when there is none, or a hook already reported a rate limit (it is not read then). */
  transcript: TranscriptReport | null;
  /** The classified pane tail; null when no agent runs there or the capture failed. */
  pane: QuotaExplanation | null;
}

/** Everything one `quota check` run knows about the active account and its sessions. */
export interface QuotaEvidence {
  account: string;
  sessions: SessionEvidence[];
  /** What each configured account's files say (usage, credentials), by name. */
  accountFiles: Record<string, AccountFiles>;
}

/** Evidence counts from the session's launch on its account, or the last swap if later. */
function evidenceSince(state: State, session: string): string {
  const st = state.sessions[session];
  return laterTime(st?.launchedAt ?? null, state.lastSwap?.at ?? null) ?? new Date(0).toISOString();
}

/** The session's `StopFailure` signals on `account` since `since`, rate limits classified. */
export function hookEvidence(
  stateDir: string,
  session: string,
  account: string,
  since: string,
  classifier: QuotaClassifier,
  now: Date,
): HookReport[] {
  const reports: HookReport[] = [];
  for (const sig of readSignals(stateDir, session, since)) {
    if (sig.account && sig.account !== account) continue;
    if (sig.event !== 'StopFailure') continue;
    const text = sig.message ?? '';
    const reading = sig.error === 'rate_limit' ? classifier.classify(text, now) : null;
    reports.push({ error: sig.error ?? null, text, reading });
  }
  return reports;
}

/** The transcript's last 429 record since `since`, classified; null when none or unreadable. */
export function transcriptEvidence(
  file: string | null,
  since: string,
  classifier: QuotaClassifier,
  now: Date,
): TranscriptReport | null {
  if (!file || !fs.existsSync(file)) return null;
  try {
    const rateLimit = scanTranscriptTail(file, { want: ['lastRateLimit'], since }).lastRateLimit;
    if (!rateLimit || (rateLimit.at && rateLimit.at < since)) return null;
    const text = rateLimit.text ?? '';
    return { text, reading: classifier.classify(text, now) };
  } catch {
    // An unreadable transcript is not evidence either way.
    return null;
  }
}

/** The last `quota.scanLines` lines of the session's pane, classified; null when unreadable. */
async function paneEvidence(
  ctx: Context,
  session: string,
  classifier: QuotaClassifier,
  now: Date,
): Promise<QuotaExplanation | null> {
  try {
    const lines = await ctx.tmux.capturePane(session, ctx.config.quota.scanLines);
    return classifier.classify(lines.join('\n'), now);
  } catch {
    return null;
  }
}

function transcriptOf(s: SessionConfig, state: State): string | null {
  const hook = readAgentStatus(s.projectPath).sessions[s.name];
  return hook?.transcriptPath ?? state.sessions[s.name]?.transcriptPath ?? null;
}

/** Gathers the evidence of every session of `account`, and the account files. */
export async function gatherEvidence(
  ctx: Context,
  state: State,
  account: string,
  sessions: SessionConfig[],
  now: Date,
): Promise<QuotaEvidence> {
  const classifier = await createClassifier({
    timezone: ctx.config.quota.timezone,
    patterns: ctx.config.quota.patterns,
  });
  const panes = await ctx.tmux.sessions();
  const perSession = await Promise.all(
    sessions.map(async (s): Promise<SessionEvidence> => {
      const since = evidenceSince(state, s.name);
      const hooks = hookEvidence(ctx.config.stateDir, s.name, account, since, classifier, now);
      // A hook's rate limit (stale ones aside) already says it all: the transcript is for
      // agents that run without our hooks.
      const hookLimit = hooks.some((h) => h.reading && h.reading.verdict !== 'stale');
      const transcript = hookLimit
        ? null
        : transcriptEvidence(transcriptOf(s, state), since, classifier, now);
      const pane = paneRunsAgent(panes.get(s.name))
        ? await paneEvidence(ctx, s.name, classifier, now)
        : null;
      return { session: s.name, hooks, transcript, pane };
    }),
  );
  return { account, sessions: perSession, accountFiles: readAccountFiles(ctx.config) };
}
