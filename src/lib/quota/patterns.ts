/**
 * The built-in patterns. Each captures the structure of one generation of Claude Code's
 * messages rather than a literal sample, so other times, zones, models, decorations and
 * wrapping still match. Names are stable: they go into events.jsonl and `quota explain`.
 *
 * Generations (see README "How detection decides"):
 * - 2025-06..10  `Claude usage limit reached. Your limit will reset at 1pm (Etc/GMT+5).`
 *                and, in transcripts and -p output, `Claude AI usage limit reached|<epoch>`
 * - 2025-08..12  `5-hour limit reached ∙ resets 5am`, `Weekly limit reached · resets Nov 13
 *                at 9am`, `Session limit reached ∙ resets 8pm`, the `Usage limit reached` chip
 * - 2026-01..05  `You've hit your limit · resets 8pm (Asia/Tokyo)`
 * - 2026-05..    `You've hit your session limit · resets 12:50am (America/Los_Angeles)`,
 *                `You've hit your weekly limit · resets Jul 25, 9pm (America/New_York)`
 * - model-scoped `You've hit your Opus limit`, `You've reached your Fable 5 limit. Run ...`
 * - spend        `You've hit your monthly spend limit`, `You're out of extra usage · resets ...`
 * - 2026-10..    (2.1.312) `You've hit your 5-hour limit · resets 10:02pm (UTC) · progress saved`
 * - auto-continue (2.1.328) `Usage limit reached · continuing automatically at 4:44pm · esc to
 *                cancel`, (2.1.332) `Usage limit reached · set to continue automatically at
 *                10:02pm`; `Automatic continue cancelled · ...` is a notice, not a limit
 * - API          `API Error: Rate limit reached`, `API Error: Request rejected (429) · This
 *                request would exceed your organization's rate limit ...`, the error view's
 *                `Error: 429 {... "rate_limit_error" ...}`, and a 429 retry row that waits
 *                `LONG_RETRY_MS` or more (`Rate limited · Retrying in 48m · attempt 1/10`)
 */
import { findWhenPhrase, parseDuration, type ResetPhrase } from './reset-time.js';

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

