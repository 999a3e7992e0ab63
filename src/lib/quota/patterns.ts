/**
 * The built-in patterns besides the limit messages (patterns-limit.ts): warnings, transient
 * errors (which win over every limit), long rate-limit retries, the guards that stop the
 * limit and warning patterns on text about something else, and the login errors; and how
 * a pattern list is matched against a line (`builtin`). Names are stable: they go into
 * events.jsonl and `quota explain`.
 */
import {
  apiError,
  kindFromText,
  LINE_START,
  message,
  messageStarts,
  qualifierKind,
  warning,
  WORDS,
  type Pattern,
  type PatternHit,
} from './pattern-kit.js';
import { LIMITS } from './patterns-limit.js';
import { findWhenPhrase, parseDuration, type ResetPhrase } from './reset-phrase.js';

// Warnings: work continues. They may also follow a separator (footer chips).
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
