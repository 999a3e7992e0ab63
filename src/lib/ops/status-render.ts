/** The human rendering of `status`: tables of accounts, sessions and queues. */
import type { Output } from '../core/output.js';
import type { StatusReport } from './status.js';
import { textTable } from '../core/table.js';
import { formatDuration } from '../core/units.js';

function when(iso: string | null, now: string): string {
  if (!iso) return '-';
  const ms = Date.parse(iso) - Date.parse(now);
  return ms >= 0 ? `in ${formatDuration(ms)}` : `${formatDuration(-ms)} ago`;
}

/** `triggers: on (limit, idle)` and a line per kind that has run. */
function renderTriggers(r: StatusReport, bold: (s: string) => string): string {
  const t = r.triggers;
  const on = (['limit', 'idle'] as const).filter((k) => t[k].on);
  const lines = [
    `${bold('triggers:')} ${
      on.length ? `on (${on.join(', ')})` : 'off: the timer does all the work'
    }`,
  ];
  for (const kind of ['limit', 'idle'] as const) {
    const k = t[kind];
    if (!k.last) continue;
    const from = k.last.request.session ? ` from ${k.last.request.session}` : '';
    lines.push(
      `  last ${kind}: ${when(k.last.startedAt, r.now)}${from} (${k.last.request.reason}): ${k.last.error ?? k.last.summary}; ${k.runs} runs, ${k.failures} failed`,
    );
  }
  return lines.join('\n');
}

export async function renderStatus(r: StatusReport, out: Output): Promise<string> {
  const c = out.stdoutColor;
  const table = (head: string[]) => textTable(out, head);

  const stateColor = (s: string) =>
    s === 'available' || s === 'idle' || s === 'working'
      ? c.green(s)
      : s === 'exhausted' || s === 'starting' || s === 'stopped'
        ? c.yellow(s)
        : s === 'disabled'
          ? c.dim(s)
          : c.red(s);

  const lines: string[] = [];
  lines.push(
    `${c.bold('active account:')} ${r.activeAccount}` +
      (r.cooldownUntil ? `  (swap cooldown until ${r.cooldownUntil})` : ''),
  );

  const accounts = await table(['account', 'prio', 'status', 'until', '5h', '7d']);
  for (const a of r.accounts) {
    const pct = (w: { usedPercentage: number } | null | undefined) =>
      w ? `${Math.round(w.usedPercentage)}%` : '-';
    accounts.push([
      a.name + (a.name === r.activeAccount ? ' *' : ''),
      String(a.priority),
      stateColor(a.status),
      a.status === 'exhausted' ? when(a.exhaustedUntil, r.now) : '-',
      pct(a.usage?.fiveHour),
      pct(a.usage?.sevenDay),
    ]);
  }
  lines.push(accounts.toString());

  if (r.sessions.length) {
    const sessions = await table([
      'session',
      'project',
      'account',
      'state',
      'task',
      'restarts',
      'claude session',
    ]);
    for (const s of r.sessions) {
      sessions.push([
        s.name,
        s.project,
        s.account ?? '-',
        stateColor(s.state),
        s.task ?? '-',
        String(s.restarts),
        s.claudeSessionId ?? '-',
      ]);
    }
    lines.push(sessions.toString());
  }

  if (r.queues.length) {
    const queues = await table(['project', 'pending', 'dispatched', 'done', 'failed']);
    for (const q of r.queues)
      queues.push([
        q.project,
        String(q.pending),
        String(q.dispatched),
        String(q.done),
        String(q.failed),
      ]);
    lines.push(queues.toString());
  }

  if (r.lastSwap) {
    const s = r.lastSwap;
    lines.push(
      `${c.bold('last swap:')} ${s.from ?? '-'} -> ${s.to ?? '-'} ${when(s.at, r.now)} (${s.outcome}; ${s.reason})`,
    );
  } else {
    lines.push(`${c.bold('last swap:')} none`);
  }
  lines.push(renderTriggers(r, c.bold));
  for (const w of r.warnings) lines.push(`${c.yellow('warning:')} ${w}`);
  return lines.join('\n');
}
