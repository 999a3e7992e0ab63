/**
 * Reset times in limit messages: resolving a phrase found by reset-phrase.ts to an instant
 * (luxon, for every zone rule and DST edge; no hand-made offset arithmetic).
 *
 * Rules (see README "How detection decides"):
 * - clock only (`resets 5am`): the occurrence nearest `now`, within ±12 h; past means stale;
 * - date and clock (`resets Oct 9, 10am`): a date without a year takes the year that puts
 *   it nearest `now`; past means stale;
 * - weekday (`resets Mon 12:00am`): the first such day and time after `now - 12h`, so a
 *   message whose reset passed less than 12 h ago is stale and otherwise it is up to a week
 *   ahead;
 * - `today`/`tomorrow at ...`: that day, as written;
 * - a date without a time (`resets Oct 24`, `resets Mon`, `resets tomorrow`): the limit is
 *   in force until that day is over in its zone, so the reset is the next midnight there
 *   (it is not stale from the day's own midnight);
 * - relative (`resets in 2h 13m`): `now` plus the duration; never stale;
 * - `shortly` (Claude Code's auto-continue notice when the reset has already passed): stale;
 * - epoch (`...limit reached|1749855600`): exact;
 * - a zone in the text (`(Africa/Cairo)`, `(UTC)`, `(Etc/GMT+5)`) is used; otherwise the
 *   default zone (`--tz`, `quota.timezone`, the system zone). A zone luxon does not know
 *   falls back to the default zone, with a note.
 * - DST: a wall time that does not exist (spring forward) moves forward by the gap; one that
 *   exists twice (fall back) takes whichever of the two instants is nearer `now`.
 */
import type * as Luxon from 'luxon';
import type { ResetSpec } from './reset-phrase.js';

export interface ResolvedReset {
  at: Date | null;
  stale: boolean;
  /** The zone the wall time was read in (null for epoch and relative times). */
  zone: string | null;
  notes: string[];
}

type LuxonModule = typeof Luxon;

/** Maps what messages print to a zone luxon understands; null when it is unknown. */
export function resolveZoneName(L: LuxonModule, name: string): string | null {
  const n = name.trim();
  if (/^(?:utc|gmt|z|zulu)$/i.test(n)) return 'UTC';
  // `UTC+2` / `GMT-05:00` as printed by people: a fixed offset (not POSIX Etc/GMT signs).
  const off = /^(?:utc|gmt)\s*([+-])(\d{1,2})(?::?(\d{2}))?$/i.exec(n);
  if (off) {
    const spec = `UTC${off[1]}${Number(off[2])}${off[3] && off[3] !== '00' ? `:${off[3]}` : ''}`;
    const z = L.Info.normalizeZone(spec);
    return z && z.isValid ? spec : null;
  }
  if (!/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(n)) return null;
  return L.IANAZone.isValidZone(n) ? n : null;
}

/** The system zone as luxon sees it. */
export function systemZone(L: LuxonModule): string {
  return L.DateTime.local().zoneName ?? 'UTC';
}

const STALE_GRACE_MS = 12 * 3_600_000;

interface Candidate {
  dt: Luxon.DateTime;
  note?: string;
}

/** Every instant at which the wall clock in `zone` reads that date and time (0, 1 or 2). */
function instants(
  L: LuxonModule,
  zone: string,
  y: number,
  mo: number,
  d: number,
  h: number,
  mi: number,
): Candidate[] {
  const dt = L.DateTime.fromObject({ year: y, month: mo, day: d, hour: h, minute: mi }, { zone });
  if (!dt.isValid || dt.day !== d) return []; // e.g. Feb 30
  if (dt.hour !== h || dt.minute !== mi) {
    // Spring forward: luxon moves a wall time inside the gap forward by the gap.
    const wall = `${String(h).padStart(2, '0')}:${String(mi).padStart(2, '0')}`;
    return [
      {
        dt,
        note: `${wall} does not exist on ${dt.toISODate()} in ${zone} (DST gap); read as ${dt.toFormat('HH:mm ZZ')}`,
      },
    ];
  }
  // Fall back: the same wall time happens twice; offer both instants.
  const out: Candidate[] = [{ dt }];
  for (const delta of [-120, -60, -30, 30, 60, 120]) {
    const alt = dt.plus({ minutes: delta });
    if (alt.hour === h && alt.minute === mi && alt.day === d) out.push({ dt: alt });
  }
  return out;
}

