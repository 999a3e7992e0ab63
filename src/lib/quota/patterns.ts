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
 * - API          `API Error: Rate limit reached`, `API Error: Request rejected (429) · This
 *                request would exceed your organization's rate limit ...`
 */
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
  if (/\b(?:session|5-?hour|five-?hour|5h|hourly)\b/.test(l)) return model ? 'model' : 'session';
  if (/\b(?:week|weekly|7-?day|seven-?day)\b/.test(l)) return model ? 'model' : 'weekly';
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
      String.raw`You(?:'re|\s+are)\s+(?:all\s+)?out\s+of\s+(?:your\s+)?(?:extra\s+usage|usage\s+credits|credits)\b|You(?:'ve|\s+have)\s+used\s+(?:up\s+)?all\s+(?:of\s+)?your\s+(?:extra\s+usage|usage\s+credits)\b`,
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
    // 2025 final 429: API Error: 429 {"type":"error","error":{"type":"rate_limit_error",...}}
    name: 'limit.api-rate-limit',
    re: apiError(String.raw`\(?429\b(?=.*(?:rate_limit_error|\brate\s+limit))`),
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
    // The /rate-limit-options menu that opens on a limit. On its own (the limit line scrolled
    // away) it is evidence of a limit without a reset time.
    name: 'limit.rate-limit-options',
    re: /(?:\d+\.\s*)?Stop\s+and\s+wait\s+for\s+(?:the\s+)?(?:usage\s+)?limit\s+to\s+reset\b/iuy,
    kind: 'infer',
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
  return { aux: p.aux, ...base, index: m.index, resetFrom: m.index + m[0].length };
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
