import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  runCli,
  sandboxConfig,
  startWorker,
  tempDir,
  tmuxSocket,
  waitForOutput,
  worker,
  writeConfig,
} from './helpers/env.js';

const DOCUMENTED_COMMANDS = [
  'init',
  'demo',
  'doctor',
  'setup',
  'status',
  'session',
  'watch',
  'quota',
  'swap',
  'dispatch',
  'task',
  'checkpoint',
  'janitor',
  'notify',
  'hook',
  'cron',
  'systemd',
  'tick',
];

describe('command line', () => {
  it('--help lists every command of README: Commands and exits 0', async () => {
    const home = tempDir();
    const res = await runCli(['--help'], { home });
    expect(res.exitCode).toBe(0);
    for (const cmd of DOCUMENTED_COMMANDS)
      expect(res.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    const groups = await Promise.all(
      ['session', 'quota', 'task', 'hook', 'cron', 'systemd', 'notify'].map((g) =>
        runCli([g, '--help'], { home }),
      ),
    );
    expect(groups.map((g) => g.exitCode)).toEqual([0, 0, 0, 0, 0, 0, 0]);
    expect(groups[0]!.stdout).toMatch(/start[\s\S]*stop[\s\S]*restart[\s\S]*list/);
    expect(groups[2]!.stdout).toMatch(/add[\s\S]*list[\s\S]*done[\s\S]*fail[\s\S]*requeue/);
  });

  it('an unknown command or option is a usage error (exit 2), never a silent 0', async () => {
    const home = tempDir();
    for (const args of [['frobnicate'], ['status', '--frob'], ['task', 'fail', 'x']]) {
      const res = await runCli(args, { home });
      expect(res.exitCode, args.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/unknown (command|option)|required option/);
    }
  });

  it('usage errors exit 2', async () => {
    const home = tempDir();
    expect((await runCli(['bogus'], { home })).exitCode).toBe(2);
    expect((await runCli(['status', '--bogus-flag'], { home })).exitCode).toBe(2);
    expect((await runCli(['quota'], { home })).exitCode).toBe(2);
  });

  it('without a config, says where it looked and exits 2', async () => {
    const home = tempDir();
    const res = await runCli(['status'], { home });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain(
      'no config file found; looked at: --config, $CLAUDE_FAILOVER_CONFIG',
    );
    expect(res.stderr).toContain('claude-failover init');
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace for a user error
  });

  it('an invalid config names the file and key path, exits 2, and --json keeps stdout one JSON document', async () => {
    const home = tempDir();
    const cfg = writeConfig(
      home,
      'accounts:\n  - { name: a, configDir: /x }\n  - { name: b, configDir: 7 }\n',
    );
    const res = await runCli(['status', '-c', cfg], { home });
    expect(res.exitCode).toBe(2);
    expect(res.stderr).toContain(
      'config.yaml: accounts[1].configDir: expected string, received number',
    );
    const json = await runCli(['status', '--json', '-c', cfg], { home });
    expect(json.exitCode).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { exitCode: 2 } });
    expect(JSON.parse(json.stdout).error.message).toContain('accounts[1].configDir');
  });

  it('finds the config through $CLAUDE_FAILOVER_CONFIG', async () => {
    const home = tempDir();
    const cfg = writeConfig(home, sandboxConfig(home), 'elsewhere.yaml');
    const res = await runCli(['status', '--json'], { home, env: { CLAUDE_FAILOVER_CONFIG: cfg } });
    expect(res.exitCode).toBe(0);
    expect(JSON.parse(res.stdout).activeAccount).toBe('primary');
  });
});

