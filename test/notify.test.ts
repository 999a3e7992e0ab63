import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/lib/core/config.js';
import { parseConfig } from '../src/lib/core/config-parse.js';
import { redact } from '../src/lib/core/redact.js';
import { readEvents } from '../src/lib/core/events.js';
import { DEDUP_WINDOW_MS, emit, eventFingerprint, wantsEvent } from '../src/lib/notify/index.js';
import { retryDelay, retryOutbox } from '../src/lib/notify/outbox.js';
import { sendTest } from '../src/lib/notify/send-test.js';
import { SINK_TIMEOUT_MS } from '../src/lib/notify/sink.js';
import { readOutbox } from '../src/lib/notify/store.js';
import { escapeHtml, telegramText } from '../src/lib/notify/telegram.js';
import { runCli, startWorker, tempDir, worker, writeConfig } from './helpers/env.js';

// A token shaped like a real one, and a second secret of a shape no generic rule knows.
const TOKEN = '123456789:AAHfakeTokenForTests0123456789abcdefgh';
const HEADER_SECRET = 'hdr-secret-7f3a9c';
const PATH_SECRET = 'path-secret-e41b2d';

interface Recorded {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
type Reply = { status: number; body: unknown } | 'hang';

const servers: http.Server[] = [];
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

/** A real HTTP server on 127.0.0.1 that records every request and answers with `reply`. */
async function startServer(reply: (req: Recorded, n: number) => Reply) {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const rec = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      requests.push(rec);
      const r = reply(rec, requests.length);
      if (r === 'hang') return; // never answers
      res.writeHead(r.status, { 'content-type': 'application/json' });
      res.end(typeof r.body === 'string' ? r.body : JSON.stringify(r.body));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests };
}

/** A Telegram-shaped server: `POST /bot<token>/sendMessage`, answers `{ok: true}`. */
function telegramServer(fail = false) {
  return startServer((req) =>
    fail
      ? // Echo the request URL (and so the token) in the error, as a hostile proxy might.
        {
          status: 401,
          body: { ok: false, error_code: 401, description: `Unauthorized ${req.url}` },
        }
      : req.method === 'POST' && /^\/bot[^/]+\/sendMessage$/.test(req.url)
        ? { status: 200, body: { ok: true, result: { message_id: 1 } } }
        : { status: 404, body: { ok: false, description: 'Not Found' } },
  );
}

function settings(home: string, notify: Record<string, unknown>): Config {
  return parseConfig(
    {
      stateDir: `${home}/state`,
      accounts: [{ name: 'primary', configDir: `${home}/accounts/primary` }],
      lock: { waitFor: '10s', staleAfter: '2s' },
      notify,
    },
    path.join(home, 'config.yaml'),
  );
}

const T0 = new Date('2026-03-01T12:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const MIN = 60_000;

/** Every file under `dir`, recursively, as text. */
function allFiles(dir: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const p = path.join(e.parentPath, e.name);
    out.push([p, fs.readFileSync(p, 'utf8')]);
  }
  return out;
}

function expectNoSecrets(texts: Array<[string, string]>): void {
  for (const [where, text] of texts) {
    for (const secret of [TOKEN, TOKEN.split(':')[1]!, HEADER_SECRET, PATH_SECRET]) {
      expect(text.includes(secret), `${secret} found in ${where}`).toBe(false);
    }
  }
}

