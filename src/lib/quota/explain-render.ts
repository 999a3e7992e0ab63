/** The text `quota explain` shows a human; `--json` prints only the verdict. */
import type { Palette } from '../core/output.js';
import { formatDuration } from '../core/units.js';
import type { ExplainSettings } from './explain.js';
import { loadLuxon, LONG_RETRY_MS, type QuotaExplanation } from './index.js';

const WHY: Record<string, string> = {
  'limit+reset': 'a usage limit with a reset time: quota check confirms it at once',
  limit:
    'a usage limit without a reset time: quota check suspects it, and confirms it when the next poll sees it again',
  stale: 'a limit message whose reset time has passed: the limit is over, the message is ignored',
  warning: 'approaching a limit, or a notice: work continues, no swap',
  transient: 'server or network trouble: never a swap, whatever words it contains',
  none: 'nothing here counts as a usage limit',
  auth: 'the account needs a login: not a quota (no swap for a limit)',
  notice:
    "Claude Code's auto-continue notice (the wait was cancelled, or the limit is over): not a new limit",
  'long-retry': `a rate-limit retry that waits ${LONG_RETRY_MS / 60_000} minutes or more: a limit, confirmed at once, until its reset`,
};

/** The human text of `quota explain`: the verdict, why, and the other lines that matched. */
export async function explanationText(
  r: QuotaExplanation,
  s: ExplainSettings,
  source: string,
  c: Palette,
): Promise<string> {
  const L = await loadLuxon();
  const color =
    r.verdict === 'limit'
      ? c.red
      : r.verdict === 'warning' || r.verdict === 'stale'
        ? c.yellow
        : r.verdict === 'transient'
          ? c.cyan
          : c.green;
  const rows: [string, string][] = [];
  rows.push(['verdict', color(r.verdict) + (r.kind ? ` (${r.kind})` : '')]);
  if (r.resetsAt) {
    const at = L.DateTime.fromISO(r.resetsAt, { zone: 'utc' });
    const zone = r.matches.find((m) => m.lineNumber === r.lineNumber)?.zone ?? s.timezone;
    const ms = at.toMillis() - s.now.getTime();
    const rel = ms > 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`;
    rows.push([
      'resets at',
      `${r.resetsAt}  (${at.setZone(zone).toFormat('ccc d LLL yyyy, HH:mm')} ${zone}; ${rel})`,
    ]);
  }
  if (r.resetText) rows.push(['reset text', r.resetText]);
  if (r.pattern) rows.push(['pattern', r.pattern]);
  if (r.line) rows.push([`line ${r.lineNumber ?? ''}`.trim(), r.line]);
  const key =
    r.verdict === 'limit' && r.pattern === 'limit.rate-limit-retry'
      ? 'long-retry'
      : r.verdict === 'limit' && r.resetsAt
        ? 'limit+reset'
        : r.verdict === 'none' && r.pattern?.startsWith('auth.')
          ? 'auth'
          : r.verdict === 'none' && r.pattern === 'none.auto-continue-notice'
            ? 'notice'
            : r.verdict;
  rows.push(['why', WHY[key] ?? '']);
  rows.push([
    'detected at',
    `${s.now.toISOString()}; clock-only times read in ${s.timezone} (${s.timezoneSource})`,
  ]);
  rows.push(['input', `${source}${s.configFile ? `; patterns from ${s.configFile}` : ''}`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `${c.bold(k.padEnd(width))}  ${v}`);
  for (const n of r.notes) lines.push(`${c.yellow('note:')} ${n}`);
  const others = r.matches.filter((m) => m.lineNumber !== r.lineNumber);
  if (others.length) {
    lines.push(c.dim('other lines that matched:'));
    for (const m of others.slice(-10)) {
      lines.push(
        c.dim(
          `  line ${m.lineNumber}: ${m.verdict} ${m.pattern ?? ''}  ${m.line ?? ''}`.slice(0, 160),
        ),
      );
    }
  }
  return lines.join('\n');
}