describe('status', () => {
  it('works on a fresh install with no state file and prints a table', async () => {
    const home = tempDir();
    const cfg = writeConfig(
      home,
      sandboxConfig(home, `tmux: { socket: cf-none-${process.pid} }\n`),
    );
    const res = await runCli(['status', '-c', cfg], { home });
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout).toContain('active account: primary');
    expect(res.stdout).toMatch(/primary \*\s*│ 1\s*│ available/);
    expect(res.stdout).toMatch(/ccl-2\s*│ api\s*│ -\s*│ stopped/);
    expect(res.stdout).toContain('last swap: none');
    expect(fs.existsSync(path.join(home, 'state', 'state.json'))).toBe(false);
  });

  it('--json has the documented shape and fuses tmux, state, hooks and queues', async () => {
    const home = tempDir();
    const { socket, tmux } = tmuxSocket();
    const cfg = writeConfig(home, sandboxConfig(home, `tmux: { socket: ${socket} }\n`));
    const project = path.join(home, 'src', 'api');
    const q = path.join(project, '.agent-queue');
    for (const d of ['inbox', 'done', 'failed']) fs.mkdirSync(path.join(q, d), { recursive: true });
    fs.writeFileSync(path.join(q, 'inbox', 't1.md'), 'one');
    fs.writeFileSync(path.join(q, 'inbox', 't2.md'), 'two');
    fs.writeFileSync(path.join(q, 'inbox', 't2.md.dispatched'), '{}');
    fs.writeFileSync(path.join(q, 'inbox', '.hidden.md'), 'x');
    fs.writeFileSync(path.join(q, 'inbox', 'notes.txt'), 'x');
    fs.writeFileSync(path.join(q, 'done', 't0.md'), 'zero');
    fs.writeFileSync(path.join(q, 'failed', 'tx.md'), 'bad');
    fs.writeFileSync(path.join(q, 'failed', 'tx.error.txt'), 'why');
    fs.writeFileSync(
      path.join(q, 'status.json'),
      JSON.stringify({
        sessions: {
          'ccl-0': {
            state: 'working',
            task: 't2',
            claudeSessionId: 'abc',
            updatedAt: '2026-11-24T10:00:00Z',
          },
        },
      }),
    );
    const now = new Date();
    fs.mkdirSync(path.join(home, 'state'), { recursive: true });
    fs.writeFileSync(
      path.join(home, 'state', 'state.json'),
      JSON.stringify({
        version: 1,
        activeAccount: 'backup',
        cooldownUntil: new Date(now.getTime() + 60_000).toISOString(),
        accounts: {
          primary: { exhaustedUntil: new Date(now.getTime() + 3_600_000).toISOString() },
        },
        sessions: {
          'ccl-0': {
            account: 'backup',
            claudeSessionId: '11111111-2222-3333-4444-555555555555',
            launchedAt: '2026-11-24T09:00:00Z',
            restarts: ['2026-11-24T09:30:00Z'],
          },
          'ccl-1': { account: 'backup', launchedAt: '2026-11-24T09:00:00Z' },
        },
        lastSwap: {
          from: 'primary',
          to: 'backup',
          at: now.toISOString(),
          reason: 'limit',
          durationMs: 1234,
          outcome: 'completed',
        },
      }),
    );
    await tmux.newSession({ name: 'ccl-0', cwd: project, command: ['sleep', '600'] });

    const res = await runCli(['status', '--json', '-c', cfg], { home });
    expect(res.exitCode, res.stderr).toBe(0);
    const r = JSON.parse(res.stdout);
    expect(Object.keys(r)).toEqual(
      expect.arrayContaining([
        'now',
        'activeAccount',
        'cooldownUntil',
        'accounts',
        'sessions',
        'queues',
        'lastSwap',
      ]),
    );
    expect(r.activeAccount).toBe('backup');
    expect(r.cooldownUntil).not.toBeNull();
    expect(r.accounts).toEqual([
      {
        name: 'primary',
        priority: 1,
        status: 'exhausted',
        exhaustedUntil: expect.any(String),
        usage: null,
        usedPercent: null,
        draining: false,
      },
      {
        name: 'backup',
        priority: 2,
        status: 'available',
        exhaustedUntil: null,
        usage: null,
        usedPercent: null,
        draining: false,
      },
    ]);
    expect(r.sessions).toEqual([
      {
        name: 'ccl-0',
        project: 'api',
        account: 'backup',
        state: 'working',
        task: 't2',
        claudeSessionId: '11111111-2222-3333-4444-555555555555',
        restarts: 1,
        lastSeenAt: null,
      },
      {
        name: 'ccl-1',
        project: 'api',
        account: 'backup',
        state: 'dead',
        task: null,
        claudeSessionId: null,
        restarts: 0,
        lastSeenAt: null,
      },
      {
        name: 'ccl-2',
        project: 'api',
        account: null,
        state: 'stopped',
        task: null,
        claudeSessionId: null,
        restarts: 0,
        lastSeenAt: null,
      },
    ]);
    expect(r.queues).toEqual([{ project: 'api', pending: 1, dispatched: 1, done: 1, failed: 1 }]);
    expect(r.lastSwap).toMatchObject({ from: 'primary', to: 'backup', outcome: 'completed' });
  });
});

