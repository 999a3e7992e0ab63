/**
 * Finding the reset phrase of a limit message, pure text work: `resets 5am`, `resets Oct 9,
 * 10am (Europe/Berlin)`, `resets Mon 12:00am`, `tomorrow at 3pm`, `in 2h 13m`, `shortly`,
 * an epoch. What the phrase means at a given `now` is reset-time.ts's part.
 */

export type ResetSpec =
  | { type: 'epoch'; ms: number }
  | { type: 'relative'; ms: number }
  /** The reset time has come ("continuing automatically shortly"). */
  | { type: 'due' }
  | {
      type: 'wall';
      year: number | null;
      month: number | null;
      day: number | null;
      weekday: number | null;
      /** 0 today, 1 tomorrow */
      dayOffset: number | null;
      hour: number;
      minute: number;
      second: number;
      /** true when the text gave a time of day */
      hasTime: boolean;
      zone: string | null;
    };

export interface ResetPhrase {
  spec: ResetSpec;
  /** The phrase as written (spaces collapsed), e.g. `resets 3:30am (Asia/Calcutta)`. */
  text: string;
  start: number;
  end: number;
}

const INTRO =
  /\b(?:(?:your\s+|the\s+)?(?:usage\s+|session\s+|weekly\s+)?limits?\s+(?:will\s+)?resets?|resets?|resetting)\b/giu;

const MONTHS = [
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'oct',
  'nov',
  'dec',
] as const;
const MONTH =
  '(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)';
const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

const RE = {
  lead: /\s*(?:(?:at|on|by)\b\s*)?:?\s*/iy,
  relative: /in\s+/iy,
  // `2h 13m`, `48m`, `1h02m`, `2892 seconds`, `1.5 hours`, `500ms`
  duration:
    /(\d+(?:\.\d+)?)\s*(ms|milliseconds?|d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)(?!\p{L})\s*,?\s*(?:and\s+)?/iuy,
  due: /\s*(shortly|soon)\b/iy,
  weekday:
    /(mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\.?(?=[\s,)·]|$)/iy,
  dayWord: /(today|tonight|tomorrow)\b/iy,
  gap: /\s*,?\s*/y,
  monthDay: new RegExp(`${MONTH}\\.?\\s+(\\d{1,2})(?:st|nd|rd|th)?\\b(?:,?\\s+(\\d{4})\\b)?`, 'iy'),
  dayMonth: new RegExp(`(\\d{1,2})(?:st|nd|rd|th)?\\s+${MONTH}\\b\\.?(?:,?\\s+(\\d{4})\\b)?`, 'iy'),
  isoDate: /(\d{4})-(\d{2})-(\d{2})(?=\b|T)/y,
  sep: /\s*(?:,|T)?\s*(?:at\s+)?/iy,
  clock12: /(\d{1,2})(?::(\d{2})(?::(\d{2}))?)?\s*([ap])\.?\s?m\b\.?/iy,
  clock24: /(\d{1,2}):(\d{2})(?::(\d{2}))?\b(?!\s*[ap]\.?\s?m\b)/iy,
  noon: /(noon|midnight)\b/iy,
  zoneParen: /\s*\(([^()]{1,64})\)/y,
  zoneBare: /\s+((?:UTC|GMT)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?|[A-Za-z]+\/[A-Za-z0-9_+\-/]+)\b/y,
};

function at(re: RegExp, s: string, pos: number): RegExpExecArray | null {
  re.lastIndex = pos;
  return re.exec(s);
}

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 };

function unitMs(unit: string): number {
  const u = unit.toLowerCase();
  return u === 'ms' || u.startsWith('milli') ? 1 : UNIT_MS[u[0]!]!;
}

/**
 * A duration written at `start` (`2h 13m`, `48m`, `1h02m`, `2892 seconds`), in ms, and where
 * it ends; null when there is none.
 */
export function parseDuration(s: string, start: number): { ms: number; end: number } | null {
  let p = start;
  let ms = 0;
  let units = 0;
  for (let m = at(RE.duration, s, p); m; m = at(RE.duration, s, p)) {
    ms += Number(m[1]) * unitMs(m[2]!);
    p += m[0].length;
    units++;
  }
  return units ? { ms: Math.round(ms), end: s.slice(0, p).trimEnd().length } : null;
}

