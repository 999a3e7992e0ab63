/** `setup`: account dirs, the shared transcript tree, activeLink and the hooks. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, sandboxConfig, tempDir, writeConfig } from './helpers/env.js';

function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else out[r] = fs.readFileSync(path.join(dir, r), 'utf8');
    }
  };
  walk('');
  return out;
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('setup', () => {
  it('merges two non-empty projects/ trees into the shared one without losing a file', async () => {
    const home = tempDir();
    const cfg = writeConfig(
      home,
      sandboxConfig(home, `activeLink: ${home}/.claude\ntmux: { socket: cf-unused }`),
    );
    const p = (acct: string) => path.join(home, 'accounts', acct, 'projects');
    write(`${p('primary')}/-src-api/a.jsonl`, 'primary a\n');
    write(`${p('primary')}/-src-api/same.jsonl`, 'primary copy\n');
    write(`${p('primary')}/-src-web/w.jsonl`, 'primary w\n');
    write(`${p('backup')}/-src-api/b.jsonl`, 'backup b\n');
    write(`${p('backup')}/-src-api/same.jsonl`, 'backup copy\n');
    write(`${p('backup')}/-src-api/memory/notes.md`, 'memory\n');
    const before = [...Object.values(tree(p('primary'))), ...Object.values(tree(p('backup')))];

    const r = await runCli(['-c', cfg, 'setup'], { home });
    expect(r.exitCode, r.stderr).toBe(0);
    const shared = path.join(home, 'shared', 'projects');
    for (const acct of ['primary', 'backup']) {
      expect(fs.lstatSync(p(acct)).isSymbolicLink()).toBe(true);
      expect(fs.readlinkSync(p(acct))).toBe(shared);
    }
    const merged = tree(shared);
    expect(merged).toMatchObject({
      '-src-api/a.jsonl': 'primary a\n',
      '-src-api/b.jsonl': 'backup b\n',
      '-src-web/w.jsonl': 'primary w\n',
      '-src-api/memory/notes.md': 'memory\n',
    });
    // The clash: one copy in the shared tree, the other kept where it was (moved aside).
    const everything = [
      ...Object.values(merged),
      ...fs
        .readdirSync(path.join(home, 'accounts', 'backup'))
        .filter((n) => n.startsWith('projects.pre-setup-'))
        .flatMap((n) => Object.values(tree(path.join(home, 'accounts', 'backup', n)))),
      ...fs
        .readdirSync(path.join(home, 'accounts', 'primary'))
        .filter((n) => n.startsWith('projects.pre-setup-'))
        .flatMap((n) => Object.values(tree(path.join(home, 'accounts', 'primary', n)))),
    ];
    expect(everything.sort()).toEqual(before.sort());
    expect(r.stdout).toMatch(/clash/);

    // activeLink points at the active account.
    expect(fs.readlinkSync(path.join(home, '.claude'))).toBe(
      path.join(home, 'accounts', 'primary'),
    );

    // A second run changes nothing.
    const again = await runCli(['-c', cfg, 'setup', '--json'], { home });
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({ changes: [] });
  });

  it('merges its hooks with the user settings, idempotently, and uninstalls only its own', async () => {
    const home = tempDir();
    const cfg = writeConfig(home, sandboxConfig(home));
    const settingsFile = path.join(home, 'accounts', 'primary', 'settings.json');
    const userSettings = {
      model: 'opus',
      hooks: {
        Stop: [{ matcher: '', hooks: [{ type: 'command', command: 'notify-send done' }] }],
        PreToolUse: [{ matcher: 'Bash', hooks: [{ type: 'command', command: 'my-guard' }] }],
      },
      statusLine: { type: 'command', command: '~/bin/my-status.sh' },
    };
    write(settingsFile, JSON.stringify(userSettings, null, 2));

    expect((await runCli(['-c', cfg, 'setup'], { home })).exitCode).toBe(0);
    const s = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
    expect(s.model).toBe('opus');
    for (const ev of ['SessionStart', 'UserPromptSubmit', 'Stop', 'StopFailure']) {
      const cmds = s.hooks[ev].flatMap((g: { hooks: Array<{ command: string }> }) =>
        g.hooks.map((h) => h.command),
      );
      expect(cmds.some((c: string) => c.includes(`claude-failover.js hook run ${ev}`))).toBe(true);
      // Absolute node and CLI paths: Claude Code runs hooks with its own PATH.
      expect(cmds.find((c: string) => c.includes('hook run'))).toMatch(/^\/\S+node\S* \/\S+/);
    }
    expect(JSON.stringify(s.hooks.Stop)).toContain('notify-send done');
    expect(s.hooks.PreToolUse).toEqual(userSettings.hooks.PreToolUse);
    expect(s.statusLine.command).toMatch(/hook statusline$/);
    // The user's statusline is kept and passed through.
    const kept = JSON.parse(
      fs.readFileSync(path.join(home, 'state', 'statusline', 'primary.json'), 'utf8'),
    );
    expect(kept.command).toBe('~/bin/my-status.sh');
    expect(fs.statSync(settingsFile).mode & 0o777).toBe(0o600);

    const once = fs.readFileSync(settingsFile, 'utf8');
    expect((await runCli(['-c', cfg, 'setup'], { home })).exitCode).toBe(0);
    expect(fs.readFileSync(settingsFile, 'utf8')).toBe(once);

    const un = await runCli(['-c', cfg, 'setup', '--uninstall-hooks'], { home });
    expect(un.exitCode, un.stderr).toBe(0);
    const after = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
    expect(after).toEqual({ ...userSettings, skipDangerousModePermissionPrompt: true });
    const backupSettings = JSON.parse(
      fs.readFileSync(path.join(home, 'accounts', 'backup', 'settings.json'), 'utf8'),
    );
    expect(backupSettings.hooks ?? {}).toEqual({});
  });

  it('refuses a settings.json that is not JSON, naming it, and changes nothing', async () => {
    const home = tempDir();
    const cfg = writeConfig(home, sandboxConfig(home));
    const settingsFile = path.join(home, 'accounts', 'primary', 'settings.json');
    write(settingsFile, '{ "model": "opus", ');
    const r = await runCli(['-c', cfg, 'setup'], { home });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${settingsFile}: not valid JSON`);
    expect(fs.readFileSync(settingsFile, 'utf8')).toBe('{ "model": "opus", ');
  });
});
