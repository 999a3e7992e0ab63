/**
 * The built-in limit patterns. Each captures the structure of one generation of Claude Code's
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
import {
  apiError,
  FOLLOW,
  message,
  qualifierKind,
  QUOTE,
  WORDS,
  type Pattern,
} from './pattern-kit.js';
import { findWhenPhrase, type ResetPhrase } from './reset-phrase.js';

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

export const LIMITS: Pattern[] = [
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