describe('init', () => {
  it('writes the example config, refuses to overwrite without --force', async () => {
    const home = tempDir();
    const target = path.join(home, '.config', 'claude-failover', 'config.yaml');
    const first = await runCli(['init'], { home });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(fs.readFileSync(target, 'utf8')).toContain('sharedProjectsDir:');
    fs.appendFileSync(target, '# my edit\n');

    const second = await runCli(['init'], { home });
    expect(second.exitCode).toBe(2);
    expect(second.stderr).toContain('already exists');
    expect(fs.readFileSync(target, 'utf8')).toContain('# my edit');

    const forced = await runCli(['init', '--force'], { home });
    expect(forced.exitCode).toBe(0);
    expect(fs.readFileSync(target, 'utf8')).not.toContain('# my edit');
    // The config it wrote is found by the lookup and is valid.
    const status = await runCli(['status', '--json'], { home });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).sessions).toHaveLength(20);
  });
});

describe('doctor', () => {
  function sandbox(extra = '') {
    const home = tempDir();
    const cfg = writeConfig(
      home,
      sandboxConfig(home, `agent: { command: ${process.execPath} }\n${extra}`),
    );
    for (const a of ['primary', 'backup'])
      fs.mkdirSync(path.join(home, 'accounts', a), { recursive: true });
    return { home, cfg };
  }

  it('prints one line per check and fails (exit 1) on a world-readable credentials file; --repair fixes it', async () => {
    const { home, cfg } = sandbox();
    const creds = path.join(home, 'accounts', 'primary', '.credentials.json');
    fs.writeFileSync(creds, '{"claudeAiOauth":{"accessToken":"sk-ant-oat01-secretsecretsecret"}}', {
      mode: 0o644,
    });
    fs.chmodSync(creds, 0o644);
    const res = await runCli(['doctor', '-c', cfg], { home });
    expect(res.exitCode).toBe(1);
    expect(res.stdout).toMatch(/^ok\s+tmux: tmux \d/m);
    expect(res.stdout).toMatch(/^ok\s+agent: /m);
    expect(res.stdout).toMatch(/^fail\s+account primary: .*mode 644/m);
    expect(res.stdout).toMatch(/^warn\s+account backup: no \.credentials\.json/m);
    expect(res.stdout).not.toContain('secretsecret');
    const fixed = await runCli(['doctor', '--repair', '-c', cfg], { home });
    expect(fixed.exitCode, fixed.stdout).toBe(0);
    expect(fs.statSync(creds).mode & 0o777).toBe(0o600);
  });

  it('fails on a missing agent binary', async () => {
    const { home, cfg } = sandbox();
    fs.writeFileSync(
      cfg,
      fs.readFileSync(cfg, 'utf8').replace(process.execPath, 'no-such-agent-binary'),
    );
    const res = await runCli(['doctor', '--json', '-c', cfg], { home });
    expect(res.exitCode).toBe(1);
    const report = JSON.parse(res.stdout);
    expect(report.ok).toBe(false);
    expect(report.checks).toContainEqual(expect.objectContaining({ name: 'agent', level: 'fail' }));
  });

  it('exits 75 when the state lock stays busy', async () => {
    const { home, cfg } = sandbox('');
    fs.writeFileSync(
      cfg,
      fs
        .readFileSync(cfg, 'utf8')
        .replace(
          'lock: { waitFor: 2s, staleAfter: 2s }',
          'lock: { waitFor: 500ms, staleAfter: 30s }',
        ),
    );
    const dir = path.join(home, 'state');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'state.json'), '{');
    const holder = startWorker(await worker('lock-holder'), [dir]);
    try {
      await waitForOutput(holder, 'locked');
      const res = await runCli(['doctor', '--repair', '-c', cfg], { home });
      expect(res.exitCode).toBe(75);
      expect(res.stderr).toContain('is locked by another claude-failover process');
      expect(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).toBe('{');
    } finally {
      holder.kill('SIGKILL');
      await holder;
    }
  });
});