describe('telegram sink', () => {
  it('POSTs to /bot<token>/sendMessage with chat_id, HTML-escaped text and parse_mode HTML', async () => {
    const home = tempDir();
    const tg = await telegramServer();
    const cfg = settings(home, {
      events: ['swap.completed'],
      telegram: { botToken: TOKEN, chatId: -100123, apiBase: tg.url },
    });
    const record = await emit(
      cfg,
      'swap.completed',
      { from: 'primary', to: 'backup', reason: 'limit <5-hour> & "more"', sessions: ['a', 'b'] },
      { now: T0 },
    );
    expect(record).toMatchObject({ event: 'swap.completed', ts: T0.toISOString(), level: 'info' });
    expect(tg.requests).toHaveLength(1);
    const req = tg.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe(`/bot${TOKEN}/sendMessage`);
    const body = JSON.parse(req.body) as Record<string, unknown>;
    expect(body.chat_id).toBe('-100123');
    expect(body.parse_mode).toBe('HTML');
    const text = body.text as string;
    expect(text).toContain('<b>swap.completed</b>');
    expect(text).toContain('from: primary');
    expect(text).toContain('to: backup');
    expect(text).toContain('reason: limit &lt;5-hour&gt; &amp; "more"');
    expect(text).toContain('sessions: a, b');
    expect(text).not.toContain('<5-hour>');
    // Recorded in events.jsonl, with nothing queued.
    expect(readEvents(cfg.stateDir).map((e) => e.event)).toContain('swap.completed');
    expect(readOutbox(cfg.stateDir).entries).toEqual([]);
  });

  it('builds a short message and escapes every field', () => {
    expect(escapeHtml('<a href="x">&</a>')).toBe('&lt;a href="x"&gt;&amp;&lt;/a&gt;');
    const text = telegramText({
      ts: T0.toISOString(),
      event: 'accounts.exhausted',
      level: 'error',
      host: 'box<1>',
      account: 'primary',
      resetsAt: '2026-03-01T17:00:00.000Z',
      session: 'ccl-3',
      note: 'x'.repeat(1000),
    });
    expect(text.split('\n')[0]).toBe('🚨 <b>accounts.exhausted</b> on <code>box&lt;1&gt;</code>');
    expect(text).toContain('account: primary');
    expect(text).toContain('resetsAt: 2026-03-01T17:00:00.000Z');
    expect(text.length).toBeLessThan(600);
  });

  it('an empty bot token (an unset env var) turns the sink off', async () => {
    const home = tempDir();
    const tg = await telegramServer();
    const cfg = settings(home, {
      events: ['swap.completed'],
      telegram: { botToken: '', chatId: 1, apiBase: tg.url },
    });
    await emit(cfg, 'swap.completed', {}, { now: T0 });
    const report = await sendTest(cfg, { now: T0 });
    expect(tg.requests).toHaveLength(0);
    expect(report.results).toEqual([]);
    expect(report.skipped[0]).toMatchObject({ sink: 'telegram', enabled: false });
  });
});

