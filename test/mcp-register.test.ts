/**
 * `setup` with `mcp.register: true` puts the MCP server in each account's `.claude.json`
 * (top-level `mcpServers`, where `claude mcp add -s user` puts one), merged with the user's
 * servers and keys, idempotent; `--uninstall-mcp` and `--uninstall-hooks` take only ours out.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli, sandboxConfig, tempDir, writeConfig } from './helpers/env.js';

function sandbox(register: boolean) {
  const home = tempDir('cf-mcpreg-');
  const config = writeConfig(home, sandboxConfig(home, `mcp: { register: ${register} }\n`));
  const claudeJson = (account: string) => path.join(home, 'accounts', account, '.claude.json');
  return {
    home,
    claudeJson,
    read: (account: string) => JSON.parse(fs.readFileSync(claudeJson(account), 'utf8')),
    cli: (args: string[]) => runCli(['-c', config, ...args], { home }),
  };
}

describe('setup and the MCP server', () => {
  it('registers it in every account, keeping the user’s servers, idempotently', async () => {
    const sb = sandbox(true);
    fs.mkdirSync(path.dirname(sb.claudeJson('primary')), { recursive: true });
    const mine = { type: 'stdio', command: 'my-server', args: ['--fast'], env: {} };
    fs.writeFileSync(
      sb.claudeJson('primary'),
      JSON.stringify({
        numStartups: 3,
        oauthAccount: { emailAddress: 'a@b.c' },
        mcpServers: { mine },
      }),
    );
    const first = await sb.cli(['setup']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/primary: registered the MCP server in .*primary\/\.claude\.json/);
    expect(first.stdout).toMatch(/backup: registered the MCP server in/);
    const primary = sb.read('primary');
    expect(primary.numStartups).toBe(3);
    expect(primary.oauthAccount).toEqual({ emailAddress: 'a@b.c' });
    expect(primary.mcpServers.mine).toEqual(mine);
    const ours = primary.mcpServers['claude-failover'];
    expect(ours).toEqual({
      type: 'stdio',
      command: process.execPath,
      args: [fs.realpathSync(BIN), 'mcp'],
      env: {},
    });
    expect(path.isAbsolute(ours.command)).toBe(true);
    expect(fs.statSync(sb.claudeJson('primary')).mode & 0o777).toBe(0o600);
    expect(sb.read('backup').mcpServers).toEqual({ 'claude-failover': ours });

    const again = await sb.cli(['setup']);
    expect(again.stdout.trim()).toBe('nothing to change');
    const mcpChecks = async () =>
      (
        JSON.parse((await sb.cli(['doctor', '--json'])).stdout).checks as Array<{
          name: string;
          level: string;
        }>
      ).filter((c) => c.name.endsWith(' mcp'));
    expect(await mcpChecks()).toEqual([
      expect.objectContaining({ name: 'account primary mcp', level: 'ok' }),
      expect.objectContaining({ name: 'account backup mcp', level: 'ok' }),
    ]);

    const removed = await sb.cli(['setup', '--uninstall-mcp']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    expect(removed.stdout).toMatch(/primary: removed the MCP server from/);
    expect(sb.read('primary').mcpServers).toEqual({ mine });
    expect((await mcpChecks()).map((c) => c.level)).toEqual(['warn', 'warn']);
    // Only the server went: the hooks stay.
    const settings = JSON.parse(
      fs.readFileSync(path.join(sb.home, 'accounts', 'primary', 'settings.json'), 'utf8'),
    );
    expect(Object.keys(settings.hooks)).toContain('Stop');

    await sb.cli(['setup']);
    expect(sb.read('primary').mcpServers['claude-failover']).toEqual(ours);
    const all = await sb.cli(['setup', '--uninstall-hooks']);
    expect(all.exitCode, all.stderr).toBe(0);
    expect(sb.read('primary').mcpServers).toEqual({ mine });
    expect(sb.read('backup').mcpServers).toEqual({});
  });

  it('leaves a server of the user’s own under our name alone, and says so', async () => {
    const sb = sandbox(true);
    fs.mkdirSync(path.dirname(sb.claudeJson('primary')), { recursive: true });
    const theirs = { type: 'stdio', command: 'something-else', args: [] };
    fs.writeFileSync(
      sb.claudeJson('primary'),
      JSON.stringify({ mcpServers: { 'claude-failover': theirs } }),
    );
    const r = await sb.cli(['setup']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/\.claude\.json: mcpServers\.claude-failover is a server of your own/);
    expect(sb.read('primary').mcpServers['claude-failover']).toEqual(theirs);
    expect((await sb.cli(['setup', '--uninstall-mcp'])).exitCode).toBe(0);
    expect(sb.read('primary').mcpServers['claude-failover']).toEqual(theirs);
  });

  it('with mcp.register off, adds nothing and ignores a broken .claude.json', async () => {
    const sb = sandbox(false);
    fs.mkdirSync(path.dirname(sb.claudeJson('primary')), { recursive: true });
    fs.writeFileSync(sb.claudeJson('primary'), '{ broken');
    const r = await sb.cli(['setup']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(fs.readFileSync(sb.claudeJson('primary'), 'utf8')).toBe('{ broken');
    expect(fs.existsSync(sb.claudeJson('backup'))).toBe(false);
    const asked = await sb.cli(['setup', '--uninstall-mcp']);
    expect(asked.exitCode).toBe(2);
    expect(asked.stderr).toMatch(/primary\/\.claude\.json: not valid JSON/);
  });
});
