import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ROOT,
  runCli,
  sandboxConfig,
  tempDir,
  writeConfig,
  type CliResult,
} from './helpers/env.js';
import { FIXTURES, KIND_OF_SUBTYPE, RESETS } from './helpers/limit-fixtures.js';

const LIMIT =
  "  ⎿  You've hit your session limit · resets 12:50am (America/Los_Angeles)\n     /upgrade to increase your usage limit.\n";
const NOW = '2026-07-04T05:00:00Z';
const KEYS = ['verdict', 'kind', 'resetsAt', 'resetText', 'pattern', 'line'];

function json(res: CliResult): Record<string, unknown> {
  expect(res.stderr).toBe('');
  return JSON.parse(res.stdout) as Record<string, unknown>;
}

/** Runs `fn` over `items`, `n` at a time (the machine has two cores and other tests run). */
async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

describe('quota explain', () => {
  it('reads stdin without FILE and prints exactly the documented explain object, with no config at all', async () => {
    const home = tempDir();
    const res = await runCli(['quota', 'explain', '--now', NOW, '--json'], { home, input: LIMIT });
    expect(res.exitCode).toBe(0);
    const out = json(res);
    expect(Object.keys(out)).toEqual(KEYS);
    expect(out).toEqual({
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-07-04T07:50:00.000Z',
      resetText: 'resets 12:50am (America/Los_Angeles)',
      pattern: 'limit.hit-your-window',
      line: "⎿ You've hit your session limit · resets 12:50am (America/Los_Angeles)",
    });
    expect(fs.existsSync(path.join(home, '.config', 'claude-failover'))).toBe(false);
  });

  it('reads a FILE and "-" (stdin) alike', async () => {
    const home = tempDir();
    const file = path.join(home, 'pane.txt');
    fs.writeFileSync(file, LIMIT);
    const [fromFile, fromDash] = await Promise.all([
      runCli(['quota', 'explain', file, '--now', NOW, '--json'], { home }),
      runCli(['quota', 'explain', '-', '--now', NOW, '--json'], { home, input: LIMIT }),
    ]);
    expect(fromFile.exitCode).toBe(0);
    expect(json(fromFile)).toEqual(json(fromDash));
    // a relative FILE is taken from the cwd
    const rel = await runCli(['--json', 'quota', 'explain', 'pane.txt', '--now', NOW], { home });
    expect(json(rel).resetsAt).toBe('2026-07-04T07:50:00.000Z');
  });

  it('prints a readable explanation: verdict, kind, reset in UTC and local time, pattern, line', async () => {
    const home = tempDir();
    const pane = `${LIMIT}\n✻ API error · Retrying in 3s · attempt 2/10\n`;
    const res = await runCli(['quota', 'explain', '--now', NOW], { home, input: pane });
    expect(res.exitCode).toBe(0);
    expect(res.stdout).toMatch(/^verdict\s+limit \(session\)$/m);
    expect(res.stdout).toMatch(
      /^resets at\s+2026-07-04T07:50:00\.000Z\s+\(Sat 4 Jul 2026, 00:50 America\/Los_Angeles; in 2h 50m\)$/m,
    );
    expect(res.stdout).toMatch(/^pattern\s+limit\.hit-your-window$/m);
    expect(res.stdout).toMatch(/^line 1\s+⎿ You've hit your session limit/m);
    expect(res.stdout).toMatch(/^why\s+a usage limit with a reset time/m);
    expect(res.stdout).toMatch(/line 4: transient transient\.retrying/);
  });

  it('exits 0 for every verdict', async () => {
    const home = tempDir();
    const inputs: Record<string, string> = {
      limit: 'API Error: Rate limit reached',
      warning: 'Approaching usage limit · resets at 3pm',
      transient: 'API Error: 529 Overloaded',
      stale: "You've hit your session limit · resets 4am (UTC)",
      none: 'hello',
    };
    const results = await Promise.all(
      Object.entries(inputs).map(async ([verdict, input]) => {
        const res = await runCli(['quota', 'explain', '--json', '--now', '2026-07-04T05:00:00Z'], {
          home,
          input,
        });
        return [verdict, res.exitCode, JSON.parse(res.stdout).verdict];
      }),
    );
    for (const [verdict, code, got] of results) expect([code, got]).toEqual([0, verdict]);
  });

  it('exits 2 naming the problem: bad --now, bad --tz, unreadable file', async () => {
    const home = tempDir();
    const [now, tz, file, dir] = await Promise.all([
      runCli(['quota', 'explain', '--now', 'yesterday-ish'], { home, input: 'x' }),
      runCli(['quota', 'explain', '--tz', 'Mars/Olympus'], { home, input: 'x' }),
      runCli(['quota', 'explain', 'missing.txt'], { home }),
      runCli(['quota', 'explain', home, '--json'], { home }),
    ]);
    expect([now.exitCode, tz.exitCode, file.exitCode, dir.exitCode]).toEqual([2, 2, 2, 2]);
    expect(now.stderr).toContain('--now: expected an ISO-8601 time');
    expect(now.stderr).toContain('yesterday-ish');
    expect(tz.stderr).toContain('--tz: unknown time zone "Mars/Olympus"');
    expect(file.stderr).toContain('missing.txt: cannot read the file: ENOENT');
    expect(JSON.parse(dir.stdout).error.message).toContain('cannot read the file: EISDIR');
  });

  it('--tz sets the zone for clock-only times; --now without an offset is read in it', async () => {
    const home = tempDir();
    const input = '5-hour limit reached ∙ resets 5am';
    const res = await runCli(
      ['quota', 'explain', '--json', '--tz', 'America/New_York', '--now', '2025-08-23T02:00'],
      { home, input },
    );
    expect(json(res).resetsAt).toBe('2025-08-23T09:00:00.000Z');
  });

  it('uses quota.timezone and quota.patterns from the config when there is one; --tz wins', async () => {
    const home = tempDir();
    const file = writeConfig(
      home,
      sandboxConfig(
        home,
        `quota:\n  timezone: Asia/Tokyo\n  patterns:\n    limit: ['Kontingent erschöpft']\n    ignore: ['resets 9pm']\n`,
      ),
    );
    const now = '2026-06-01T03:00:00Z'; // 12:00 in Tokyo
    const [cfg, tzFlag, user, ignored] = await Promise.all([
      runCli(['-c', file, 'quota', 'explain', '--json', '--now', now], {
        home,
        input: "You've hit your session limit · resets 5pm",
      }),
      runCli(['-c', file, 'quota', 'explain', '--json', '--now', now, '--tz', 'UTC'], {
        home,
        input: "You've hit your session limit · resets 5am",
      }),
      runCli(['quota', 'explain', '--json', '--now', now], {
        home,
        input: 'Kontingent erschöpft · resets 2pm',
        env: { CLAUDE_FAILOVER_CONFIG: file },
      }),
      runCli(['-c', file, 'quota', 'explain', '--json', '--now', now], {
        home,
        input: "You've hit your session limit · resets 9pm",
      }),
    ]);
    expect(json(cfg).resetsAt).toBe('2026-06-01T08:00:00.000Z');
    expect(json(tzFlag).resetsAt).toBe('2026-06-01T05:00:00.000Z');
    expect(json(user)).toMatchObject({
      verdict: 'limit',
      pattern: 'user:Kontingent erschöpft',
      resetsAt: '2026-06-01T05:00:00.000Z',
    });
    expect(json(ignored)).toMatchObject({ verdict: 'none', pattern: 'user:resets 9pm' });
  });

  it('a config with an unknown quota.timezone exits 2 naming the file and key', async () => {
    const home = tempDir();
    const file = writeConfig(home, sandboxConfig(home, 'quota:\n  timezone: Nowhere/Atlantis\n'));
    const res = await runCli(['-c', file, 'quota', 'explain'], { home, input: 'x' });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain(`${file}: quota.timezone: unknown time zone "Nowhere/Atlantis"`);
  });

  it('an unknown zone in the message is a warning on stderr; stdout stays one JSON document', async () => {
    const home = tempDir();
    const res = await runCli(['quota', 'explain', '--json', '--now', NOW], {
      home,
      input: "You've hit your limit · resets 5am (Mars/Base)",
    });
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(res.stdout).resetsAt).toBe('2026-07-04T05:00:00.000Z');
    expect(res.stderr).toContain('unknown time zone "Mars/Base" in the message; read it in UTC');
  });

  it('reads the 2.1.332 screens: the limit line decides, the cancel notice and a long retry say why', async () => {
    const home = tempDir();
    const fixture = path.join(ROOT, 'test', 'fixtures', 'real-claude');
    const [cancelled, notice, retry, dayOnly] = await Promise.all([
      runCli(
        [
          'quota',
          'explain',
          path.join(fixture, 'limit-5h-cancelled-2.1.332.txt'),
          '--json',
          '--now',
          '2026-12-04T19:24:46Z',
          '--tz',
          'UTC',
        ],
        { home },
      ),
      runCli(['quota', 'explain', '--now', '2026-12-04T19:24:46Z'], {
        home,
        input: '● Automatic continue cancelled · /rate-limit-options to wait again\n',
      }),
      runCli(['quota', 'explain', '--now', '2026-12-04T19:27:27Z', '--tz', 'UTC'], {
        home,
        input: '✻ 5-hour limit reached · retrying in 2h (9:44pm) · attempt 1/300\n',
      }),
      runCli(['quota', 'explain', '--json', '--now', '2026-10-24T20:00:00Z'], {
        home,
        input: "You've hit your weekly limit · resets Oct 24 (Europe/Paris)\n",
      }),
    ]);
    expect(json(cancelled)).toEqual({
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-12-04T21:44:00.000Z',
      resetText: 'resets 9:44pm (UTC)',
      pattern: 'limit.hit-your-window',
      line: "⎿ You've hit your 5-hour limit · resets 9:44pm (UTC)",
    });
    expect(notice.stdout).toMatch(/^verdict\s+none$/m);
    expect(notice.stdout).toMatch(/^pattern\s+none\.auto-continue-notice$/m);
    expect(notice.stdout).toMatch(/^why\s+Claude Code's auto-continue notice .*not a new limit$/m);
    expect(retry.stdout).toMatch(/^verdict\s+limit \(session\)$/m);
    expect(retry.stdout).toMatch(/^resets at\s+2026-12-04T21:44:00\.000Z/m);
    expect(retry.stdout).toMatch(/^why\s+a rate-limit retry that waits 5 minutes or more/m);
    // A day without a time holds until that day is over there; the note goes to stderr.
    expect(dayOnly.exitCode).toBe(0);
    expect(JSON.parse(dayOnly.stdout)).toMatchObject({
      verdict: 'limit',
      resetsAt: '2026-10-24T22:00:00.000Z',
    });
    expect(dayOnly.stderr).toContain('until 2026-10-24 is over in Europe/Paris');
  });

  it('classifies every entry of fixtures/limit-messages.json through the CLI', async () => {
    const home = tempDir();
    const results = await pool(FIXTURES, 4, async (f) => {
      const r = RESETS[f.id];
      const now = r?.now ?? `${f.reported ?? '2026-01-01'}T12:00:00Z`;
      const res = await runCli(
        ['quota', 'explain', '--json', '--now', now, '--tz', r?.tz ?? 'UTC'],
        { home, input: f.text },
      );
      return { f, res };
    });
    for (const { f, res } of results) {
      expect([f.id, res.exitCode]).toEqual([f.id, 0]);
      const out = JSON.parse(res.stdout) as Record<string, unknown>;
      expect([f.id, out.verdict]).toEqual([f.id, f.class]);
      if (f.class === 'limit' || f.class === 'warning') {
        expect([f.id, out.kind]).toEqual([f.id, KIND_OF_SUBTYPE[f.subtype]]);
      }
      if (RESETS[f.id]) expect([f.id, out.resetsAt]).toEqual([f.id, RESETS[f.id]!.resetsAt]);
    }
  });
});
