/**
 * Reliability when every account is exhausted: each run (`quota check`, `tick`, `swap`) exits
 * 3, the operator is notified once per episode (a real webhook on 127.0.0.1 receives one
 * `accounts.exhausted`), and no swap starts, so no session is stopped or restarted. When the
 * other account's reset time passes, it is available again and takes the sessions.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliverPrompt } from '../helpers/type-prompt.js';
import { readEvents } from '../../src/lib/core/events.js';
import { startHttpSink } from '../helpers/http-sink.js';
import { processEnv, simSandbox, waitFor, type SimSandbox } from '../helpers/sim.js';

type Json = Record<string, unknown>;

const SESSIONS = ['ccl-0', 'ccl-1'];
/** How far ahead the backup's reset is when the episode starts. */
const BACKUP_RESET_MS = 20_000;

/** A clock-only reset text `h` hours from now, in UTC: `resets 4:30pm (UTC)`. */
function resetIn(hours: number): string {
  const d = new Date(Date.now() + hours * 3_600_000);
  const h = d.getUTCHours();
  return `resets ${h % 12 || 12}:${String(d.getUTCMinutes()).padStart(2, '0')}${h >= 12 ? 'pm' : 'am'} (UTC)`;
}

function state(sb: SimSandbox): Json {
  return JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8')) as Json;
}

async function pids(sb: SimSandbox): Promise<Record<string, number | null>> {
  const panes = await sb.tmux.sessions();
  return Object.fromEntries(SESSIONS.map((s) => [s, panes.get(s)?.pid ?? null]));
}

describe('every account exhausted', () => {
  it('runs exit 3, notify once, start no swap; after the reset the account takes the sessions', async () => {
    const hook = await startHttpSink();
    const sb = simSandbox({
      sessions: 'ccl-{0..1}',
      extra: `notify: { events: [accounts.exhausted, swap.completed], webhook: { url: '${hook.url}/hook' } }`,
    });
    expect((await sb.cli(['setup'])).exitCode).toBe(0);
    expect((await sb.cli(['session', 'start'])).exitCode).toBe(0);
    for (const s of SESSIONS) {
      expect(await deliverPrompt(sb.tmux, s, `/sim say ready ${s}`)).toBe(true);
      await sb.waitForPane(s, new RegExp(`● ready ${s}`));
    }
    const before = await pids(sb);

    // The backup hit its limit earlier and resets in a few seconds; now primary hits its own.
    const backupReset = new Date(Date.now() + BACKUP_RESET_MS);
    await (
      await sb.ctx()
    ).state.update((st) => {
      st.accounts.backup = {
        exhaustedUntil: backupReset.toISOString(),
        exhaustedReason: 'limit.hit-your-window',
        authErrorAt: null,
        usage: null,
      };
    });
    sb.setLimit('primary', `You've hit your session limit · ${resetIn(3)}`);
    expect(await deliverPrompt(sb.tmux, 'ccl-0', 'keep going')).toBe(true);
    await waitFor(() => {
      const f = path.join(sb.stateDir, 'signals', 'ccl-0.jsonl');
      return fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes('rate_limit');
    }, 'the StopFailure rate_limit signal');

    // Every run meets the same wall: exit 3, and no swap.
    const runs = [
      ['quota', 'check'],
      ['tick'],
      ['quota', 'check', '--json'],
      ['swap'],
      ['tick', '--json'],
    ];
    for (const args of runs) {
      const r = await sb.cli(args);
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      if (args.includes('--json')) {
        const out = JSON.parse(r.stdout) as Json & { steps?: Json[] };
        const decision = out.steps
          ? out.steps.find((x) => x.step === 'quota')!.summary
          : out.decision;
        expect(decision).toBe('no-usable-account');
      } else expect(r.stderr).toMatch(/no account can take|quota: no-usable-account/);
      expect(Date.now()).toBeLessThan(backupReset.getTime());
    }
    const st = state(sb) as Json & { accounts: Record<string, Json> };
    expect(st.swaps).toEqual([]);
    expect(st.swapJournal).toBeNull();
    expect(st.activeAccount).toBe('primary');
    expect(st.noUsableAccountSince).toEqual(expect.any(String));
    expect(Date.parse(st.accounts.primary!.exhaustedUntil as string)).toBeGreaterThan(
      Date.now() + 2 * 3_600_000,
    );
    const events = readEvents(sb.stateDir).map((e) => e.event);
    expect(events.filter((e) => e.startsWith('swap.'))).toEqual([]);
    // Notified once: one event recorded for the episode, one message delivered.
    expect(events.filter((e) => e === 'accounts.exhausted')).toHaveLength(1);
    await waitFor(() => hook.requests.length > 0, 'the webhook');
    expect(hook.events().map((e) => e.event)).toEqual(['accounts.exhausted']);
    expect(hook.events()[0]).toMatchObject({
      from: 'primary',
      accounts: [
        expect.objectContaining({ name: 'primary', exhaustedUntil: expect.any(String) }),
        expect.objectContaining({ name: 'backup', exhaustedUntil: backupReset.toISOString() }),
      ],
    });
    // Nothing was stopped or restarted: the same agents run, on primary.
    expect(await pids(sb)).toEqual(before);
    for (const s of SESSIONS)
      expect(processEnv(before[s]!).CLAUDE_FAILOVER_ACCOUNT).toBe('primary');

    // The backup's reset passes: it is available again, and the next run moves the sessions.
    const status = async () =>
      JSON.parse((await sb.cli(['status', '--json'])).stdout) as { accounts: Json[] };
    expect((await status()).accounts.find((a) => a.name === 'backup')!.status).toBe('exhausted');
    await new Promise((r) => setTimeout(r, Math.max(0, backupReset.getTime() + 200 - Date.now())));
    expect((await status()).accounts.find((a) => a.name === 'backup')!.status).toBe('available');
    const r = await sb.cli(['quota', 'check', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      decision: 'swapped',
      swap: { outcome: 'completed', from: 'primary', to: 'backup' },
    });
    const after = state(sb);
    expect(after).toMatchObject({ activeAccount: 'backup', noUsableAccountSince: null });
    for (const s of SESSIONS) {
      const pid = await waitFor(async () => {
        const p = (await sb.tmux.sessions()).get(s);
        return p && !p.dead && p.pid;
      }, `a live agent in ${s}`);
      expect(processEnv(pid).CLAUDE_FAILOVER_ACCOUNT).toBe('backup');
    }
    await waitFor(() => hook.requests.length > 1, 'the second webhook');
    expect(hook.events().map((e) => e.event)).toEqual(['accounts.exhausted', 'swap.completed']);
  });
});
