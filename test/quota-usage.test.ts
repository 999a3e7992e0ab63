/**
 * Usage-driven decisions of `quota check`: the statusline's usage over `swapAt` asks for a
 * swap at the next idle moment, and the rationed usage API fills in accounts that have no
 * running session.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deliverPrompt } from './helpers/type-prompt.js';
import { readAgentStatus } from '../src/lib/queue/status-file.js';
import { readUsage } from '../src/lib/claude/signals.js';
import { simSandbox, waitFor, type SimSandbox } from './helpers/sim.js';

type Json = Record<string, unknown>;

async function check(sb: SimSandbox): Promise<Json> {
  const r = await sb.cli(['quota', 'check', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Json;
}

function usage(sb: SimSandbox, account: string, fiveHour: number): void {
  const dir = path.join(sb.accountDir(account), 'sim');
  fs.mkdirSync(dir, { recursive: true });
  const resets = Math.floor(Date.now() / 1000) + 3 * 3600;
  fs.writeFileSync(
    path.join(dir, 'usage.json'),
    JSON.stringify({
      five_hour: { used_percentage: fiveHour, resets_at: resets },
      seven_day: { used_percentage: 20, resets_at: resets + 86_400 },
    }),
  );
}

describe('usage over swapAt', () => {
  it('requests a swap and carries it out at the next moment every session is idle', async () => {
    const sb = simSandbox({ sessions: 'ccl-{0..1}' });
    await sb.cli(['setup']);
    await sb.cli(['session', 'start']);
    usage(sb, 'primary', 99);
    // ccl-0 answers (the statusline records 99%), ccl-1 stays busy for a while.
    expect(await deliverPrompt(sb.tmux, 'ccl-0', '/sim say quick')).toBe(true);
    await waitFor(
      () => readUsage(sb.stateDir, 'primary')?.fiveHour?.usedPercentage === 99,
      'usage',
    );
    expect(await deliverPrompt(sb.tmux, 'ccl-1', '/sim sleep 6000')).toBe(true);
    await waitFor(() => readAgentStatus(sb.project).sessions['ccl-1']?.state === 'working', 'busy');

    const first = await check(sb);
    expect(first.decision).toBe('proactive-waiting');
    const st = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    expect(st.pendingSwap).toMatchObject({ account: 'primary', proactive: true });
    expect(st.swaps).toEqual([]);
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    expect(status.accounts[0]).toMatchObject({ usedPercent: 99, draining: true });

    await waitFor(
      () => readAgentStatus(sb.project).sessions['ccl-1']?.state === 'idle',
      'idle',
      20_000,
    );
    const second = await check(sb);
    expect(second).toMatchObject({
      decision: 'swapped',
      swap: { from: 'primary', to: 'backup', outcome: 'completed' },
    });
    // A proactive swap does not mark the account exhausted: it is only nearly full.
    const after = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    expect(after.accounts.primary?.exhaustedUntil ?? null).toBeNull();
    expect(after.pendingSwap).toBeNull();
  });

  it('drops the request when the window resets before the sessions go idle', async () => {
    const sb = simSandbox({ sessions: 'ccl-0' });
    await sb.cli(['setup']);
    await sb.cli(['session', 'start']);
    expect(await deliverPrompt(sb.tmux, 'ccl-0', '/sim sleep 20000')).toBe(true);
    await waitFor(() => readAgentStatus(sb.project).sessions['ccl-0']?.state === 'working', 'busy');
    // The statusline reports at the end of a turn: write the usage as it would.
    fs.mkdirSync(path.join(sb.stateDir, 'usage'), { recursive: true });
    const past = new Date(Date.now() - 1000).toISOString();
    fs.writeFileSync(
      path.join(sb.stateDir, 'usage', 'primary.json'),
      JSON.stringify({
        fiveHour: { usedPercentage: 99, resetsAt: new Date(Date.now() + 3_600_000).toISOString() },
        sevenDay: null,
        updatedAt: new Date().toISOString(),
        session: 'ccl-0',
      }),
    );
    expect((await check(sb)).decision).toBe('proactive-waiting');
    fs.writeFileSync(
      path.join(sb.stateDir, 'usage', 'primary.json'),
      JSON.stringify({
        fiveHour: { usedPercentage: 99, resetsAt: past },
        sevenDay: null,
        updatedAt: new Date().toISOString(),
        session: 'ccl-0',
      }),
    );
    expect((await check(sb)).decision).toBe('clean');
    const st = JSON.parse(fs.readFileSync(path.join(sb.stateDir, 'state.json'), 'utf8'));
    expect(st.pendingSwap).toBeNull();
  });
});

describe('the usage API', () => {
  let server: http.Server | undefined;
  afterEach(() => server?.close());

  it('asks once per cacheFor per account, with the account token, and never logs it', async () => {
    const requests: Array<{ url: string; auth: string | undefined }> = [];
    server = http.createServer((req, res) => {
      requests.push({ url: req.url ?? '', auth: req.headers.authorization });
      const util = req.headers.authorization?.includes('backup') ? 12 : 55;
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          five_hour: { utilization: util, resets_at: '2030-01-01T10:00:00.000000+00:00' },
          seven_day: { utilization: 30, resets_at: '2030-01-05T10:00:00.000000+00:00' },
          extra_usage: { is_enabled: false },
        }),
      );
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const sb = simSandbox({
      sessions: 'ccl-0',
      extra: `quota: { usageApi: { enabled: true, baseUrl: 'http://127.0.0.1:${port}', cacheFor: 1h } }`,
    });
    for (const a of ['primary', 'backup']) {
      fs.mkdirSync(sb.accountDir(a), { recursive: true });
      fs.writeFileSync(
        path.join(sb.accountDir(a), '.credentials.json'),
        JSON.stringify({ claudeAiOauth: { accessToken: `sk-ant-oat01-secret-${a}-token` } }),
        { mode: 0o600 },
      );
    }
    expect((await check(sb)).decision).toBe('clean');
    expect(requests.map((r) => r.url)).toEqual(['/api/oauth/usage', '/api/oauth/usage']);
    expect(requests.map((r) => r.auth).sort()).toEqual([
      'Bearer sk-ant-oat01-secret-backup-token',
      'Bearer sk-ant-oat01-secret-primary-token',
    ]);
    const status = JSON.parse((await sb.cli(['status', '--json'])).stdout);
    expect(status.accounts.map((a: Json) => a.usedPercent)).toEqual([55, 30]);
    // Rationed: the next run within cacheFor does not ask again.
    await check(sb);
    expect(requests).toHaveLength(2);
    for (const f of fs.readdirSync(sb.stateDir)) {
      const p = path.join(sb.stateDir, f);
      if (fs.statSync(p).isFile()) expect(fs.readFileSync(p, 'utf8')).not.toContain('secret');
    }
  });
});
