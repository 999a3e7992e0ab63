/** Parsing of the config's human units: durations (`30s`, `5m`, `2h`, `7d`) and sizes (`10MB`). */

const DURATION_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)/gi;

/**
 * Parses a duration such as `30s`, `5m`, `1h30m` or `7d` to milliseconds.
 * A bare number is taken as seconds. Returns undefined when the text is not a duration.
 */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number')
    return Number.isFinite(input) && input >= 0 ? input * 1000 : undefined;
  const text = input.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (DURATION_RE.test(text)) {
    const m = DURATION_RE.exec(text)!;
    return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!);
  }
  // Compound forms such as `1h30m`: the parts must cover the whole text.
  let total = 0;
  let consumed = '';
  for (const m of text.matchAll(DURATION_PART_RE)) {
    total += Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!;
    consumed += m[0];
  }
  if (consumed.length > 0 && consumed.replace(/\s+/g, '') === text.replace(/\s+/g, '')) {
    return Math.round(total);
  }
  return undefined;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
};

/** Parses a size such as `10MB`, `512k` or `1GiB` to bytes (binary multiples). */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(input);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase() || 'b';
  const mult = SIZE_UNITS[unit];
  if (mult === undefined) return undefined;
  return Math.round(Number(m[1]) * mult);
}

/** Formats milliseconds compactly for humans: `45s`, `5m`, `2h 13m`. */
export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h}h ${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d ${h % 24}h` : `${d}d`;
}

/** Formats bytes compactly for humans, in binary multiples: `512B`, `300KB`, `1.5GB`. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 || v >= 10 ? Math.round(v) : v.toFixed(1)}${units[i]}`;
}
