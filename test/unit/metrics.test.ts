/**
 * `renderMetrics` on a fixed report and state: the text parses with a real exposition-format
 * parser, and each number is the report's or the state's (fixed clock, no tmux).
 */
import { describe, expect, it } from 'vitest';
import { countDetection, countSwap } from '../../src/lib/core/state-counters.js';
import { emptyState, stateSchema } from '../../src/lib/core/state-schema.js';
import { renderMetrics } from '../../src/lib/ops/metrics.js';
import type { StatusReport } from '../../src/lib/ops/status.js';
import { parseMetrics } from '../helpers/prometheus.js';

const NOW = '2026-03-01T12:00:00.000Z';

function report(): StatusReport {
  return {
    now: NOW,
    activeAccount: 'primary',
    cooldownUntil: '2026-03-01T12:05:00.000Z',
    accounts: [
      {
        name: 'primary',
        priority: 1,
        status: 'available',
        exhaustedUntil: null,
        usage: {
          fiveHour: { usedPercentage: 42.5, resetsAt: '2026-03-01T14:00:00.000Z' },
          sevenDay: { usedPercentage: 10, resetsAt: null },
          updatedAt: NOW,
          session: null,
        },
        usedPercent: 42.5,
        draining: false,
      },
      {
        name: 'backup',
        priority: 2,
        status: 'exhausted',
        exhaustedUntil: '2026-03-01T13:00:00.000Z',
        usage: null,
        usedPercent: null,
        draining: false,
      },
    ],
    sessions: [
      {
        name: 'a',
        project: 'api',
        account: 'primary',
        state: 'idle',
        task: null,
        claudeSessionId: null,
        restarts: 0,
        lastSeenAt: null,
      },
      {
        name: 'b',
        project: 'api',
        account: 'primary',
        state: 'working',
        task: 't',
        claudeSessionId: null,
        restarts: 0,
        lastSeenAt: null,
      },
      {
        name: 'c',
        project: 'web',
        account: 'primary',
        state: 'working',
        task: 'u',
        claudeSessionId: null,
        restarts: 2,
        lastSeenAt: null,
      },
    ],
    queues: [
      { project: 'api', pending: 3, dispatched: 1, done: 7, failed: 2 },
      { project: 'web', pending: 0, dispatched: 1, done: 0, failed: 0 },
    ],
    lastSwap: null,
    triggers: {
      enabled: true,
      log: '/s/trigger.log',
      limit: { on: true, runs: 3, failures: 1, last: null, lastFailure: null, lastFailed: false },
      idle: { on: true, runs: 7, failures: 0, last: null, lastFailure: null, lastFailed: false },
    },
    warnings: ['one'],
  };
}

describe('renderMetrics', () => {
  it('exposes the report and the counters, parseable by an exposition-format parser', async () => {
    const state = emptyState();
    countSwap(state, 'completed', 'limit.hit-your-limit');
    countSwap(state, 'completed', null);
    countSwap(state, 'fell-back', null);
    countDetection(state, 'limit', 'limit.hit-your-limit');
    countDetection(state, 'limit', 'limit.hit-your-limit');
    countDetection(state, 'warning', null);
    state.lastRun.tick = '2026-03-01T11:59:30.000Z';
    state.lastRun.tickSuccess = '2026-03-01T11:58:30.000Z';
    const m = parseMetrics(await renderMetrics(report(), state));

    const p = 'claude_failover_';
    expect(m.value(`${p}account_status`, { account: 'primary', status: 'available' })).toBe(1);
    expect(m.value(`${p}account_status`, { account: 'primary', status: 'exhausted' })).toBe(0);
    expect(m.value(`${p}account_status`, { account: 'backup', status: 'exhausted' })).toBe(1);
    expect(m.value(`${p}account_active`, { account: 'primary' })).toBe(1);
    expect(m.value(`${p}account_active`, { account: 'backup' })).toBe(0);
    expect(m.value(`${p}account_usage_percent`, { account: 'primary', window: '5h' })).toBe(42.5);
    expect(m.value(`${p}account_usage_percent`, { account: 'primary', window: '7d' })).toBe(10);
    expect(m.value(`${p}account_reset_seconds`, { account: 'primary', window: '5h' })).toBe(7200);
    expect(m.value(`${p}account_reset_seconds`, { account: 'primary', window: '7d' })).toBe(
      undefined,
    );
    expect(m.value(`${p}account_exhausted_seconds`, { account: 'backup' })).toBe(3600);
    expect(m.value(`${p}account_exhausted_seconds`, { account: 'primary' })).toBe(0);

    expect(m.value(`${p}sessions`, { state: 'idle' })).toBe(1);
    expect(m.value(`${p}sessions`, { state: 'working' })).toBe(2);
    expect(m.value(`${p}sessions`, { state: 'dead' })).toBe(0);
    expect(m.value(`${p}tasks`, { project: 'api', state: 'pending' })).toBe(3);
    expect(m.value(`${p}tasks`, { project: 'api', state: 'failed' })).toBe(2);
    expect(m.value(`${p}tasks`, { project: 'web', state: 'dispatched' })).toBe(1);

    expect(m.type(`${p}swaps_total`)).toBe('COUNTER');
    expect(m.value(`${p}swaps_total`, { outcome: 'completed' })).toBe(2);
    expect(m.value(`${p}swaps_total`, { outcome: 'fell-back' })).toBe(1);
    expect(m.value(`${p}swap_triggers_total`, { pattern: 'manual' })).toBe(2);
    expect(
      m.value(`${p}detections_total`, { verdict: 'limit', pattern: 'limit.hit-your-limit' }),
    ).toBe(2);
    expect(m.value(`${p}detections_total`, { verdict: 'warning', pattern: 'unknown' })).toBe(1);
    expect(m.value(`${p}trigger_runs_total`, { kind: 'idle' })).toBe(7);
    expect(m.value(`${p}trigger_failures_total`, { kind: 'limit' })).toBe(1);

    expect(m.value(`${p}last_tick_timestamp_seconds`)).toBe(Date.parse(state.lastRun.tick) / 1000);
    expect(m.value(`${p}last_tick_success_timestamp_seconds`)).toBe(
      Date.parse(state.lastRun.tickSuccess) / 1000,
    );
    expect(m.value(`${p}last_swap_timestamp_seconds`)).toBe(undefined);
    expect(m.value(`${p}cooldown_seconds`)).toBe(300);
    expect(m.value(`${p}warnings`)).toBe(1);
  });

  it('reads an old state file without counters as all zero', async () => {
    const old = stateSchema.parse({ version: 1 });
    expect(old.counters).toEqual({ swaps: {}, swapTriggers: {}, detections: {} });
    const m = parseMetrics(await renderMetrics(report(), old));
    expect(m.samples('claude_failover_swaps_total')).toEqual([]);
    expect(m.value('claude_failover_last_tick_timestamp_seconds')).toBe(undefined);
  });
});
