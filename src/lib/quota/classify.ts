/**
 * The pane-text classifier: per logical line, then the most relevant line of the capture.
 *
 * Per line, first match wins:
 *   1. your `ignore` patterns: the line is dropped;
 *   2. transient (your `transient` patterns, then the built-in transient markers: 5xx, 529,
 *      overloaded, timeouts, connection errors, retry rows, "not your usage limit"), except a
 *      429 retry row that waits `LONG_RETRY_MS` or more, which is a limit;
 *   3. your `limit` patterns;
 *   4. built-in limit patterns (not on a physical line that is a /usage panel, a context
 *      warning, a GitHub rate limit or a usage monitor); the 2025 notice "Opus limit
 *      reached, now using Sonnet" is a warning, not a limit;
 *   5. your `warning` patterns, then built-in warnings (same guard);
 *   6. `auth.login-required` (verdict none), then weak transient evidence (other API errors);
 *   7. none.
 * A limit whose reset time is already past is `stale`.
 *
 * For the whole text: limit > warning > transient > stale > none, where a limit is the
 * last primary limit line (aux evidence such as the /rate-limit-options menu counts only
 * when no primary limit line, stale or not, is present). Within a verdict the last line
 * wins: it is the most recent, except that a later limit line naming no window (Claude
 * Code's auto-continue notice, the footer chip) with the same reset or none does not
 * replace an earlier one that has a reset: it is the same limit, told again.
 */
import type * as Luxon from 'luxon';
import { ConfigError } from '../core/errors.js';
import {
  kindFromText,
  type KindHint,
  type PatternHit,
  type QuotaKind,
  type Verdict,
} from './pattern-kit.js';
import { builtin } from './patterns.js';
import { epochPhrase, findResetPhrase, type ResetPhrase } from './reset-phrase.js';
import { resolveReset, resolveZoneName, systemZone } from './reset-time.js';
import {
  collapse,
  logicalLines,
  normalizeText,
  segmentAt,
  spanText,
  type LogicalLine,
} from './text.js';

export type { QuotaKind, Verdict } from './pattern-kit.js';

/** What `quota explain --json` prints (README "How detection decides"). */
export interface QuotaVerdict {
  verdict: Verdict;
  kind: QuotaKind | null;
  /** UTC ISO-8601 with a Z */
  resetsAt: string | null;
  resetText: string | null;
  pattern: string | null;
  line: string | null;
}

/** One classified line of the input. */
export interface LineVerdict extends QuotaVerdict {
  /** 1-based number of the first physical line. */
  lineNumber: number;
  /** Limit evidence that counts only without a primary limit line. */
  aux: boolean;
  /** A limit or warning that names no window: its kind was inferred from the reset. */
  generic: boolean;
  /** The zone a wall-clock reset was read in. */
  zone: string | null;
  notes: string[];
}

/** The verdict plus what led to it. */
export interface QuotaExplanation extends QuotaVerdict {
  lineNumber: number | null;
  /** Default zone for reset times without one. */
  zone: string;
  notes: string[];
  /** Every line that matched something, in input order. */
  matches: LineVerdict[];
}

export interface UserPatterns {
  limit: string[];
  warning: string[];
  transient: string[];
  ignore: string[];
}

export interface ClassifierOptions {
  /** Zone for reset times that name none; null/undefined = the system zone. */
  timezone?: string | null;
  /** `quota.patterns` from the config: regex sources, matched case-insensitively. */
  patterns?: Partial<UserPatterns> | null;
}

interface Found {
  verdict: Exclude<Verdict, 'stale'>;
  hit: PatternHit;
  /** For your own patterns: the reset may be anywhere on the line. */
  resetAnywhere?: boolean;
}

interface CompiledUser {
  source: string;
  re: RegExp;
}

type LuxonModule = typeof Luxon;

const SESSION_MAX_MS = 5 * 3_600_000 + 5 * 60_000;
const VERDICT_RANK: Record<Verdict, number> = {
  limit: 4,
  warning: 3,
  transient: 2,
  stale: 1,
  none: 0,
};

