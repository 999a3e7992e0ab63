/**
 * The pane-text classifier: per logical line, then the most relevant line of the capture.
 *
 * Per line, first match wins:
 *   1. your `ignore` patterns: the line is dropped;
 *   2. transient (your `transient` patterns, then the built-in transient markers: 5xx, 529,
 *      overloaded, timeouts, connection errors, retry rows, "not your usage limit");
 *   3. your `limit` patterns;
 *   4. built-in limit patterns (not on a physical line that is a /usage panel, a context
 *      warning, a GitHub rate limit or a usage monitor);
 *   5. your `warning` patterns, then built-in warnings (same guard);
 *   6. `auth.login-required` (verdict none), then weak transient evidence (other API errors);
 *   7. none.
 * A limit whose reset time is already past is `stale`.
 *
 * For the whole text: limit > warning > transient > stale > none, where a limit is the
 * last primary limit line (aux evidence such as the /rate-limit-options menu counts only
 * when no primary limit line, stale or not, is present). Within a verdict the last line
 * wins: it is the most recent.
 */
import type * as Luxon from 'luxon';
import { ConfigError } from '../errors.js';
import {
  builtin,
  kindFromText,
  type KindHint,
  type PatternHit,
  type QuotaKind,
  type Verdict,
} from './patterns.js';
import {
  epochPhrase,
  findResetPhrase,
  resolveReset,
  resolveZoneName,
  systemZone,
  type ResetPhrase,
} from './reset-time.js';
import {
  collapse,
  logicalLines,
  normalizeText,
  segmentAt,
  spanText,
  type LogicalLine,
} from './text.js';

export type { QuotaKind, Verdict } from './patterns.js';

/** SPEC section 6: what `quota explain --json` prints. */
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
    const text = line.text;
    const ignored = userHit(this.user.ignore, text);
    if (ignored) {
      return this.result(
        line,
        now,
        'none',
        null,
        `user:${ignored.source}`,
        ignored.index,
        ignored.end,
        null,
      );
    }

    const userTransient = userHit(this.user.transient, text);
    if (userTransient) {
      return this.result(
        line,
        now,
        'transient',
        null,
        `user:${userTransient.source}`,
        userTransient.index,
        userTransient.end,
        null,
      );
    }
    const strong = builtin.transientStrong(text);
    if (strong) return this.fromHit(line, now, 'transient', strong, false);

    const userLimit = userHit(this.user.limit, text);
    if (userLimit) {
      const hit: PatternHit = {
        name: `user:${userLimit.source}`,
        kind: kindFromText(text),
        index: userLimit.index,
        resetFrom: userLimit.index,
      };
      return this.fromHit(line, now, 'limit', hit, true);
    }

    const guarded = (h: PatternHit | null) =>
      h && builtin.guard(segmentAt(line, h.index).text) ? null : h;
    const fallback = guarded(builtin.modelFallback(text));
    if (fallback) return this.fromHit(line, now, 'warning', fallback, false);
    const limit = guarded(builtin.limit(text));
    if (limit) return this.fromHit(line, now, 'limit', limit, false);

    const userWarning = userHit(this.user.warning, text);
    if (userWarning) {
      const hit: PatternHit = {
        name: `user:${userWarning.source}`,
        kind: kindFromText(text),
        index: userWarning.index,
        resetFrom: userWarning.index,
      };
      return this.fromHit(line, now, 'warning', hit, true);
    }
    const warn = guarded(builtin.warning(text));
    if (warn) return this.fromHit(line, now, 'warning', warn, false);

    const auth = builtin.auth(text);
    if (auth) return this.fromHit(line, now, 'none', auth, false);
    const weak = builtin.transientWeak(text);
    if (weak) return this.fromHit(line, now, 'transient', weak, false);
    for (const seg of line.segments) {
      const g = builtin.guard(seg.text);
      if (g)
        return this.result(
          line,
          now,
          'none',
          null,
          g.name,
          seg.start,
          seg.start + seg.text.length,
          null,
        );
    }
    return null;
  }

  private fromHit(
    line: LogicalLine,
    now: Date,
    verdict: Verdict,
    hit: PatternHit,
    searchWholeLine: boolean,
  ): LineVerdict {
    let phrase: ResetPhrase | null = null;
    if (verdict === 'limit' || verdict === 'warning') {
      phrase = hit.epoch
        ? epochPhrase(hit.epoch.digits, hit.epoch.index)
        : (findResetPhrase(line.text, hit.resetFrom) ??
          (searchWholeLine ? findResetPhrase(line.text, 0) : null));
    }
    const v = this.result(line, now, verdict, hit.kind, hit.name, hit.index, hit.resetFrom, phrase);
    v.aux = Boolean(hit.aux);
    return v;
  }

  private result(
    line: LogicalLine,
    now: Date,
    verdict: Verdict,
    kindHint: KindHint | null,
    pattern: string,
    from: number,
    to: number,
    phrase: ResetPhrase | null,
  ): LineVerdict {
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
    let kind: QuotaKind | null = null;
    if (verdict === 'limit' || verdict === 'warning') {
      kind =
        kindHint === null || kindHint === 'reject'
          ? 'unknown'
          : kindHint === 'infer'
            ? inferKind(resetsAt, stale, now)
            : kindHint;
    }
    const end = phrase ? Math.max(to, phrase.end) : to;
    return {
      verdict: verdict === 'limit' && stale ? 'stale' : verdict,
      kind,
      resetsAt: resetsAt ? resetsAt.toISOString() : null,
      resetText: phrase ? phrase.text : null,
      pattern,
      line: spanText(line, from, end) || collapse(line.text),
      lineNumber: segmentAt(line, from).lineNumber,
      aux: false,
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
      // Later lines are more recent; among `none` lines prefer the informative ones.
      if (m.verdict !== 'none' || NONE_RANK(m) >= NONE_RANK(best)) {
        // A primary limit beats aux evidence even when earlier.
        if (!(m.aux && !best.aux)) best = m;
      }
    }
  }
  return best;
}
