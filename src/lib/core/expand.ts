/** Expansion helpers for config values: `~`, `${ENV}` and `{a..b}` ranges. */
import os from 'node:os';
import path from 'node:path';

/** Expands a leading `~` or `~/` to the home directory. `~user` is left alone. */
export function expandHome(p: string, home = os.homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

/**
 * Expands `${VAR}` and `${VAR:-default}` from `env`. `$$` stays a literal `$`.
 * An unset variable without a default becomes the empty string and is reported through
 * `onMissing`, so a caller can warn without printing the (possibly secret) value.
 */
export function expandEnv(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  onMissing?: (name: string) => void,
): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
    (whole, name: string | undefined, fallback: string | undefined) => {
      if (whole === '$$') return '$';
      const value = env[name!];
      if (value !== undefined && value !== '') return value;
      if (fallback !== undefined) return fallback;
      onMissing?.(name!);
      return '';
    },
  );
}

/** Walks a parsed YAML/JSON value and expands `${ENV}` in every string. */
export function expandEnvDeep(
  value: unknown,
  env: NodeJS.ProcessEnv = process.env,
  onMissing?: (name: string, keyPath: string) => void,
  keyPath = '',
): unknown {
  if (typeof value === 'string') {
    return expandEnv(value, env, onMissing && ((name) => onMissing(name, keyPath)));
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => expandEnvDeep(v, env, onMissing, `${keyPath}[${i}]`));
  }
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = expandEnvDeep(v, env, onMissing, keyPath ? `${keyPath}.${k}` : k);
    }
    return out;
  }
  return value;
}

const RANGE_RE = /\{(\d+)\.\.(\d+)\}/;
const MAX_RANGE_EXPANSION = 1000;

/**
 * Expands `{a..b}` ranges in a name: `ccl-{0..2}` gives `ccl-0`, `ccl-1`, `ccl-2`.
 * Several ranges multiply. A range written with leading zeros (`{01..10}`) keeps the width.
 * Descending ranges count down. Throws when the expansion would exceed MAX_RANGE_EXPANSION.
 */
export function expandRanges(pattern: string): string[] {
  const m = RANGE_RE.exec(pattern);
  if (!m) return [pattern];
  const [whole, aText, bText] = m as unknown as [string, string, string];
  const a = Number(aText);
  const b = Number(bText);
  const width = aText.length > 1 && aText.startsWith('0') ? aText.length : 0;
  const count = Math.abs(b - a) + 1;
  if (count > MAX_RANGE_EXPANSION) {
    throw new RangeError(
      `range {${aText}..${bText}} expands to ${count} names (max ${MAX_RANGE_EXPANSION})`,
    );
  }
  const step = b >= a ? 1 : -1;
  const head = pattern.slice(0, m.index);
  const tail = pattern.slice(m.index + whole.length);
  const out: string[] = [];
  for (let i = 0, n = a; i < count; i++, n += step) {
    const num = width ? String(n).padStart(width, '0') : String(n);
    for (const rest of expandRanges(tail)) out.push(`${head}${num}${rest}`);
    if (out.length > MAX_RANGE_EXPANSION) {
      throw new RangeError(`'${pattern}' expands to more than ${MAX_RANGE_EXPANSION} names`);
    }
  }
  return out;
}