interface Pattern {
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
const LINE_START = /^(?:[\s⎿●⏺✻✶✳✢✽✦✧·*>❯│┃|#⏵⚠❗❌✗✘⛔🚫-]|\d+[.)]\s)*/u;
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

const QUOTE = String.raw`["'\x60]?\s*`;
const ERR = String.raw`(?:(?:API\s+)?Error:?\s*)?`;
// What may follow "... limit" in a real message: its end, a separator, or the reset/hint.
const FOLLOW = String.raw`(?=\s*$|\s*[·.|,:;!(\-—–]|\s+(?:for|on|resets?|until|and|now|will|run|·)\b)`;
const WORDS = (min: number, max: number) => String.raw`((?:[\p{L}\p{N}.+'-]+\s+){${min},${max}}?)`;

/** A message regex, applied only at `messageStarts`. */
const message = (body: string) => new RegExp(`${QUOTE}${ERR}(?:${body})`, 'iuy');
/** An `API Error: ...` regex, applied only at `messageStarts`. */
const apiError = (body: string) => new RegExp(`${QUOTE}API\\s+Error:?\\s*(?:${body})`, 'iuy');

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

const AUTO_CONTINUE = 'limit.auto-continue';

/** The `{when}` of an auto-continue notice: right after the match, or the first `at ...` later. */
function autoContinueReset(m: RegExpExecArray, line: string): ResetPhrase | undefined {
  const end = m.index + m[0].length;
  const direct = findWhenPhrase(line, end);
  if (direct) return direct;
  // A server-configured wording may put `{when}` elsewhere on the line.
  const rest = /\s(?:at\s|shortly\b)/giu;
  rest.lastIndex = end;
  for (let r = rest.exec(line), n = 0; r && n < 4; r = rest.exec(line), n++) {
    const p = findWhenPhrase(line, r.index);
    if (p) return p;
  }
  return undefined;
}

const LIMITS: Pattern[] = [
  {
    // 2025: "Claude AI usage limit reached|1749924000" (transcripts, -p, early TUI)
    name: 'limit.claude-usage-reached-epoch',
    re: message(String.raw`Claude\s+(?:AI\s+)?usage\s+limit\s+reached\s*\|\s*(\d{10,13})\b`),
    decide: (m) => ({
      name: 'limit.claude-usage-reached-epoch',
      kind: 'session',
      epoch: { digits: m[1]!, index: m.index + m[0].length - m[1]!.length },
    }),
  },
  {
    // 2025: "Claude usage limit reached. Your limit will reset at 1pm (Etc/GMT+5)."
    name: 'limit.claude-usage-reached',
    re: message(
      String.raw`Claude(?:\s+(?:AI|Pro|Max|Code|Team))?\s+usage\s+limit\s+reached${FOLLOW}`,
    ),
    kind: 'session',
  },
  {
    // Claude Code's own auto-continue, printed after the limit line: 2.1.328 "Usage limit
    // reached · continuing automatically at 4:44pm · esc to cancel" (and "Usage limit reached
    // again · ..."), 2.1.332 "Usage limit reached · set to continue automatically at 10:02pm".
    // Its `{when}` is "at <time>", "at <Mon D>, <time>" (more than a day away) or "shortly"
    // (the reset has passed): limit evidence that carries the reset.
    name: AUTO_CONTINUE,
    re: message(
      String.raw`Usage\s+limit\s+reached(?:\s+again)?\s*[·,:;-]?\s*(?:(?:is\s+)?set\s+to\s+continue|continuing|will\s+continue)\s+automatically\b`,
    ),
    decide: (m, line) => ({
      name: AUTO_CONTINUE,
      kind: 'infer',
      reset: autoContinueReset(m, line),
    }),
  },
  {
    // 2.1.3xx /goal: "Goal paused · usage limit reached · continues automatically when it resets"
    name: 'limit.goal-paused',
    re: message(String.raw`Goal\s+paused\s*·\s*usage\s+limit\s+reached\b`),
    kind: 'infer',
  },
  {
    // 2025-08..12: "5-hour limit reached ∙ resets 5am", "Weekly limit reached · resets ...",
    // "Opus limit reached ∙ resets 3pm", and the "Usage limit reached" footer chip.
    name: 'limit.window-reached',
    re: message(String.raw`${WORDS(0, 3)}limits?\s+(?:reached|exceeded)${FOLLOW}`),
    decide: (m, line) => {
      // A bare "Limit reached" counts only with its reset right after it.
      if (!m[1]!.trim() && !/^\s*[·|,.-]?\s*resets?\b/iu.test(line.slice(m.index + m[0].length)))
        return null;
      const kind = qualifierKind(m[1]!, false);
      // "Rate limit reached" is an API error; it has its own pattern with the prefix.
      if (kind === 'reject' || kind === 'rate-limit') return null;
      return { name: 'limit.window-reached', kind: kind === 'infer' ? 'infer' : kind };
    },
  },
  {
    // 2026: "You've hit your limit · resets ...", "You've hit your session limit · ...",
    // "You've hit your Opus limit", "You've reached your Fable 5 limit. Run /usage-credits ...",
    // "You've hit your monthly spend limit", claude.ai: "You've hit your limit for Claude messages."
    name: 'limit.hit-your-limit',
    re: message(
      String.raw`You(?:'ve|\s+have)\s+(?:hit|reached|exceeded|used\s+up)\s+(?:your|the)\s+${WORDS(0, 4)}limits?${FOLLOW}`,
    ),
    decide: (m) => {
      const kind = qualifierKind(m[1]!, true);
      if (kind === 'reject') return null;
      const name =
        kind === 'infer'
          ? 'limit.hit-your-limit'
          : kind === 'session' || kind === 'weekly'
            ? 'limit.hit-your-window'
            : kind === 'model'
              ? 'limit.model'
              : kind === 'spend'
                ? 'limit.spend'
                : kind === 'extra-usage'
                  ? 'limit.extra-usage'
                  : 'limit.api-rate-limit';
      return { name, kind };
    },
  },
  {
    // 2026: "You're out of extra usage · resets Feb 4, 8pm (Europe/Budapest)"
    name: 'limit.extra-usage',
    re: message(
      String.raw`You(?:'re|\s+are)\s+(?:all\s+)?out\s+of\s+(?:your\s+)?(?:extra\s+usage|usage\s+credits|credits)\b|You(?:'ve|\s+have)\s+used\s+(?:up\s+)?all\s+(?:of\s+)?your\s+(?:extra\s+usage|usage\s+credits)\b|Your\s+(?:organization|organisation|org)\s+is\s+(?:all\s+)?out\s+of\s+(?:extra\s+usage|usage\s+credits|credits|usage)\b`,
    ),
    kind: 'extra-usage',
  },
  {
    // API-key and org limits: "API Error: Rate limit reached" (final, not a retry row)
    name: 'limit.api-rate-limit',
    re: apiError(String.raw`(?:\(?429\)?\s*)?Rate\s+limit(?:ed)?\s+(?:reached|exceeded)\b`),
    kind: 'rate-limit',
  },
  {
    // "API Error: Request rejected (429) · This request would exceed your organization's rate
    // limit of 10,000 input tokens per minute" / "... exceeded your per-minute rate limit";
    // gateways put their quota text there too ("· Token Plan usage limit reached"). Without
    // such words (capacity, queue full) it stays transient.
    name: 'limit.api-rate-limit',
    re: apiError(
      String.raw`Request\s+rejected\s*\(429\)(?!.*temporary\s+capacity)(?=.*(?:\b(?:rate|usage|weekly|monthly|daily|plan)\s+limit\b|\blimits?\s+(?:reached|exhausted|exceeded)\b|\bquota\b|\bexceed(?:s|ed)?\s+(?:your|the)\b))`,
    ),
    kind: 'rate-limit',
  },
  {
    // The final 429: `API Error: 429 {"type":"error","error":{"type":"rate_limit_error",...}}`
    // (2025), and the error view's `Error: 429 {...}` (a retry row of it is transient above).
    name: 'limit.api-rate-limit',
    re: new RegExp(
      String.raw`${QUOTE}(?:API\s+)?Error:?\s*\(?429\b(?=.*(?:rate_limit_error|\brate\s+limit))`,
      'iuy',
    ),
    kind: 'rate-limit',
  },
  {
    // API-key accounts out of prepaid credit: waiting does not help, another account does.
    name: 'limit.credit-balance',
    re: new RegExp(
      String.raw`${QUOTE}(?:API\s+Error:?[^·]{0,80}?)?(?:Your\s+)?credit\s+balance\s+is\s+too\s+low`,
      'iuy',
    ),
    kind: 'spend',
  },
  {
    // The auto-continue wait without its "Usage limit reached" head (wrapped or scrolled
    // away), the /rate-limit-options choice and its confirmation: "Continuing automatically
    // at 4:44pm · Esc to cancel", "2. Wait here, then continue automatically at 4:44pm",
    // "Claude Code will continue automatically at 4:44pm. Keep this session open; ...".
    // Evidence with a reset, counted only when no limit line is shown.
    name: AUTO_CONTINUE,
    re: message(
      String.raw`(?:Wait\s+here,\s+then\s+continue|Claude(?:\s+Code)?\s+will\s+continue|Continuing)\s+automatically\b`,
    ),
    decide: (m, line) => {
      const reset = autoContinueReset(m, line);
      return reset ? { name: AUTO_CONTINUE, kind: 'infer', reset, aux: true } : null;
    },
  },
  {
    // The /rate-limit-options menu that opens on a limit. On its own (the limit line scrolled
    // away) it is evidence of a limit without a reset time.
    name: 'limit.rate-limit-options',
    re: /(?:\d+\.\s*)?Stop\s+and\s+wait\s+for\s+(?:the\s+)?(?:usage\s+)?limit\s+to\s+reset\b/iuy,
    // 2.1.332 offers "2. Wait here, then continue automatically at Dec 7, 9pm": the reset.
    decide: (m, line) => {
      const wait = /continue\s+automatically\s+/giu;
      wait.lastIndex = m.index + m[0].length;
      const w = wait.exec(line);
      const reset = w ? (findWhenPhrase(line, w.index + w[0].length) ?? undefined) : undefined;
      return { name: 'limit.rate-limit-options', kind: 'infer', reset };
    },
    aux: true,
  },
];

// Warnings: work continues. They may also follow a separator (footer chips).
const warning = (body: string) => new RegExp(`${QUOTE}(?:${body})`, 'iuy');

const MODEL_FALLBACK: Pattern = {
  // 2025: "Claude Opus 4 limit reached, now using Sonnet 4": a notice, work goes on.
  name: 'warning.model-fallback',
  re: message(
    String.raw`(?:Claude\s+)?${WORDS(1, 3)}(?:usage\s+)?limit\s+reached\s*[,·.;:]?\s*(?:now\s+)?(?:using|switching\s+to|switched\s+to|falling\s+back\s+to)\b`,
  ),
  kind: 'model',
};

const WARNINGS: Pattern[] = [
  {
    // "Approaching usage limit · resets at 11pm", "Approaching Opus usage limit · /model ...",
    // "Approaching weekly limit", "Near weekly limit", "Close to your 5-hour limit"
    name: 'warning.approaching',
    re: warning(
      String.raw`(?:Approaching|Nearing|Near|Close\s+to|You(?:'re|\s+are)\s+(?:getting\s+)?close\s+to)\s+(?:your\s+|the\s+)?${WORDS(0, 3)}limits?\b`,
    ),
    decide: (m) => {
      const kind = qualifierKind(m[1]!, true);
      return kind === 'reject' ? null : { name: 'warning.approaching', kind };
    },
  },
  {
    // "You've used 90% of your weekly limit · resets Oct 9, 10am"
    name: 'warning.used-percent',
    re: warning(
      String.raw`You(?:'ve|\s+have)\s+used\s+(?:over\s+|about\s+)?\d{1,3}\s*%\s+of\s+(?:your\s+|the\s+)?${WORDS(0, 3)}limits?\b`,
    ),
    decide: (m) => {
      const kind = qualifierKind(m[1]!, true);
      return kind === 'reject' ? null : { name: 'warning.used-percent', kind };
    },
  },
];

// Transient markers anywhere in the line: server or network trouble, retry rows, and the
// server throttle that says it is not the usage limit. These win over every limit pattern.
const TRANSIENT_STRONG: Pattern[] = [
  {
    name: 'transient.server-throttle',
    re: /not\s+your\s+usage\s+limit|temporarily\s+limiting\s+requests/iu,
  },
  {
    name: 'transient.retrying',
    re: /\bretrying\s+in\b|\bretry(?:ing)?\s+in\s+\d|\bwill\s+retry\b|\battempt\s+\d+\s*\/\s*\d+/iu,
  },
  {
    name: 'transient.overloaded',
    re: /\boverloaded(?:_error)?\b|\bat\s+capacity\b|\btemporary\s+capacity\b/iu,
  },
  {
    name: 'transient.server-error',
    re: /\b(?:API\s+Error|error|status(?:\s+code)?|HTTP(?:\/[\d.]+)?)[\s:(]*5\d\d\b|\b5\d\d\s+(?:Internal|Overloaded|Bad\s+Gateway|Service\s+Unavailable|Gateway|no\s+healthy|upstream|\{)|\bInternal\s+server\s+error\b|\bapi_error\b|\bserver-side\s+issue\b|\bBad\s+Gateway\b|\bService\s+Unavailable\b|\bGateway\s+Time-?out\b|\bno\s+healthy\s+upstream\b|\bupstream\s+connect\s+error\b/iu,
  },
  {
    name: 'transient.timeout',
    re: /\bRequest\s+timed\s+out\b|\bETIMEDOUT\b|\bAPI_TIMEOUT_MS\b|\b(?:API|request|connection|socket|read)\s+time-?out\b/iu,
  },
  {
    name: 'transient.connection',
    re: /\bConnection\s+error\b|\bUnable\s+to\s+connect\b|\bECONN(?:RESET|REFUSED|ABORTED)\b|\bEPIPE\b|\bENOTFOUND\b|\bEAI_AGAIN\b|\bfetch\s+failed\b|\bsocket\s+hang\s+up\b|\bnetwork\s+error\b|\bcheck\s+your\s+network\b|\bWaiting\s+for\s+API\s+response\b|\bSSE\s+Error\b/iu,
  },
];

/**
 * A retry wait at least this long is not a transient hiccup. Claude Code's own backoff stays
 * well under a minute between attempts; a 429 that makes it wait five minutes or more (a
 * `retry-after` from the account's rate limit, or `CLAUDE_CODE_RETRY_WATCHDOG` waiting for a
 * quota reset) keeps the session idle that long, which is what a limit is.
 */
export const LONG_RETRY_MS = 5 * 60_000;

// Claude Code's retry row: the delay after a separator, and an attempt counter (`attempt
// 1/10`, `(attempt 1/10)`, `attempt 1 of 10` in -p), so other tools' retry lines do not count.
const RETRY_DELAY = /·\s*(?:retrying|will\s+retry)\s+in\s+(?=\d)/giu;
const RETRY_ATTEMPT = /\battempt\s+\d+\s*(?:\/|of)\s*\d+/iu;
// What makes a retry row a rate limit or a quota wait rather than server trouble.
const RATE_LIMITED =
  /\b429\b|\brate_limit_error\b|\brate[\s-]+limit(?:ed)?\b|\busage\s+limit\b|\blimits?\s+(?:reached|exceeded)\b|\b(?:hit|reached)\s+(?:your|the)\b[^·]*\blimit\b/iu;
const RETRY_AT = /\s*\(\s*/y;

/**
 * A rate-limit retry row whose delay is `LONG_RETRY_MS` or more: `API Error (429
 * {"type":"error","error":{"type":"rate_limit_error",...}}) · Retrying in 2892 seconds…
 * (attempt 1/10)`, `✻ Rate limited · Retrying in 48m · attempt 1/10`, and what Claude Code
 * shows under `CLAUDE_CODE_RETRY_WATCHDOG=1`, which waits out a quota 429 (2.1.328, 2.1.332):
 * `✻ 5-hour limit reached · retrying in 2h (9:44pm) · attempt 1/300`. Not when the row carries
 * any other transient marker (5xx, 529, "not your usage limit", network trouble).
 *
 * Its reset is the time in parentheses when the row prints one (the quota's own reset),
 * otherwise now plus the delay shown (the row counts down, so a later poll agrees).
 */
function longRateLimitRetry(line: string): PatternHit | null {
  if (!RATE_LIMITED.test(line) || !RETRY_ATTEMPT.test(line)) return null;
  if (TRANSIENT_STRONG.some((p) => p.name !== 'transient.retrying' && hit(p, line, [0])))
    return null;
  RETRY_DELAY.lastIndex = 0;
  for (let m = RETRY_DELAY.exec(line); m; m = RETRY_DELAY.exec(line)) {
    const d = parseDuration(line, m.index + m[0].length);
    if (!d || d.ms < LONG_RETRY_MS) continue;
    RETRY_AT.lastIndex = d.end;
    const paren = RETRY_AT.exec(line);
    const clock = paren ? findWhenPhrase(line, d.end + paren[0].length, true) : null;
    const reset: ResetPhrase = clock ?? {
      spec: { type: 'relative', ms: d.ms },
      text: line.slice(m.index, d.end).replace(/\s+/g, ' '),
      start: m.index,
      end: d.end,
    };
    const kind = kindFromText(line);
    return {
      name: 'limit.rate-limit-retry',
      kind: kind === 'infer' ? 'rate-limit' : kind,
      index: LINE_START.exec(line)![0].length,
      resetFrom: reset.end,
      reset,
    };
  }
  return null;
}

// Weaker transient evidence, used only when no limit or warning pattern matched the line.
const TRANSIENT_WEAK: Pattern[] = [
  {
    name: 'transient.http-status',
    re: /\b(?:status\s+code|HTTP(?:\/[\d.]+)?)\s*(?:429|5\d\d)\b|\b429\s+Too\s+Many\s+Requests\b|\bRequest\s+rejected\s*\(429\)|\bFailed\s+to\s+download\b/iu,
  },
  { name: 'transient.api-error', re: apiError('') },
];

// Text that is not about this account's quota. They stop the built-in limit and warning
// patterns on their own physical line (your own patterns still apply).
const GUARDS: Pattern[] = [
  {
    name: 'none.github-rate-limit',
    re: /\bGitHub\b.*\brate[\s_-]*limit|\bgh\s+api\s+rate_limit\b|\bapi\.github\.com\b|\bx-ratelimit-/iu,
  },
  {
    name: 'none.usage-panel',
    re: /\b\d{1,3}(?:\.\d+)?\s*%\s+used\b|^\s*Current\s+(?:session|week)\b|\bweekly\s+limits?\s+promo\b|^\s*Resets\s/iu,
  },
  {
    name: 'none.context',
    re: /\bContext\s+left\b|\bauto-?compact\b|\bContext\s+(?:low|limit\s+reached|window)\b|(?:^|\s)\/compact\b/iu,
  },
  {
    // Claude Code's auto-continue notices that say the wait is off or over: "Automatic
    // continue cancelled · /rate-limit-options to wait again" (also "... to re-arm", "... ·
    // Claude Code exited during the wait, so the task will not resume on its own when the
    // usage limit resets"), "Automatic continue stopped · your login changed or ended",
    // "Usage limit reset · Continuing automatically", "Usage limit available again ·
    // continuing now", "Your usage limit has reset". Not a new limit.
    name: 'none.auto-continue-notice',
    re: /\bAutomatic\s+continue\s+(?:cancell?ed|stopped)\b|\bUsage\s+limit\s+(?:has\s+)?reset\b|\bUsage\s+limit\s+available\b/iu,
  },
  {
    name: 'none.usage-monitor',
    re: /\b(?:Burn\s+Rate|Time\s+to\s+Reset|Token\s+Reset|Predicted\s+End|Tokens\s+will\s+run\s+out|Cost\s+limit\s+will\s+be\s+exceeded|Limit\s+resets\s+at:)/iu,
  },
];

// Not a quota and not transient: the account needs a login. Reported as `none` with this
// pattern so callers can tell it apart.
const AUTH: Pattern[] = [
  {
    name: 'auth.login-required',
    re: /\bLogin\s+expired\b|\bOAuth\s+token\s+(?:has\s+)?expired\b|\bInvalid\s+API\s+key\b|\bPlease\s+run\s+\/login\b|\bauthentication_error\b|\bNot\s+logged\s+in\b/iu,
  },
];

function decide(p: Pattern, m: RegExpExecArray, line: string): PatternHit | null {
  const base = p.decide ? p.decide(m, line) : { name: p.name, kind: p.kind ?? 'unknown' };
  if (!base) return null;
  const end = m.index + m[0].length;
  return { aux: p.aux, ...base, index: m.index, resetFrom: base.reset?.end ?? end };
}

const CODE_END = /["'`]\s*[,;)\]}]+\s*$/;

/** Sticky patterns are tried at each message start, leftmost first; others anywhere. */
function hit(p: Pattern, line: string, starts: number[]): PatternHit | null {
  if (!p.re.sticky) {
    p.re.lastIndex = 0;
    const m = p.re.exec(line);
    return m ? decide(p, m, line) : null;
  }
  for (const at of starts) {
    p.re.lastIndex = at;
    const m = p.re.exec(line);
    if (!m) continue;
    // A quoted message on a line that ends like code ("...",  '...');) is a string literal.
    if (/^["'`]/.test(m[0]) && CODE_END.test(line)) continue;
    const h = decide(p, m, line);
    if (h) return h;
  }
  return null;
}

function first(list: Pattern[], line: string, separators = false): PatternHit | null {
  const starts = messageStarts(line, separators);
  for (const p of list) {
    const h = hit(p, line, starts);
    if (h) return h;
  }
  return null;
}

export const builtin = {
  transientStrong: (line: string) => first(TRANSIENT_STRONG, line),
  longRetry: longRateLimitRetry,
  guard: (line: string) => first(GUARDS, line),
  modelFallback: (line: string) => first([MODEL_FALLBACK], line),
  limit: (line: string) => first(LIMITS, line),
  warning: (line: string) => first(WARNINGS, line, true),
  auth: (line: string) => first(AUTH, line),
  transientWeak: (line: string) => first(TRANSIENT_WEAK, line),
};

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