/** Parses the time part after an intro (`at 3pm`, `Nov 13 at 9am`, `in 2h 13m`). */
function parseWhen(s: string, start: number): { spec: ResetSpec; end: number } | null {
  let pos = at(RE.lead, s, start)?.[0].length ?? 0;
  pos += start;

  const rel = at(RE.relative, s, pos);
  if (rel) {
    const d = parseDuration(s, pos + rel[0].length);
    return d ? { spec: { type: 'relative', ms: d.ms }, end: d.end } : null;
  }

  let weekday: number | null = null;
  let dayOffset: number | null = null;
  let year: number | null = null;
  let month: number | null = null;
  let day: number | null = null;

  let dayWordEnd = -1;
  const wd = at(RE.weekday, s, pos);
  if (wd) {
    weekday = WEEKDAYS.indexOf(wd[1]!.toLowerCase().slice(0, 3) as (typeof WEEKDAYS)[number]) + 1;
    pos += wd[0].length;
    dayWordEnd = pos;
    pos += at(RE.gap, s, pos)![0].length;
  } else {
    const dw = at(RE.dayWord, s, pos);
    if (dw) {
      dayOffset = dw[1]!.toLowerCase() === 'tomorrow' ? 1 : 0;
      pos += dw[0].length;
      dayWordEnd = pos;
      pos += at(RE.gap, s, pos)![0].length;
    }
  }

  let dateEnd = -1;
  const md = at(RE.monthDay, s, pos);
  const dm = md ? null : at(RE.dayMonth, s, pos);
  const iso = md || dm ? null : at(RE.isoDate, s, pos);
  if (md) {
    month = MONTHS.indexOf(md[1]!.toLowerCase().slice(0, 3) as (typeof MONTHS)[number]) + 1;
    day = Number(md[2]);
    year = md[3] ? Number(md[3]) : null;
    dateEnd = pos + md[0].length;
  } else if (dm) {
    day = Number(dm[1]);
    month = MONTHS.indexOf(dm[2]!.toLowerCase().slice(0, 3) as (typeof MONTHS)[number]) + 1;
    year = dm[3] ? Number(dm[3]) : null;
    dateEnd = pos + dm[0].length;
  } else if (iso) {
    year = Number(iso[1]);
    month = Number(iso[2]);
    day = Number(iso[3]);
    dateEnd = pos + iso[0].length;
  }
  if (day !== null && (day < 1 || day > 31 || month! < 1 || month! > 12)) return null;
  if (dateEnd >= 0) pos = dateEnd;
  const dayEnd = dateEnd >= 0 ? dateEnd : dayWordEnd;
  if (dayEnd >= 0) pos = dayEnd + (at(RE.sep, s, dayEnd)?.[0].length ?? 0);

  let hour = 0;
  let minute = 0;
  let second = 0;
  let hasTime = false;
  let end = dayEnd;
  const c12 = at(RE.clock12, s, pos);
  const c24 = c12 ? null : at(RE.clock24, s, pos);
  const nm = c12 || c24 ? null : at(RE.noon, s, pos);
  if (c12) {
    const h = Number(c12[1]);
    minute = c12[2] ? Number(c12[2]) : 0;
    if (h < 1 || h > 12 || minute > 59 || (c12[3] && Number(c12[3]) > 59)) return null;
    second = c12[3] ? Number(c12[3]) : 0;
    hour = (h % 12) + (c12[4]!.toLowerCase() === 'p' ? 12 : 0);
    hasTime = true;
    end = pos + c12[0].replace(/\.$/, '').length;
  } else if (c24) {
    hour = Number(c24[1]);
    minute = Number(c24[2]);
    second = c24[3] ? Number(c24[3]) : 0;
    if (hour > 23 || minute > 59) return null;
    hasTime = true;
    end = pos + c24[0].length;
  } else if (nm) {
    hour = nm[1]!.toLowerCase() === 'noon' ? 12 : 0;
    hasTime = true;
    end = pos + nm[0].length;
  }
  // A reset needs a time of day or a day; a day alone means that whole day.
  if (!hasTime && day === null && weekday === null && dayOffset === null) return null;

  let zone: string | null = null;
  const zp = at(RE.zoneParen, s, end);
  const zb = zp ? null : at(RE.zoneBare, s, end);
  if (zp) {
    zone = zp[1]!.trim();
    end += zp[0].length;
  } else if (zb) {
    zone = zb[1]!.replace(/\s+/g, '');
    end += zb[0].length;
  }
  return {
    spec: {
      type: 'wall',
      year,
      month,
      day,
      weekday,
      dayOffset,
      hour,
      minute,
      second: second > 59 ? 59 : second,
      hasTime,
      zone,
    },
    end,
  };
}

/**
 * Finds the first reset phrase in `text` at or after `from`: `resets 5am`, `resets at 3pm`,
 * `Your limit will reset at Oct 6, 6pm`, `resets in 2h 13m`, with an optional `(Zone)`.
 */
export function findResetPhrase(text: string, from = 0): ResetPhrase | null {
  INTRO.lastIndex = from;
  for (let m = INTRO.exec(text); m; m = INTRO.exec(text)) {
    const parsed = parseWhen(text, m.index + m[0].length);
    if (parsed) {
      return {
        spec: parsed.spec,
        text: text.slice(m.index, parsed.end).replace(/\s+/g, ' ').trim(),
        start: m.index,
        end: parsed.end,
      };
    }
    INTRO.lastIndex = m.index + m[0].length;
  }
  return null;
}

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();

/**
 * A reset time written right at `from` without an intro word: Claude Code's auto-continue
 * notice (`continuing automatically at 4:44pm`, `... at Nov 26, 9am`, `... shortly`), or,
 * with `bare`, a time with no `at` (the `(9:44pm)` of a retry row).
 */
export function findWhenPhrase(text: string, from: number, bare = false): ResetPhrase | null {
  const due = bare ? null : at(RE.due, text, from);
  if (due) {
    const end = from + due[0].length;
    return { spec: { type: 'due' }, text: collapse(text.slice(from, end)), start: from, end };
  }
  const parsed = parseWhen(text, from);
  // `continuing automatically when the limit resets` names no time.
  if (!parsed || parsed.spec.type !== 'wall') return null;
  if (!bare && !/^\s*at\b/i.test(text.slice(from))) return null;
  return {
    spec: parsed.spec,
    text: collapse(text.slice(from, parsed.end)),
    start: from,
    end: parsed.end,
  };
}

/** An epoch in seconds (10 digits) or milliseconds (13 digits). */
export function epochPhrase(digits: string, start: number): ResetPhrase {
  const n = Number(digits);
  return {
    spec: { type: 'epoch', ms: digits.length >= 13 ? n : n * 1000 },
    text: digits,
    start,
    end: start + digits.length,
  };
}