function compileUser(patterns: Partial<UserPatterns> | null | undefined) {
  const out: Record<keyof UserPatterns, CompiledUser[]> = {
    limit: [],
    warning: [],
    transient: [],
    ignore: [],
  };
  for (const key of Object.keys(out) as (keyof UserPatterns)[]) {
    (patterns?.[key] ?? []).forEach((source, i) => {
      try {
        out[key].push({ source, re: new RegExp(source, 'iu') });
      } catch (err) {
        throw new ConfigError(
          `quota.patterns.${key}[${i}]: invalid regular expression ${JSON.stringify(source)}: ${(err as Error).message}`,
        );
      }
    });
  }
  return out;
}

function userHit(
  list: CompiledUser[],
  text: string,
): { source: string; index: number; end: number } | null {
  for (const u of list) {
    const m = u.re.exec(text);
    if (m) return { source: u.source, index: m.index, end: m.index + m[0].length };
  }
  return null;
}

/**
 * A classifier with its zone and patterns fixed. `classify` is synchronous and pure: the
 * same text and `now` always give the same answer.
 */
export class QuotaClassifier {
  readonly zone: string;
  private readonly user: ReturnType<typeof compileUser>;

  constructor(
    private readonly L: LuxonModule,
    opts: ClassifierOptions = {},
  ) {
    const tz = opts.timezone ?? null;
    if (tz !== null) {
      const known = resolveZoneName(L, tz);
      if (!known) throw new ConfigError(`quota.timezone: unknown time zone ${JSON.stringify(tz)}`);
      this.zone = known;
    } else {
      this.zone = systemZone(L);
    }
    this.user = compileUser(opts.patterns);
  }

  /** Classifies a whole capture (or one line); see the module comment for the rules. */
  classify(text: string, now: Date): QuotaExplanation {
    const lines = logicalLines(normalizeText(text));
    const matches: LineVerdict[] = [];
    for (const line of lines) {
      const v = this.classifyLogical(line, now);
      if (v) matches.push(v);
    }
    const best = pickBest(matches);
    return {
      verdict: best?.verdict ?? 'none',
      kind: best?.kind ?? null,
      resetsAt: best?.resetsAt ?? null,
      resetText: best?.resetText ?? null,
      pattern: best?.pattern ?? null,
      line: best?.line ?? null,
      lineNumber: best?.lineNumber ?? null,
      zone: this.zone,
      notes: best?.notes ?? [],
      matches,
    };
  }

  /** Classifies one line of text; null when nothing matched. */
  classifyLine(text: string, now: Date): LineVerdict | null {
    const lines = logicalLines(normalizeText(text.replace(/\n/g, ' ')));
    return lines[0] ? this.classifyLogical(lines[0], now) : null;
  }

  private classifyLogical(line: LogicalLine, now: Date): LineVerdict | null {
    const found = this.match(line);
    return found ? this.finish(line, now, found) : null;
  }

  /** The first rule that matches the line (order in the module comment). */
  private match(line: LogicalLine): Found | null {
    const text = line.text;
    const user = (list: CompiledUser[], kind: KindHint): PatternHit | null => {
      const u = userHit(list, text);
      return u ? { name: `user:${u.source}`, kind, index: u.index, resetFrom: u.end } : null;
    };
    // Built-in limit and warning patterns do not fire on a guarded physical line.
    const unguarded = (h: PatternHit | null) =>
      h && !builtin.guard(segmentAt(line, h.index).text) ? h : null;

    let hit = user(this.user.ignore, 'unknown');
    if (hit) return { verdict: 'none', hit };
    hit = user(this.user.transient, 'unknown');
    if (hit) return { verdict: 'transient', hit };
    hit = builtin.transientStrong(text);
    if (hit) {
      // A 429 retry row that waits LONG_RETRY_MS or more is the account's limit.
      const long = hit.name === 'transient.retrying' ? unguarded(builtin.longRetry(text)) : null;
      return long ? { verdict: 'limit', hit: long } : { verdict: 'transient', hit };
    }
    hit = user(this.user.limit, kindFromText(text));
    if (hit) return { verdict: 'limit', hit, resetAnywhere: true };
    hit = unguarded(builtin.modelFallback(text));
    if (hit) return { verdict: 'warning', hit };
    hit = unguarded(builtin.limit(text));
    if (hit) return { verdict: 'limit', hit };
    hit = user(this.user.warning, kindFromText(text));
    if (hit) return { verdict: 'warning', hit, resetAnywhere: true };
    hit = unguarded(builtin.warning(text));
    if (hit) return { verdict: 'warning', hit };
    hit = builtin.auth(text);
    if (hit) return { verdict: 'none', hit };
    hit = builtin.transientWeak(text);
    if (hit) return { verdict: 'transient', hit };
    for (const seg of line.segments) {
      const g = builtin.guard(seg.text);
      if (g) {
        const end = seg.start + seg.text.length;
        return { verdict: 'none', hit: { ...g, index: seg.start, resetFrom: end } };
      }
    }
    return null;
  }

