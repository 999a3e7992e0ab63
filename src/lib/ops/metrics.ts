/**
 * `metrics`: the pool in the Prometheus text exposition format, built with prom-client
 * (loaded lazily) from the same report as `status --json` plus the running totals kept in
 * the state file, so a dashboard and `status` never disagree. `tick` writes the same text to
 * `metrics.textfile` for node_exporter's textfile collector.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { writeFileAtomic } from '../core/fs-atomic.js';
import { importCjs } from '../core/interop.js';
import { detectionKey } from '../core/state-counters.js';
import type { State } from '../core/state-schema.js';
import { buildStatus, type AccountStatus, type StatusReport } from './status.js';

const PREFIX = 'claude_failover_';
const ACCOUNT_STATUSES: AccountStatus[] = ['available', 'exhausted', 'auth-error', 'disabled'];
const SESSION_STATES = ['idle', 'working', 'dead', 'stopped', 'degraded', 'starting'] as const;
const TASK_STATES = ['pending', 'dispatched', 'done', 'failed'] as const;
const WINDOWS = [
  ['5h', 'fiveHour'],
  ['7d', 'sevenDay'],
] as const;

/** The `Content-Type` of the text format, for anyone serving it over HTTP. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const seconds = (iso: string) => Date.parse(iso) / 1000;

/**
 * The exposition text for a status report and the state it came from. Pure apart from
 * loading prom-client: the same inputs give the same text.
 */
export async function renderMetrics(report: StatusReport, state: State): Promise<string> {
  const prom = await importCjs(() => import('prom-client'));
  const registry = new prom.Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new prom.Gauge({ name: PREFIX + name, help, labelNames, registers: [registry] });
  const counter = (name: string, help: string, labelNames: string[]) =>
    new prom.Counter({ name: PREFIX + name, help, labelNames, registers: [registry] });
  const now = Date.parse(report.now);

  const status = gauge('account_status', 'Account status: 1 for the current one.', [
    'account',
    'status',
  ]);
  const active = gauge('account_active', '1 for the account the sessions run on.', ['account']);
  const priority = gauge('account_priority', 'The account priority (lower goes first).', [
    'account',
  ]);
  const usage = gauge('account_usage_percent', 'Usage of the window, in percent.', [
    'account',
    'window',
  ]);
  const reset = gauge('account_reset_seconds', 'Seconds until the usage window resets.', [
    'account',
    'window',
  ]);
  const exhausted = gauge(
    'account_exhausted_seconds',
    'Seconds until an exhausted account is usable again (0 when it is not exhausted).',
    ['account'],
  );
  for (const a of report.accounts) {
    const account = a.name;
    for (const s of ACCOUNT_STATUSES) status.set({ account, status: s }, a.status === s ? 1 : 0);
    active.set({ account }, report.activeAccount === account ? 1 : 0);
    priority.set({ account }, a.priority);
    for (const [window, key] of WINDOWS) {
      const w = a.usage?.[key];
      if (!w) continue;
      usage.set({ account, window }, w.usedPercentage);
      if (w.resetsAt) reset.set({ account, window }, Math.max(0, seconds(w.resetsAt) - now / 1000));
    }
    const until = a.status === 'exhausted' && a.exhaustedUntil ? seconds(a.exhaustedUntil) : 0;
    exhausted.set({ account }, Math.max(0, until - now / 1000));
  }

  const sessions = gauge('sessions', 'Configured sessions by state.', ['state']);
  for (const s of SESSION_STATES)
    sessions.set({ state: s }, report.sessions.filter((x) => x.state === s).length);

  const tasks = gauge('tasks', 'Tasks per project and queue state.', ['project', 'state']);
  for (const q of report.queues)
    for (const s of TASK_STATES) tasks.set({ project: q.project, state: s }, q[s]);

  const swaps = counter('swaps_total', 'Finished swaps by outcome.', ['outcome']);
  for (const [outcome, n] of Object.entries(state.counters.swaps)) swaps.inc({ outcome }, n);
  const triggers = counter('swap_triggers_total', 'Swaps by the pattern that started them.', [
    'pattern',
  ]);
  for (const [pattern, n] of Object.entries(state.counters.swapTriggers))
    triggers.inc({ pattern }, n);
  const detections = counter('detections_total', 'quota.detected lines by verdict and pattern.', [
    'verdict',
    'pattern',
  ]);
  for (const [key, n] of Object.entries(state.counters.detections))
    detections.inc(detectionKey(key), n);

  const runs = counter('trigger_runs_total', 'Runs the hooks started, by kind.', ['kind']);
  const failed = counter('trigger_failures_total', 'Failed trigger runs, by kind.', ['kind']);
  for (const kind of ['limit', 'idle'] as const) {
    runs.inc({ kind }, report.triggers[kind].runs);
    failed.inc({ kind }, report.triggers[kind].failures);
  }

  const stamp = (name: string, help: string, iso: string | null | undefined) => {
    if (iso) gauge(name, help).set(seconds(iso));
  };
  stamp(
    'last_tick_timestamp_seconds',
    'When the last tick finished (any exit code).',
    state.lastRun.tick,
  );
  stamp(
    'last_tick_success_timestamp_seconds',
    'When the last tick finished with exit code 0.',
    state.lastRun.tickSuccess,
  );
  stamp('last_swap_timestamp_seconds', 'When the last swap finished.', state.lastSwap?.at);
  gauge('cooldown_seconds', 'Seconds left of the detection cooldown after a swap.').set(
    report.cooldownUntil ? Math.max(0, seconds(report.cooldownUntil) - now / 1000) : 0,
  );
  gauge('warnings', 'Warnings in the status report.').set(report.warnings.length);
  return registry.metrics();
}

/** The metrics of the pool now: the status report and the state, read without a lock. */
export async function collectMetrics(ctx: Context): Promise<string> {
  const report = await buildStatus(ctx);
  return renderMetrics(report, ctx.state.read());
}

/**
 * Writes the metrics to `metrics.textfile` atomically (node_exporter must never read half a
 * file), readable by node_exporter's user. Returns null when written or not configured, else
 * the warning to report.
 */
export async function writeMetricsTextfile(ctx: Context): Promise<string | null> {
  const file = ctx.config.metrics.textfile;
  if (!file) return null;
  try {
    const text = await collectMetrics(ctx);
    // Not a private dir: node_exporter runs as another user.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, text, { mode: 0o644 });
    return null;
  } catch (err) {
    return `metrics.textfile: cannot write ${file}: ${(err as Error).message}`;
  }
}