describe('filter and dedup', () => {
  it('delivers only the events notify.events lists (exact, prefix.* and *), and records all', async () => {
    expect(wantsEvent(['swap.completed'], 'swap.completed')).toBe(true);
    expect(wantsEvent(['swap.completed'], 'swap.failed')).toBe(false);
    expect(wantsEvent(['swap.*'], 'swap.failed')).toBe(true);
    expect(wantsEvent(['swap.*'], 'swapx.failed')).toBe(false);
    expect(wantsEvent(['*'], 'anything')).toBe(true);

    const home = tempDir();
    const tg = await telegramServer();
    const cfg = settings(home, {
      events: ['swap.completed', 'session.*'],
      telegram: { botToken: TOKEN, chatId: 1, apiBase: tg.url },
    });
    await emit(cfg, 'quota.detected', { session: 'ccl-1' }, { now: T0 });
    await emit(cfg, 'task.failed', { task: 't1' }, { now: T0 });
    expect(tg.requests).toHaveLength(0);
    await emit(cfg, 'session.degraded', { session: 'ccl-1' }, { now: T0, level: 'warn' });
    expect(tg.requests).toHaveLength(1);
    // notify.* events are internal: never delivered, even under '*'.
    const all = settings(home, { events: ['*'], telegram: cfg.notify.telegram });
    await emit(all, 'notify.dropped', {}, { now: T0 });
    expect(tg.requests).toHaveLength(1);
    const names = readEvents(cfg.stateDir).map((e) => e.event);
    expect(names).toEqual(
      expect.arrayContaining(['quota.detected', 'task.failed', 'session.degraded']),
    );
  });

  it('sends an identical event once per 10 minutes; other fields or a later time send again', async () => {
    const home = tempDir();
    const tg = await telegramServer();
    const cfg = settings(home, {
      events: ['accounts.exhausted'],
      telegram: { botToken: TOKEN, chatId: 1, apiBase: tg.url },
    });
    const fields = { account: 'primary', reason: 'limit' };
    await emit(cfg, 'accounts.exhausted', fields, { now: T0 });
    // Same name and fields; the timestamp and a timing field differ: a duplicate.
    await emit(cfg, 'accounts.exhausted', { ...fields, durationMs: 5 }, { now: at(5 * MIN) });
    expect(tg.requests).toHaveLength(1);
    await emit(
      cfg,
      'accounts.exhausted',
      { account: 'backup', reason: 'limit' },
      { now: at(6 * MIN) },
    );
    expect(tg.requests).toHaveLength(2);
    await emit(cfg, 'accounts.exhausted', fields, { now: at(DEDUP_WINDOW_MS + 1) });
    expect(tg.requests).toHaveLength(3);
    // A caller's dedupKey replaces the fingerprint.
    await emit(cfg, 'accounts.exhausted', { n: 1 }, { now: at(30 * MIN), dedupKey: 'episode-1' });
    await emit(cfg, 'accounts.exhausted', { n: 2 }, { now: at(31 * MIN), dedupKey: 'episode-1' });
    expect(tg.requests).toHaveLength(4);
    const events = readEvents(cfg.stateDir);
    expect(events.filter((e) => e.event === 'accounts.exhausted')).toHaveLength(6);
    expect(events.filter((e) => e.event === 'notify.deduplicated')).toHaveLength(2);
    expect(eventFingerprint({ event: 'a', x: 1, y: 2 })).toBe(
      eventFingerprint({ y: 2, x: 1, event: 'a' }),
    );
  });

  it('dedups across processes: six processes emit the same event at once, one message goes out', async () => {
    const home = tempDir();
    const tg = await telegramServer();
    const cfg = settings(home, {
      events: ['swap.failed'],
      telegram: { botToken: TOKEN, chatId: 1, apiBase: tg.url },
    });
    const file = await worker('notify-emit');
    const args = [JSON.stringify(cfg), 'swap.failed', '{"reason":"no target"}', T0.toISOString()];
    const runs = await Promise.all(Array.from({ length: 6 }, () => startWorker(file, args)));
    expect(runs.map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(tg.requests).toHaveLength(1);
    expect(readEvents(cfg.stateDir).filter((e) => e.event === 'swap.failed')).toHaveLength(6);
  });
});

describe('outbox', () => {
  it('a webhook that fails twice is retried by later runs with backoff, then delivered once', async () => {
    const home = tempDir();
    const hook = await startServer((_req, n) =>
      n <= 2 ? { status: 503, body: 'down for maintenance' } : { status: 204, body: '' },
    );
    const cfg = settings(home, {
      events: ['swap.completed'],
      webhook: { url: `${hook.url}/hook`, headers: { 'X-Test': 'yes' } },
    });
    await emit(cfg, 'swap.completed', { from: 'primary', to: 'backup' }, { now: T0 });
    expect(hook.requests).toHaveLength(1);
    const req = hook.requests[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/hook');
    expect(req.headers['x-test']).toBe('yes');
    expect(req.headers['content-type']).toBe('application/json');
    expect(JSON.parse(req.body)).toMatchObject({
      event: 'swap.completed',
      ts: T0.toISOString(),
      level: 'info',
      from: 'primary',
      to: 'backup',
      host: expect.any(String),
    });

    const outbox = path.join(cfg.stateDir, 'outbox.jsonl');
    expect(fs.statSync(outbox).mode & 0o777).toBe(0o600);
    let entries = readOutbox(cfg.stateDir).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      sink: 'webhook',
      attempts: 1,
      nextTryAt: at(retryDelay(1)).toISOString(),
    });
    expect(entries[0]!.lastError).toContain('HTTP 503');

    // Not due yet: nothing is sent.
    expect(await retryOutbox(cfg, { now: at(30_000) })).toMatchObject({ tried: 0, pending: 1 });
    expect(hook.requests).toHaveLength(1);
    // Due: fails again, and the next try backs off further.
    expect(await retryOutbox(cfg, { now: at(1 * MIN) })).toMatchObject({ tried: 1, failed: 1 });
    entries = readOutbox(cfg.stateDir).entries;
    expect(entries[0]).toMatchObject({
      attempts: 2,
      nextTryAt: at(1 * MIN + retryDelay(2)).toISOString(),
    });
    expect(await retryOutbox(cfg, { now: at(2 * MIN) })).toMatchObject({ tried: 0 });
    expect(hook.requests).toHaveLength(2);
    // Third try succeeds; the outbox empties and the delivery is recorded.
    expect(await retryOutbox(cfg, { now: at(3 * MIN) })).toMatchObject({
      tried: 1,
      delivered: 1,
      pending: 0,
    });
    expect(hook.requests).toHaveLength(3);
    expect(hook.requests.map((r) => r.body)).toEqual([req.body, req.body, req.body]);
    expect(readOutbox(cfg.stateDir).entries).toEqual([]);
    expect(await retryOutbox(cfg, { now: at(10 * MIN) })).toMatchObject({ tried: 0 });
    expect(hook.requests).toHaveLength(3);
    const events = readEvents(cfg.stateDir);
    expect(events.filter((e) => e.event === 'notify.failed')).toHaveLength(2);
    expect(events.find((e) => e.event === 'notify.delivered')).toMatchObject({
      for: 'swap.completed',
      sink: 'webhook',
      attempts: 3,
    });
  });

  it('backs off 1 min, doubling, at most 1 h, and drops an entry after 24 h with an event', async () => {
    expect([1, 2, 3, 4, 7, 8, 20].map(retryDelay)).toEqual([
      60_000, 120_000, 240_000, 480_000, 3_600_000, 3_600_000, 3_600_000,
    ]);
    const home = tempDir();
    const hook = await startServer(() => ({ status: 500, body: 'no' }));
    const cfg = settings(home, { events: ['task.failed'], webhook: { url: hook.url } });
    await emit(cfg, 'task.failed', { task: 't1' }, { now: T0 });
    let t = 0;
    while (t < 23 * 60 * MIN) {
      t += 60 * MIN;
      await retryOutbox(cfg, { now: at(t) });
    }
    expect(readOutbox(cfg.stateDir).entries).toHaveLength(1);
    const tries = hook.requests.length;
    expect(tries).toBeGreaterThan(20);
    const report = await retryOutbox(cfg, { now: at(24 * 60 * MIN) });
    expect(report).toMatchObject({ dropped: 1, tried: 0 });
    expect(hook.requests).toHaveLength(tries);
    expect(fs.existsSync(path.join(cfg.stateDir, 'outbox.jsonl'))).toBe(false);
    const dropped = readEvents(cfg.stateDir).find((e) => e.event === 'notify.dropped');
    expect(dropped).toMatchObject({
      level: 'warn',
      for: 'task.failed',
      sink: 'webhook',
      reason: 'undelivered for 24h',
    });
  });

  it('gives up on a sink that never answers after the timeout, and queues the event', async () => {
    expect(SINK_TIMEOUT_MS).toBe(5000);
    const home = tempDir();
    const hang = await startServer(() => 'hang');
    const tg = await telegramServer();
    const cfg = settings(home, {
      events: ['swap.failed'],
      webhook: { url: hang.url },
      telegram: { botToken: TOKEN, chatId: 1, apiBase: tg.url },
    });
    const started = Date.now();
    await emit(cfg, 'swap.failed', { reason: 'x' }, { now: T0, timeoutMs: 300 });
    const took = Date.now() - started;
    // It waited for the timeout (a sink that never answers would otherwise hold the test
    // until vitest's own timeout fails it).
    expect(took).toBeGreaterThanOrEqual(250);
    expect(hang.requests).toHaveLength(1);
    expect(tg.requests).toHaveLength(1); // the other sink, in parallel, still delivered
    const entries = readOutbox(cfg.stateDir).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ sink: 'webhook', lastError: 'timed out' });
  });

  it('several processes queueing at once lose no entry', async () => {
    const home = tempDir();
    const hook = await startServer(() => ({ status: 500, body: 'no' }));
    const cfg = settings(home, { events: ['task.failed'], webhook: { url: hook.url } });
    const file = await worker('notify-emit');
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        startWorker(file, [
          JSON.stringify(cfg),
          'task.failed',
          `{"task":"t${i}"}`,
          T0.toISOString(),
        ]),
      ),
    );
    expect(runs.map((r) => r.exitCode)).toEqual(Array(8).fill(0));
    const outbox = readOutbox(cfg.stateDir);
    expect(outbox.invalid).toEqual([]);
    expect(outbox.entries.map((e) => e.record.task).sort()).toEqual(
      Array.from({ length: 8 }, (_, i) => `t${i}`),
    );
  });

  it('never throws, even when the state dir cannot be written', async () => {
    const home = tempDir();
    fs.writeFileSync(path.join(home, 'state'), 'a file where the state dir should be');
    const cfg = settings(home, { events: ['*'], webhook: { url: 'http://127.0.0.1:1/x' } });
    const record = await emit(cfg, 'swap.completed', { a: 1 }, { now: T0, timeoutMs: 500 });
    expect(record).toMatchObject({ event: 'swap.completed', a: 1 });
    await expect(retryOutbox(cfg, { now: T0 })).resolves.toMatchObject({ tried: 0 });
  });
});