  /** Reset time, stale check and kind for a matched line. */
  private finish(
    line: LogicalLine,
    now: Date,
    { verdict, hit, resetAnywhere }: Found,
  ): LineVerdict {
    const quota = verdict === 'limit' || verdict === 'warning';
    let phrase: ResetPhrase | null = null;
    if (quota) {
      phrase =
        hit.reset ??
        (hit.epoch
          ? epochPhrase(hit.epoch.digits, hit.epoch.index)
          : (findResetPhrase(line.text, hit.resetFrom) ??
            (resetAnywhere ? findResetPhrase(line.text, 0) : null)));
    }
    let resetsAt: Date | null = null;
    let stale = false;
    let zone: string | null = null;
    const notes: string[] = [];
    if (phrase) {
      const r = resolveReset(this.L, phrase.spec, now, this.zone);
      resetsAt = r.at;
      stale = r.stale;
      zone = r.zone;
      notes.push(...r.notes);
    }
    const kind: QuotaKind | null = !quota
      ? null
      : hit.kind === 'infer'
        ? inferKind(resetsAt, stale, now)
        : hit.kind === 'reject'
          ? 'unknown'
          : hit.kind;
    const end = phrase ? Math.max(hit.resetFrom, phrase.end) : hit.resetFrom;
    return {
      verdict: verdict === 'limit' && stale ? 'stale' : verdict,
      kind,
      resetsAt: resetsAt ? resetsAt.toISOString() : null,
      resetText: phrase ? phrase.text : null,
      pattern: hit.name,
      line: spanText(line, hit.index, end) || collapse(line.text),
      lineNumber: segmentAt(line, hit.index).lineNumber,
      aux: Boolean(hit.aux),
      generic: quota && hit.kind === 'infer',
      zone,
      notes,
    };
  }
}

/** A limit without a stated window: a reset within 5 h is the session window, later is weekly. */
function inferKind(resetsAt: Date | null, stale: boolean, now: Date): QuotaKind {
  if (!resetsAt || stale) return 'unknown';
  return resetsAt.getTime() - now.getTime() <= SESSION_MAX_MS ? 'session' : 'weekly';
}

const sameInstant = (a: string | null, b: string) =>
  a !== null && Math.abs(Date.parse(a) - Date.parse(b)) < 60_000;

const NONE_RANK = (v: LineVerdict) =>
  v.pattern?.startsWith('user:') ? 3 : v.pattern?.startsWith('auth.') ? 2 : v.pattern ? 1 : 0;

function pickBest(matches: LineVerdict[]): LineVerdict | null {
  const primaryLimitSeen = matches.some(
    (m) => !m.aux && (m.verdict === 'limit' || m.verdict === 'stale'),
  );
  let best: LineVerdict | null = null;
  for (const m of matches) {
    if (m.aux && primaryLimitSeen) continue;
    if (!best) {
      best = m;
      continue;
    }
    const a = VERDICT_RANK[m.verdict];
    const b = VERDICT_RANK[best.verdict];
    if (a > b) best = m;
    else if (a === b) {
      // Among limit lines, one that says when it resets beats a later one that does not, and
      // beats a later one naming no window with the same reset: Claude Code 2.1.328 follows
      // "You've hit your 5-hour limit · resets 4:44pm (UTC)" with "Usage limit reached ·
      // continuing automatically at 4:44pm" and a footer "Usage limit reached · limit resets
      // 4:44pm", the same limit told again.
      if (m.verdict === 'limit' && best.resetsAt && !m.resetsAt) continue;
      if (
        m.verdict === 'limit' &&
        m.generic &&
        best.resetsAt &&
        sameInstant(m.resetsAt, best.resetsAt)
      )
        continue;
      // Later lines are more recent; among `none` lines prefer the informative ones.
      if (m.verdict !== 'none' || NONE_RANK(m) >= NONE_RANK(best)) {
        // A primary limit beats aux evidence even when earlier.
        if (!(m.aux && !best.aux)) best = m;
      }
    }
  }
  return best;
}
