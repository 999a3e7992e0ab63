/**
 * The commands in-process: a real context on temp dirs and a private tmux socket (no server
 * is started), each command called with its options and its returned data checked. The
 * wiring (flags, rendering, exit codes) is covered by cli.test.ts through the built CLI.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cronPrint } from '../src/commands/cron.js';
import { quotaExplain, quotaExplainCommand } from '../src/commands/quota-explain.js';
import { status } from '../src/commands/status.js';
import { systemdOptionsSchema, systemdPrint } from '../src/commands/systemd.js';
import { taskAdd, taskAddOptionsSchema, taskList } from '../src/commands/task.js';
import { parseConfigText } from '../src/lib/core/config-parse.js';
import { systemClock } from '../src/lib/core/clock.js';
import { contextFromConfig } from '../src/lib/core/context.js';
import { Output } from '../src/lib/core/output.js';
import { tempDir, tmuxSocket } from './helpers/env.js';

async function sandbox() {
  const home = tempDir('cf-commands-');
  const api = path.join(home, 'src', 'api');
  fs.mkdirSync(api, { recursive: true });
  const configFile = path.join(home, 'config.yaml');
  const yaml = `stateDir: ${home}/state
sharedProjectsDir: ${home}/shared/projects
accounts:
  - { name: primary, configDir: ${home}/accounts/primary, priority: 1 }
  - { name: backup, configDir: ${home}/accounts/backup, priority: 2 }
projects:
  - { name: api, path: ${api} }
sessions:
  - { name: 'ccl-{0..1}', project: api }
tmux: { socket: ${tmuxSocket().socket} }
quota: { timezone: Europe/Berlin }
dispatch: { settle: 0s }
lock: { waitFor: 2s, staleAfter: 2s }
`;
  fs.writeFileSync(configFile, yaml);
  const out = new Output({ quiet: true });
  const env = { HOME: home, PATH: process.env.PATH, XDG_CONFIG_HOME: path.join(home, '.config') };
  const ctx = contextFromConfig(await parseConfigText(yaml, configFile), { out, env, cwd: home });
  return { home, api, configFile, ctx };
}

/** Parses the options the way the CLI does, then runs the command. */
function parse<Options>(
  schema: { safeParse(raw: unknown): { success: true; data: Options } | { success: false } },
  raw: Record<string, unknown>,
): Options {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new Error(`options rejected: ${JSON.stringify(raw)}`);
  return parsed.data;
}

describe('commands called in-process', () => {
  it('status reports the accounts and the configured sessions, none running', async () => {
    const { ctx } = await sandbox();
    const report = await status({}, ctx);
    expect(report.activeAccount).toBe('primary');
    expect(report.accounts.map((a) => [a.name, a.status])).toEqual([
      ['primary', 'available'],
      ['backup', 'available'],
    ]);
    expect(report.sessions.map((s) => s.name)).toEqual(['ccl-0', 'ccl-1']);
    expect(report.sessions.every((s) => s.state === 'stopped')).toBe(true);
    expect(report.lastSwap).toBeNull();
  });

  it('task add queues a file with its priority; task list returns it', async () => {
    const { ctx, home, api } = await sandbox();
    const file = path.join(home, 'fix-login.md');
    fs.writeFileSync(file, 'Fix the login form.\n');
    const opts = parse(taskAddOptionsSchema, { project: 'api', file, priority: ' 7 ' });
    expect(opts.priority).toBe(7);
    const added = await taskAdd(opts, ctx);
    expect(added).toMatchObject({ project: 'api', task: 'fix-login' });
    expect(fs.existsSync(path.join(api, '.agent-queue', 'inbox', 'fix-login.md'))).toBe(true);

    const listed = await taskList({}, ctx);
    expect(listed.tasks).toEqual([
      expect.objectContaining({ project: 'api', task: 'fix-login', state: 'pending', priority: 7 }),
    ]);
    // A command throws a CliError, which only main turns into the exit code.
    await expect(taskList({ project: 'other' }, ctx)).rejects.toMatchObject({
      name: 'UsageError',
      exitCode: 2,
      message: "unknown project 'other'",
    });
  });

  it('a bad --priority is rejected by the options schema, with the value in the message', () => {
    const parsed = taskAddOptionsSchema.safeParse({ project: 'api', priority: '1.5' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['priority'],
      message: 'expected an integer, got "1.5"',
    });
  });

  it('quota explain reads clock-only reset times in quota.timezone and needs no state', async () => {
    const { ctx, home, configFile } = await sandbox();
    const pane = path.join(home, 'pane.txt');
    fs.writeFileSync(pane, '5-hour limit reached · resets 3pm\n');
    const base = {
      out: ctx.out,
      clock: systemClock,
      env: ctx.env,
      cwd: home,
      configPath: configFile,
    };
    const r = await quotaExplain({ file: pane, now: '2026-07-04T10:00:00Z' }, base);
    expect(r.settings).toMatchObject({
      timezone: 'Europe/Berlin',
      timezoneSource: 'quota.timezone',
    });
    expect(r.source).toContain('pane.txt');
    expect(quotaExplainCommand.json?.(r)).toEqual({
      verdict: 'limit',
      kind: expect.any(String),
      resetsAt: '2026-07-04T13:00:00.000Z',
      resetText: expect.stringContaining('3pm'),
      pattern: expect.any(String),
      line: '5-hour limit reached · resets 3pm',
    });
    expect(fs.existsSync(path.join(home, 'state'))).toBe(false);
  });

  it('cron print and systemd print return the tick command for this config', async () => {
    const { ctx, home, configFile } = await sandbox();
    const cron = await cronPrint({}, ctx);
    expect(cron.log).toBe(path.join(home, 'state', 'cron.log'));
    expect(cron.line).toMatch(/^\* \* \* \* \* PATH=/);
    expect(cron.line).toContain(` -q -c ${configFile} tick >> `);
    expect(cron.block).toContain(cron.line);

    const units = await systemdPrint(parse(systemdOptionsSchema, { user: true, every: '1m' }), ctx);
    expect(units.dir).toBe(path.join(home, '.config', 'systemd', 'user'));
    expect(units.units.map((u) => path.basename(u.path))).toEqual([
      'claude-failover.service',
      'claude-failover.timer',
    ]);
    expect(units.units[1]!.content).toContain('Description=Run claude-failover tick every 1m');
  });
});