describe('command sink', () => {
  it('runs the argv with no shell and the event JSON on stdin; a failure is queued', async () => {
    const home = tempDir();
    const got = path.join(home, 'got.json');
    const script = `require('fs').writeFileSync(process.argv[1], require('fs').readFileSync(0, 'utf8') + process.env.CLAUDE_FAILOVER_EVENT)`;
    const cfg = settings(home, {
      events: ['swap.completed', 'task.failed'],
      command: [process.execPath, '-e', script, got, '$(touch pwned)'],
    });
    await emit(cfg, 'swap.completed', { note: '`touch pwned2`; $(id)' }, { now: T0 });
    const [json, name] = fs.readFileSync(got, 'utf8').split('\n');
    expect(JSON.parse(json!)).toMatchObject({
      event: 'swap.completed',
      note: '`touch pwned2`; $(id)',
    });
    expect(name).toBe('swap.completed');
    expect(fs.readdirSync(cfg.stateDir).filter((f) => f.startsWith('pwned'))).toEqual([]);
    expect(fs.readdirSync(home).filter((f) => f.startsWith('pwned'))).toEqual([]);

    const failing = settings(home, {
      events: ['task.failed'],
      command: [process.execPath, '-e', 'process.stderr.write("sink broke\\n"); process.exit(3)'],
    });
    await emit(failing, 'task.failed', { task: 't9' }, { now: T0 });
    const entry = readOutbox(cfg.stateDir).entries[0];
    expect(entry).toMatchObject({ sink: 'command', lastError: 'node: exit 3: sink broke' });

    const missing = settings(home, { events: ['*'], command: ['/nonexistent/notifier'] });
    const report = await sendTest(missing, { now: T0 });
    expect(report.results[0]).toMatchObject({ ok: false, error: 'notifier: command not found' });
  });
});