/**
 * A reset given as a day without a time (`resets Oct 24`): the limit holds until that day is
 * over in `zone`, so the instant is the next midnight there.
 */
function dayOver(L: LuxonModule, zone: string, y: number, mo: number, d: number): Candidate[] {
  const start = L.DateTime.fromObject({ year: y, month: mo, day: d }, { zone });
  if (!start.isValid || start.day !== d) return [];
  return [
    {
      dt: start.plus({ days: 1 }).startOf('day'),
      note: `a day without a time: in force until ${start.toISODate()} is over in ${zone}`,
    },
  ];
}

function nearest(cands: Candidate[], nowMs: number): Candidate | null {
  let best: Candidate | null = null;
  let bestDist = Infinity;
  for (const c of cands) {
    const ms = c.dt.toMillis();
    const dist = Math.abs(ms - nowMs);
    // On a tie, prefer the future: a limit that is not over yet.
    if (dist < bestDist || (dist === bestDist && best && ms > best.dt.toMillis())) {
      best = c;
      bestDist = dist;
    }
  }
  return best;
}

/** Resolves a reset phrase at detection time `now`. */
export function resolveReset(
  L: LuxonModule,
  spec: ResetSpec,
  now: Date,
  defaultZone: string,
): ResolvedReset {
  const nowMs = now.getTime();
  const notes: string[] = [];
  if (spec.type === 'due') {
    notes.push('Claude Code continues "shortly": the reset time has already passed');
    return { at: now, stale: true, zone: null, notes };
  }
  if (spec.type === 'epoch' || spec.type === 'relative') {
    const ms = spec.type === 'epoch' ? spec.ms : nowMs + spec.ms;
    return { at: new Date(ms), stale: ms <= nowMs, zone: null, notes };
  }

  let zone = defaultZone;
  if (spec.zone) {
    const known = resolveZoneName(L, spec.zone);
    if (known) zone = known;
    else notes.push(`unknown time zone "${spec.zone}" in the message; read it in ${defaultZone}`);
  }
  const nowZ = L.DateTime.fromMillis(nowMs, { zone });
  const { hour, minute } = spec;
  const onDay = (y: number, mo: number, d: number) =>
    spec.hasTime ? instants(L, zone, y, mo, d, hour, minute) : dayOver(L, zone, y, mo, d);
  let pick: Candidate | null = null;

  if (spec.month !== null && spec.day !== null) {
    const years = spec.year !== null ? [spec.year] : [nowZ.year - 1, nowZ.year, nowZ.year + 1];
    const cands = years.flatMap((y) => onDay(y, spec.month!, spec.day!));
    pick = nearest(cands, nowMs);
  } else if (spec.weekday !== null) {
    const cands: Candidate[] = [];
    for (let d = -1; d <= 8; d++) {
      const day = nowZ.startOf('day').plus({ days: d });
      if (day.weekday !== spec.weekday) continue;
      cands.push(...onDay(day.year, day.month, day.day));
    }
    const after = cands
      .filter((c) => c.dt.toMillis() > nowMs - STALE_GRACE_MS)
      .sort((a, b) => a.dt.toMillis() - b.dt.toMillis());
    pick = after[0] ?? null;
  } else if (spec.dayOffset !== null) {
    const day = nowZ.startOf('day').plus({ days: spec.dayOffset });
    pick = nearest(onDay(day.year, day.month, day.day), nowMs);
  } else {
    const cands: Candidate[] = [];
    for (const d of [-1, 0, 1]) {
      const day = nowZ.startOf('day').plus({ days: d });
      cands.push(...instants(L, zone, day.year, day.month, day.day, hour, minute));
    }
    pick = nearest(cands, nowMs);
  }

  if (!pick) {
    notes.push('the reset date does not exist; no reset time');
    return { at: null, stale: false, zone, notes };
  }
  if (pick.note) notes.push(pick.note);
  const ms = pick.dt.toMillis() + spec.second * 1000;
  return { at: new Date(ms), stale: ms <= nowMs, zone, notes };
}
