/**
 * `claude-failover metrics` through the built CLI: its text parses with a real exposition-
 * format parser and its numbers are those of `status --json` on the same state; `tick`
 * writes the same to `metrics.textfile`, and a textfile it cannot write is a warning only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killTmuxAndWait } from './helpers/env.js';
import { parseMetrics } from './helpers/prometheus.js';
import { simSandbox } from './helpers/sim.js';

const textfile = (home: string) => path.join(home, 'textfile', 'claude_failover.prom');

describe('metrics', () => {
  const sb = simSandbox({ sessions: 'ccl-{0..2}' });
  afterAll(() => killTmuxAndWait(sb.tmux));
  fs.appendFileSync(sb.configFile, `metrics: { textfile: ${textfile(sb.home)} }\n`);

  it('matches status --json on the same state', { timeout: 60_000 }, async () => {
    const inFuture = (h: number) => new Date(Date.now() + h * 3600_000).toISOString();
    fs.mkdirSync(sb.stateDir, { recursive: true });
    fs.writeFileSync(
      path.join(sb.stateDir, 'state.json'),
      JSON.stringify({
        version: 1,
        activeAccount: 'primary',
        accounts: {
          primary: {
            usage: {
              fiveHour: { usedPercentage: 61, resetsAt: inFuture(2) },
              sevenDay: { usedPercentage: 17.5, resetsAt: inFuture(72) },
              updatedAt: new Date().toISOString(),
            },
          },
          backup: { exhaustedUntil: inFuture(3), exhaustedReason: 'limit' },
        },
        counters: {
          swaps: { completed: 4, 'fell-back': 1 },
          swapTriggers: { 'limit.hit-your-limit': 3, manual: 2 },
          detections: { 'limit|limit.hit-your-limit': 5 },
        },
        lastRun: { tick: '2026-03-01T11:59:30.000Z' },
      }),
    );
    sb.dispatched('busy', 'ccl-1', 'work\n');
    fs.writeFileSync(path.join(sb.project, '.agent-queue', 'inbox', 'waiting.md'), 'later\n');
    fs.mkdirSync(path.join(sb.project, '.agent-queue', 'done'), { recursive: true });
    fs.writeFileSync(path.join(sb.project, '.agent-queue', 'done', 'old.md'), 'done\n');

    const res = await sb.cli(['metrics']);
    expect(res.exitCode, res.stderr).toBe(0);
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    const m = parseMetrics(res.stdout);
    const p = 'claude_failover_';

    for (const a of status.accounts) {
      expect(m.value(`${p}account_status`, { account: a.name, status: a.status })).toBe(1);
      expect(m.value(`${p}account_active`, { account: a.name })).toBe(
        a.name === status.activeAccount ? 1 : 0,
      );
      for (const [window, key] of [
        ['5h', 'fiveHour'],
        ['7d', 'sevenDay'],
      ] as const) {
        const w = a.usage?.[key];
        expect(m.value(`${p}account_usage_percent`, { account: a.name, window })).toBe(
          w ? w.usedPercentage : undefined,
        );
        if (w?.resetsAt) {
          // Seconds left at the metrics' own moment, a moment before status read the clock.
          const left = (Date.parse(w.resetsAt) - Date.parse(status.now)) / 1000;
          const got = m.value(`${p}account_reset_seconds`, { account: a.name, window })!;
          expect(got).toBeGreaterThanOrEqual(left);
          expect(got - left).toBeLessThan(120);
        }
      }
    }
    expect(m.value(`${p}account_status`, { account: 'backup', status: 'exhausted' })).toBe(1);
    for (const state of ['idle', 'working', 'dead', 'stopped', 'degraded', 'starting'])
      expect(m.value(`${p}sessions`, { state }), state).toBe(
        status.sessions.filter((s: { state: string }) => s.state === state).length,
      );
    for (const q of status.queues)
      for (const state of ['pending', 'dispatched', 'done', 'failed'])
        expect(m.value(`${p}tasks`, { project: q.project, state })).toBe(q[state]);
    expect(m.value(`${p}tasks`, { project: 'api', state: 'pending' })).toBe(1);
    expect(m.value(`${p}tasks`, { project: 'api', state: 'dispatched' })).toBe(1);
    expect(m.value(`${p}tasks`, { project: 'api', state: 'done' })).toBe(1);
    expect(m.value(`${p}swaps_total`, { outcome: 'completed' })).toBe(4);
    expect(
      m.value(`${p}detections_total`, { verdict: 'limit', pattern: 'limit.hit-your-limit' }),
    ).toBe(5);
    expect(m.value(`${p}last_tick_timestamp_seconds`)).toBe(
      Date.parse('2026-03-01T11:59:30.000Z') / 1000,
    );
  });

  it('is written by tick to metrics.textfile, atomically', { timeout: 60_000 }, async () => {
    const before = Date.now();
    const tick = await sb.cli(['tick', '--json']);
    const result = JSON.parse(tick.stdout);
    expect(result.warnings).toEqual([]);
    const text = fs.readFileSync(textfile(sb.home), 'utf8');
    const m = parseMetrics(text);
    // The tick recorded its own end before it wrote the file.
    expect(m.value('claude_failover_last_tick_timestamp_seconds')! * 1000).toBeGreaterThanOrEqual(
      Math.floor(before / 1000) * 1000,
    );
    expect(m.value('claude_failover_swaps_total', { outcome: 'completed' })).toBe(4);
    expect(fs.readdirSync(path.dirname(textfile(sb.home)))).toEqual(['claude_failover.prom']);
    const state = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    expect(state.lastRun.tick).toBeDefined();
  });

  it('warns, without failing the tick, when the textfile cannot be written', async () => {
    // The textfile's directory is a file: no write can succeed.
    const blocked = path.join(sb.home, 'not-a-dir');
    fs.writeFileSync(blocked, '');
    const config = path.join(sb.home, 'config-blocked.yaml');
    fs.writeFileSync(
      config,
      fs
        .readFileSync(sb.configFile, 'utf8')
        .replace(/metrics: .*\n/, `metrics: { textfile: ${blocked}/m.prom }\n`),
    );
    const tick = await sb.cli(['-c', config, 'tick', '--json']);
    const result = JSON.parse(tick.stdout);
    expect(result.warnings).toEqual([expect.stringMatching(/^metrics\.textfile: cannot write /)]);
    expect(tick.exitCode).toBe(result.exitCode);
    expect(result.steps.every((s: { error: string | null }) => s.error === null)).toBe(true);
  });
});