describe('notify test (CLI) and secrets', () => {
  it('the generic redaction removes a bot token from a Telegram URL', () => {
    const text = redact(`request to https://api.telegram.org/bot${TOKEN}/sendMessage failed`);
    expect(text).toBe('request to https://api.telegram.org/bot[REDACTED]/sendMessage failed');
  });

  it('reports each sink, exits 1 when one fails, and no token or header secret appears anywhere', async () => {
    const home = tempDir();
    const tgBad = await telegramServer(true);
    const hook = await startServer((req) => ({
      status: 502,
      body: `bad gateway for ${req.url} auth=${req.headers.authorization}`,
    }));
    const cfgFile = writeConfig(
      home,
      `stateDir: ${home}/state
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
notify:
  events: ['*']
  telegram: { botToken: '\${TELEGRAM_BOT_TOKEN}', chatId: '42', apiBase: '${tgBad.url}' }
  webhook: { url: '${hook.url}/hooks/${PATH_SECRET}', headers: { Authorization: 'Bearer ${HEADER_SECRET}', X-Key: '${HEADER_SECRET}' } }
`,
    );
    const env = { TELEGRAM_BOT_TOKEN: TOKEN };
    const res = await runCli(['-v', '-c', cfgFile, 'notify', 'test'], { home, env });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toMatch(/^failed\s+telegram chat 42: HTTP 401: Unauthorized/m);
    expect(res.stdout).toMatch(/^failed\s+webhook http:\/\/127\.0\.0\.1:\d+: HTTP 502/m);
    // The token really went out (in the URL), and the servers echoed it back.
    expect(tgBad.requests[0]!.url).toBe(`/bot${TOKEN}/sendMessage`);
    expect(hook.requests[0]!.headers.authorization).toBe(`Bearer ${HEADER_SECRET}`);
    const json = await runCli(['-c', cfgFile, '--json', 'notify', 'test'], { home, env });
    expect(json.exitCode).toBe(1);
    const doc = JSON.parse(json.stdout) as { sinks: Array<{ sink: string; status: string }> };
    expect(doc.sinks.map((s) => [s.sink, s.status])).toEqual([
      ['telegram', 'failed'],
      ['webhook', 'failed'],
    ]);

    // The same secrets through emit and the outbox.
    const cfg = settings(home, {
      events: ['*'],
      telegram: { botToken: TOKEN, chatId: '42', apiBase: tgBad.url },
      webhook: {
        url: `${hook.url}/hooks/${PATH_SECRET}`,
        headers: { Authorization: `Bearer ${HEADER_SECRET}` },
      },
    });
    await emit(cfg, 'swap.failed', { reason: 'x' }, { now: T0 });
    await retryOutbox(cfg, { now: at(5 * MIN) });
    expect(readOutbox(cfg.stateDir).entries).toHaveLength(2);

    expectNoSecrets([
      ['stdout', res.stdout],
      ['stderr', res.stderr],
      ['--json stdout', json.stdout],
      ['--json stderr', json.stderr],
      ...allFiles(path.join(home, 'state')),
    ]);
  });

  it('exits 0 when every sink works, and says so when none is configured', async () => {
    const home = tempDir();
    const tg = await telegramServer();
    const cfgFile = writeConfig(
      home,
      `stateDir: ${home}/state
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
notify:
  events: []
  telegram: { botToken: '${TOKEN}', chatId: 42, apiBase: '${tg.url}' }
  command: ['${process.execPath}', '-e', 'process.stdin.resume()']
`,
    );
    const ok = await runCli(['-c', cfgFile, 'notify', 'test'], { home });
    expect(ok.exitCode).toBe(0);
    expect(ok.stdout).toMatch(/^ok\s+telegram chat 42 \(\d+ ms\)$/m);
    expect(ok.stdout).toMatch(/^ok\s+command .*node/m);
    expect(JSON.parse(tg.requests[0]!.body).text).toContain('notify.test');

    const none = writeConfig(
      home,
      `stateDir: ${home}/state2
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
`,
      'none.yaml',
    );
    const res = await runCli(['-c', none, 'notify', 'test'], { home });
    expect(res.exitCode).toBe(0);
    expect(res.stderr).toContain('no notification sink is configured');
    expect(res.stdout).toBe('');
  });
});
