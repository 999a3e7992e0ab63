/**
 * One session's evidence read as detections (pure): a hook or transcript rate limit is
 * confirmed at once, a pane limit with a reset time too, one without is a suspect for the
 * next poll to confirm; stale limits and transient or warning lines are only reported.
 * Pane lines already acted on, and a redrawn limit of an account already left, do not count.
 */
import { createHash } from 'node:crypto';
import { isAccountUnusableError } from '../accounts/condition.js';
import { snippet } from '../core/redact.js';
import type { State } from '../core/state-schema.js';
import type { LineVerdict, QuotaExplanation } from './classify.js';
import type { SessionEvidence } from './evidence.js';

type EvidenceSource = 'hook' | 'transcript' | 'pane';

export interface Detection {
  session: string;
  account: string;
  source: EvidenceSource;
  verdict: 'limit' | 'stale' | 'warning' | 'transient';
  kind: string | null;
  resetsAt: string | null;
  pattern: string | null;
  /** 1 on the first sighting; the confirming poll's number for a suspected limit. */
  poll: number;
  confirmed: boolean;
  snippet: string;
  /**
   * The same hook or transcript evidence as an earlier run saw (the signal stays until the
   * agent is relaunched): still evidence, but its `quota.detected` line was written then.
   */
  repeat?: boolean;
}

interface SessionReading {
  session: string;
  detections: Detection[];
  /** A limit that counts now (hook, transcript, or a pane limit with a reset). */
  confirmed: Detection | null;
  /** A pane limit without a reset: counts after confirmPolls. */
  suspect: Detection | null;
  /** Pane limit lines visible now (fingerprints), so a resumed pane is not read again. */
  paneLimitFps: string[];
  /** New transient / warning lines (fingerprints), logged once each. */
  newLogged: string[];
  /** The StopFailure error that says the account cannot work (`authentication_failed`, ...). */
  authError: string | null;
}

/** A short hash of a line, whitespace-insensitive, for the state's quota memory. */
export const fingerprint = (text: string) =>
  createHash('sha256').update(text.replace(/\s+/g, ' ').trim()).digest('hex').slice(0, 16);

/** The later of two ISO times; null only when both are. */
export const laterTime = (a: string | null, b: string | null) =>
  !a ? b : !b ? a : Date.parse(a) >= Date.parse(b) ? a : b;

/** A limit whose reset is within this of an account's recorded end is that account's. */
const SAME_RESET_MS = 60_000;

/** Reads one session's evidence on `account`, given the quota memory in `state`. */
export function readSession(ev: SessionEvidence, account: string, state: State): SessionReading {
  const reading: SessionReading = {
    session: ev.session,
    detections: [],
    confirmed: null,
    suspect: null,
    paneLimitFps: [],
    newLogged: [],
    authError: null,
  };
  const detection = (
    source: EvidenceSource,
    r: QuotaExplanation | LineVerdict,
    text: string,
    confirmed: boolean,
  ): Detection => ({
    session: ev.session,
    account,
    source,
    verdict: r.verdict as Detection['verdict'],
    kind: r.kind,
    resetsAt: r.resetsAt,
    pattern: r.pattern,
    poll: 1,
    confirmed,
    snippet: snippet(r.line ?? text),
  });

  // 1. What Claude Code reported through the hooks.
  for (const hook of ev.hooks) {
    if (isAccountUnusableError(hook.error)) reading.authError = hook.error!;
    if (hook.error !== 'rate_limit' || !hook.reading) continue;
    const r = hook.reading;
    // A stale limit, or a 429 whose own words say it is not the usage limit (the server
    // throttle: "temporarily limiting requests (not your usage limit)"): reported only.
    if (r.verdict === 'stale' || r.verdict === 'transient') {
      reading.detections.push(detection('hook', r, hook.text, false));
      continue;
    }
    // Claude Code itself called it a rate limit: a confirmed limit, reset time or not.
    const d = detection(
      'hook',
      { ...r, verdict: 'limit', pattern: r.pattern ?? 'hook:StopFailure.rate_limit' },
      hook.text,
      true,
    );
    reading.detections.push(d);
    reading.confirmed ??= d;
  }

  // 2. The transcript's 429 record (agents that run without our hooks).
  if (!reading.confirmed && ev.transcript) {
    const { text, reading: r } = ev.transcript;
    if (r.verdict === 'stale' || r.verdict === 'transient')
      reading.detections.push(detection('transcript', r, text, false));
    else {
      const d = detection(
        'transcript',
        { ...r, verdict: 'limit', pattern: r.pattern ?? 'transcript:api-error-429' },
        text,
        true,
      );
      reading.detections.push(d);
      reading.confirmed = d;
    }
  }

  // 3. The pane text.
  const r = ev.pane;
  if (!r) return reading;
  const consumed = new Set(state.quota.consumed[ev.session] ?? []);
  const logged = new Set(state.quota.logged[ev.session] ?? []);
  for (const m of r.matches) {
    if (m.verdict === 'limit' && m.line) reading.paneLimitFps.push(fingerprint(m.line));
  }
  // The verdict, unless its limit lines were all acted on already (a resumed agent redraws
  // its history, old limit messages included).
  // A limit whose reset is the one recorded for an account we already left is that account's
  // message, redrawn (the hook and the transcript still catch a new limit of this account).
  const leftResets = Object.entries(state.accounts)
    .filter(([name, a]) => name !== account && a.exhaustedUntil)
    .map(([, a]) => Date.parse(a.exhaustedUntil!));
  const fromLeftAccount = (m: { resetsAt: string | null }) =>
    m.resetsAt !== null &&
    leftResets.some((t) => Math.abs(t - Date.parse(m.resetsAt!)) < SAME_RESET_MS);
  const fresh = r.matches.filter(
    (m) =>
      !(
        m.verdict === 'limit' &&
        m.line &&
        (consumed.has(fingerprint(m.line)) || fromLeftAccount(m))
      ),
  );
  const freshLimit =
    fresh.find((m) => m.verdict === 'limit' && !m.aux) ?? fresh.find((m) => m.verdict === 'limit');
  const top: QuotaExplanation | LineVerdict | null =
    freshLimit ?? (r.verdict === 'limit' ? null : r);
  if (!top || top.verdict === 'none') return reading;
  if (top.verdict === 'limit') {
    const d = detection('pane', top, top.line ?? '', Boolean(top.resetsAt));
    reading.detections.push(d);
    if (d.confirmed) reading.confirmed ??= d;
    else reading.suspect = d;
    return reading;
  }
  // Stale, transient and warning lines are logged once per distinct line.
  const fp = fingerprint(`${top.verdict}:${top.line ?? ''}`);
  if (!logged.has(fp)) {
    reading.newLogged.push(fp);
    reading.detections.push(detection('pane', top, top.line ?? '', false));
  }
  return reading;
}
