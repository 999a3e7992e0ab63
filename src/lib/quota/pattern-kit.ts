/**
 * What the built-in quota patterns are made of: the hit and pattern types, where a message
 * may start on a line (`messageStarts`), the regex builders that apply a body only there,
 * and the readers of a limit's kind from its wording (`qualifierKind`, `kindFromText`).
 * The tables are in patterns-limit.ts (limit messages) and patterns.ts (the rest).
 */
import type { ResetPhrase } from './reset-phrase.js';

export type Verdict = 'limit' | 'warning' | 'transient' | 'stale' | 'none';
export type QuotaKind =
  'session' | 'weekly' | 'model' | 'spend' | 'extra-usage' | 'rate-limit' | 'unknown';

/** What a qualifier says about a limit: a kind, 'infer' (from the reset), or not a quota. */
export type KindHint = QuotaKind | 'infer' | 'reject';

export interface PatternHit {
  name: string;
  kind: KindHint;
  /** Offset of the match in the logical line. */
  index: number;
  /** Where to look for the reset phrase. */
  resetFrom: number;
  /** An epoch captured by the pattern itself. */
  epoch?: { digits: string; index: number };
  /** Limit evidence that counts only when no primary limit line is present. */
  aux?: boolean;
  /** A reset the pattern read itself (a notice without `resets`, a retry delay). */
  reset?: ResetPhrase;
}

export interface Pattern {
  name: string;
  re: RegExp;
  /** Decides the hit from the match; null rejects it (e.g. "Context limit reached"). */
  decide?: (m: RegExpExecArray, line: string) => Omit<PatternHit, 'index' | 'resetFrom'> | null;
  kind?: KindHint;
  aux?: boolean;
}

// A Claude Code message starts at the line start behind TUI glyphs (⎿ ● ⏺ ✻ ❯ > │), right
// after a ⎿/●/⏺ glyph anywhere (pastes join lines), or after a column gap (the footer).
// Those positions are found in code and the patterns are applied there (sticky), which
// keeps the work linear on long runs of spaces.
export const LINE_START = /^(?:[\s⎿●⏺✻✶✳✢✽✦✧·*>❯│┃|#⏵⚠❗❌✗✘⛔🚫-]|\d+[.)]\s)*/u;
const MID_START = /[⎿●⏺] *|\s{3,}/gu;
const SEP_START = /· */gu;
const MAX_STARTS = 64;

/** Offsets where a message may begin; `separators` adds the spot after each `·`. */
export function messageStarts(line: string, separators = false): number[] {
  const out = new Set<number>([LINE_START.exec(line)![0].length]);
  for (const re of separators ? [MID_START, SEP_START] : [MID_START]) {
    re.lastIndex = 0;
    for (let m = re.exec(line); m && out.size < MAX_STARTS; m = re.exec(line)) {
      out.add(m.index + m[0].length);
    }
  }
  return [...out].sort((a, b) => a - b);
}

export const QUOTE = String.raw`["'\x60]?\s*`;
const ERR = String.raw`(?:(?:API\s+)?Error:?\s*)?`;
// What may follow "... limit" in a real message: its end, a separator, or the reset/hint.
export const FOLLOW = String.raw`(?=\s*$|\s*[·.|,:;!(\-—–]|\s+(?:for|on|resets?|until|and|now|will|run|·)\b)`;
export const WORDS = (min: number, max: number) =>
  String.raw`((?:[\p{L}\p{N}.+'-]+\s+){${min},${max}}?)`;

/** A message regex, applied only at `messageStarts`. */
export const message = (body: string) => new RegExp(`${QUOTE}${ERR}(?:${body})`, 'iuy');
/** An `API Error: ...` regex, applied only at `messageStarts`. */
export const apiError = (body: string) =>
  new RegExp(`${QUOTE}API\\s+Error:?\\s*(?:${body})`, 'iuy');

const MODEL_NAMES = /\b(?:opus|sonnet|haiku|fable|mythos)\b/i;

/**
 * Classifies the words before "limit" (`5-hour`, `weekly`, `Opus`, `monthly spend`, ...).
 * `allowNames` lets an unknown capitalised word count as a model name (2026 wording).
 */
export function qualifierKind(raw: string, allowNames: boolean): KindHint {
  const q = raw.trim().replace(/\s+/g, ' ');
  const l = q.toLowerCase();
  if (
    /\b(?:context|token|tokens|output|input|length|size|file|files|character|characters|line|lines|tool|turn|turns|recursion|depth|memory|disk|github|gh|retry|retries|connection|concurrency|time|timeout)\b/.test(
      l,
    )
  )
    return 'reject';
  if (/\bextra\s*usage\b|\busage\s+credits?\b|\bcredits?\b/.test(l)) return 'extra-usage';
  if (/\b(?:spend|spending|billing|budget|cost|monthly)\b/.test(l)) return 'spend';
  if (/\b(?:rate|request|requests)\b/.test(l)) return 'rate-limit';
  const model = MODEL_NAMES.test(l);
  if (/\b(?:session|5[-\s]?hours?|five[-\s]?hours?|5h|hourly)\b/.test(l))
    return model ? 'model' : 'session';
  if (/\b(?:week|weekly|7[-\s]?days?|seven[-\s]?days?)\b/.test(l))
    return model ? 'model' : 'weekly';
  if (model) return 'model';
  if (
    l === '' ||
    /^(?:(?:claude|ai|code|pro|max|team|plan|account|subscription|organization's|organisation's|org's|your|the|daily|current|usage)\s*)+$/.test(
      l,
    )
  )
    return 'infer';
  // "You've hit your Fable 5 limit": a name we do not know yet, written as a name.
  if (allowNames && /^\p{Lu}[\p{L}\p{N}.-]*(?:\s+[\p{Lu}\p{N}][\p{L}\p{N}.-]*){0,2}$/u.test(q))
    return 'model';
  return 'reject';
}

// Warnings: work continues. They may also follow a separator (footer chips).
export const warning = (body: string) => new RegExp(`${QUOTE}(?:${body})`, 'iuy');

/** A kind for text matched by a user pattern, from the words it contains. */
export function kindFromText(line: string): KindHint {
  const l = line.toLowerCase();
  if (/\bextra\s+usage\b|\busage\s+credits\b/.test(l)) return 'extra-usage';
  if (/\bspend\b/.test(l)) return 'spend';
  if (MODEL_NAMES.test(l) && /\blimit\b/.test(l)) return 'model';
  if (/\bweekly\b|\b7-day\b/.test(l)) return 'weekly';
  if (/\bsession\b|\b5-hour\b/.test(l)) return 'session';
  if (/\brate\s+limit\b/.test(l)) return 'rate-limit';
  return 'infer';
}
