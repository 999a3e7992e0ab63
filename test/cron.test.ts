import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/lib/core/config-parse.js';
import {
  CRON_BEGIN,
  CRON_END,
  cronBlock,
  cronLine,
  withCronBlock,
  withoutCronBlock,
} from '../src/lib/schedule/cron.js';
import { findExecutable } from '../src/lib/core/exec.js';
import { tickCommand } from '../src/lib/schedule/timer-command.js';
import { runCli, tempDir, writeConfig } from './helpers/env.js';

const isRoot = process.getuid?.() === 0;
const HAS_CRONTAB = Boolean(findExecutable('crontab'));
// Say why the real-crontab tests do not run, once, where the test output shows it.
if (!isRoot || !HAS_CRONTAB)
  console.warn(
    !isRoot
      ? 'cron.test.ts: the real-crontab tests need root (useradd); skipped'
      : "cron.test.ts: crontab is missing (install the Debian package 'cron'; .ci/run does); the real-crontab tests are skipped",
  );
const BLOCK = `${CRON_BEGIN}\n# ours\n* * * * * true\n${CRON_END}\n`;

/**
 * What cron does with a crontab command before /bin/sh sees it (Debian cron, do_command.c):
 * a `%` not escaped by a backslash ends the command; `\%` becomes `%`.
 */
function cronCommand(line: string): string {
  const command = line.replace(/^(\S+\s+){5}/, '');
  let out = '';
  let escaped = false;
  for (const ch of command) {
    if (escaped) {
      if (ch === '%') out = `${out.slice(0, -1)}%`;
      else out += ch;
      escaped = false;
      continue;
    }
    if (ch === '\\') {
      escaped = true;
      out += ch;
      continue;
    }
    if (ch === '%') break;
    out += ch;
  }
  return out;
}

describe('the crontab text (no crontab binary needed)', () => {
  it('appends the block, replaces it in place, and removes only it', () => {
    const user = '# mine\nMAILTO=""\n*/5 * * * *\techo hi  \n\n';
    const added = withCronBlock(user, BLOCK);
    expect(added).toEqual({ text: user + BLOCK, action: 'installed' });
    expect(withCronBlock(added.text, BLOCK)).toEqual({ text: added.text, action: 'unchanged' });
    const after = `${added.text}0 3 * * * backup\n`;
    const newer = BLOCK.replace('true', 'false');
    const updated = withCronBlock(after, newer);
    expect(updated).toEqual({ text: `${user}${newer}0 3 * * * backup\n`, action: 'updated' });
    expect(withoutCronBlock(updated.text)).toEqual({
      text: `${user}0 3 * * * backup\n`,
      removed: true,
    });
    expect(withoutCronBlock(user)).toEqual({ text: user, removed: false });
    expect(withCronBlock('', BLOCK).text).toBe(BLOCK);
  });

  it('keeps a last line without a newline, CRLF lines and odd bytes', () => {
    const user = '# caf\u00e9 latin1\r\nFOO=bar\r\n  @reboot   run  ';
    const added = withCronBlock(user, BLOCK);
    expect(added.text).toBe(`${user}\n${BLOCK}`);
    expect(withoutCronBlock(added.text).text).toBe(`${user}\n`);
    // Two blocks (a hand copy): install keeps the first place, uninstall removes both.
    const twice = `a\n${BLOCK}b\n${BLOCK}c\n`;
    expect(withCronBlock(twice, BLOCK).text).toBe(`a\n${BLOCK}b\nc\n`);
    expect(withoutCronBlock(twice).text).toBe('a\nb\nc\n');
  });

  it('refuses a damaged block instead of guessing', () => {
    expect(() => withCronBlock(`a\n${CRON_BEGIN}\n* * * * * x\n`, BLOCK)).toThrow(
      /block in the crontab \(line 2\) has no end marker/,
    );
    expect(() => withoutCronBlock(`${CRON_END}\n`)).toThrow(/end marker without a start/);
  });

  it('the line quotes hostile paths for /bin/sh, escapes % for cron, and runs with a bare env', async () => {
    const home = tempDir();
    const dir = path.join(home, "it's a dir %d $(touch pwned) `id`");
    fs.mkdirSync(dir);
    const file = writeConfig(
      dir,
      `stateDir: ./state
accounts: [{ name: primary, configDir: ./accounts/primary }]
tmux: { socket: cf-test-cron-${randomBytes(3).toString('hex')} }
`,
    );
    const config = parseConfig(
      {
        stateDir: './state',
        accounts: [{ name: 'primary', configDir: './accounts/primary' }],
      },
      file,
    );
    const tick = tickCommand(config, { env: { PATH: '/opt/x/bin:relative/bin:/usr/bin' } });
    expect(tick.path.split(':')).toEqual(
      expect.arrayContaining(['/opt/x/bin', '/usr/local/bin', '/usr/bin', '/bin']),
    );
    expect(tick.path).not.toContain('relative');
    expect(tick.args).toEqual(['-q', '-c', file, 'tick']);
    const line = cronLine(tick);
    expect(line).toMatch(/^\* \* \* \* \* PATH=/);
    expect(line).toContain('\\%d');
    expect(line).not.toMatch(/[^\\]%/);
    expect(cronBlock(tick).split('\n')).toEqual([
      CRON_BEGIN,
      expect.stringContaining('every minute'),
      line,
      CRON_END,
      '',
    ]);

    // Run the same line with `status --json` in place of `tick`, as cron would: its /bin/sh,
    // its bare environment. The output lands in <stateDir>/cron.log.
    fs.mkdirSync(config.stateDir, { recursive: true });
    const probe = cronLine({ ...tick, args: ['-c', file, '--json', 'status'] });
    const res = await execa('/bin/sh', ['-c', cronCommand(probe)], {
      extendEnv: false,
      env: { HOME: home, LOGNAME: 'nobody', SHELL: '/bin/sh', PATH: '/usr/bin:/bin' },
      cwd: '/',
      reject: false,
    });
    expect(res.exitCode).toBe(0);
    const log = fs.readFileSync(path.join(config.stateDir, 'cron.log'), 'utf8');
    expect(JSON.parse(log)).toMatchObject({ activeAccount: 'primary' });
    expect(fs.existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(fs.existsSync('/pwned')).toBe(false);
  });
});

describe.skipIf(!isRoot || !HAS_CRONTAB)(
  'cron install|uninstall with the real crontab binary',
  () => {
    // A throwaway system user, so no real crontab is ever touched.
    const user = `cftest${randomBytes(4).toString('hex')}`;
    const env = { CLAUDE_FAILOVER_CRONTAB_USER: user };

    const crontabBytes = async (): Promise<Buffer | null> => {
      const res = await execa('crontab', ['-u', user, '-l'], {
        encoding: 'buffer',
        reject: false,
        stripFinalNewline: false,
      });
      if (res.exitCode !== 0) {
        expect(Buffer.from(res.stderr).toString()).toContain('no crontab for');
        return null;
      }
      return Buffer.from(res.stdout);
    };
    const setCrontab = async (bytes: Buffer) => {
      await execa('crontab', ['-u', user, '-'], { input: bytes });
    };

    beforeAll(async () => {
      await execa('useradd', [
        '--system',
        '--no-create-home',
        '--shell',
        '/usr/sbin/nologin',
        user,
      ]);
    });
    afterAll(async () => {
      await execa('crontab', ['-u', user, '-r'], { reject: false });
      await execa('userdel', [user], { reject: false });
    });

    it('installs idempotently, keeps every other line byte for byte, and uninstalls only the block', async () => {
      const home = tempDir();
      const cfg = writeConfig(
        home,
        `stateDir: ${home}/state
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
`,
      );
      // Comments, env lines, tabs, trailing spaces, blank lines, a % and a byte that is not UTF-8.
      const seed = Buffer.concat([
        Buffer.from('# my jobs\nMAILTO=""\nSHELL=/bin/bash\n\n'),
        Buffer.from([0x23, 0x20, 0x63, 0x61, 0x66, 0xe9, 0x0a]), // "# caf\xe9\n" (latin1)
        Buffer.from('*/5 *\t* * *   date +\\%s >> /tmp/x   \n   \n@reboot echo hi\n'),
      ]);
      await setCrontab(seed);

      const printed = await runCli(['-c', cfg, 'cron', 'print'], { home, env });
      expect(printed.exitCode).toBe(0);
      const block = `${printed.stdout}\n`; // runCli strips the final newline
      expect(block.startsWith(`${CRON_BEGIN}\n`)).toBe(true);
      expect(block.endsWith(`\n${CRON_END}\n`)).toBe(true);
      expect(block).toContain(`-q -c ${cfg} tick >> ${home}/state/cron.log 2>&1`);
      expect(await crontabBytes()).toEqual(seed); // print changes nothing

      const first = await runCli(['-c', cfg, 'cron', 'install'], { home, env });
      expect(first.exitCode, first.stderr).toBe(0);
      expect(first.stdout).toContain(
        `installed the claude-failover block in the crontab of ${user}`,
      );
      const installed = await crontabBytes();
      expect(installed).toEqual(Buffer.concat([seed, Buffer.from(block)]));
      expect(fs.statSync(`${home}/state`).isDirectory()).toBe(true); // the log's dir exists

      const second = await runCli(['-c', cfg, '--json', 'cron', 'install'], { home, env });
      expect(second.exitCode).toBe(0);
      expect(JSON.parse(second.stdout)).toMatchObject({ action: 'unchanged', crontabUser: user });
      expect(await crontabBytes()).toEqual(installed);

      // The operator adds a job after the block; a new config updates the block in place.
      const tail = Buffer.from('0 4 * * * /usr/local/bin/backup\n');
      await setCrontab(Buffer.concat([installed!, tail]));
      const cfg2 = writeConfig(
        home,
        `stateDir: ${home}/state2
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
`,
        'other.yaml',
      );
      const updated = await runCli(['-c', cfg2, 'cron', 'install'], { home, env });
      expect(updated.stdout).toContain('updated the claude-failover block');
      const block2 = `${(await runCli(['-c', cfg2, 'cron', 'print'], { home, env })).stdout}\n`;
      expect(await crontabBytes()).toEqual(Buffer.concat([seed, Buffer.from(block2), tail]));

      const removed = await runCli(['-c', cfg2, 'cron', 'uninstall'], { home, env });
      expect(removed.exitCode).toBe(0);
      expect(removed.stdout).toContain('removed the claude-failover block');
      expect(await crontabBytes()).toEqual(Buffer.concat([seed, tail]));

      const again = await runCli(['-c', cfg2, '--json', 'cron', 'uninstall'], { home, env });
      expect(JSON.parse(again.stdout)).toEqual({ action: 'absent', crontabUser: user });
      expect(await crontabBytes()).toEqual(Buffer.concat([seed, tail]));
    });

    it('with no crontab at all: install creates one, uninstall leaves none', async () => {
      await execa('crontab', ['-u', user, '-r'], { reject: false });
      const home = tempDir();
      const cfg = writeConfig(
        home,
        `stateDir: ${home}/state
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
`,
      );
      expect(await crontabBytes()).toBeNull();
      const res = await runCli(['-c', cfg, 'cron', 'install'], { home, env });
      expect(res.exitCode, res.stderr).toBe(0);
      const block = `${(await runCli(['-c', cfg, 'cron', 'print'], { home, env })).stdout}\n`;
      expect((await crontabBytes())?.toString()).toBe(block);
      expect((await runCli(['-c', cfg, 'cron', 'uninstall'], { home, env })).exitCode).toBe(0);
      expect(await crontabBytes()).toBeNull();
    });

    it('a hand-edited crontab whose last line has no newline keeps that line', async () => {
      // crontab itself refuses such a file, so write the spool file the way an editor would
      // leave it: crontab's 3-line header (which `crontab -l` hides), then the jobs.
      const spool = '/var/spool/cron/crontabs';
      if (!fs.existsSync(spool)) return; // not Debian's cron layout: nothing to test here
      const jobs = '# mine\n*/2 * * * * echo last   ';
      const header = '# DO NOT EDIT THIS FILE - edit the master and reinstall.\n# (x)\n# (y)\n';
      const file = path.join(spool, user);
      fs.writeFileSync(file, header + jobs, { mode: 0o600 });
      await execa('chown', [`${user}:crontab`, file]);
      expect((await crontabBytes())?.toString()).toBe(jobs);

      const home = tempDir();
      const cfg = writeConfig(
        home,
        `stateDir: ${home}/state
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
`,
      );
      expect((await runCli(['-c', cfg, 'cron', 'install'], { home, env })).exitCode).toBe(0);
      const block = `${(await runCli(['-c', cfg, 'cron', 'print'], { home, env })).stdout}\n`;
      expect((await crontabBytes())?.toString()).toBe(`${jobs}\n${block}`);
      expect((await runCli(['-c', cfg, 'cron', 'uninstall'], { home, env })).exitCode).toBe(0);
      expect((await crontabBytes())?.toString()).toBe(`${jobs}\n`);
    });

    it('refuses a damaged block and needs a config file', async () => {
      const home = tempDir();
      const cfg = writeConfig(
        home,
        `stateDir: ${home}/state
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
`,
      );
      const broken = Buffer.from(`# keep\n${CRON_BEGIN}\n* * * * * something\n`);
      await setCrontab(broken);
      for (const verb of ['install', 'uninstall']) {
        const res = await runCli(['-c', cfg, 'cron', verb], { home, env });
        expect(res.exitCode).toBe(1);
        expect(res.stderr).toContain('has no end marker');
      }
      expect(await crontabBytes()).toEqual(broken);

      const none = await runCli(['cron', 'install'], { home, env });
      expect(none.exitCode).toBe(2);
      expect(none.stderr).toContain('no config file found');
      expect(await crontabBytes()).toEqual(broken);
    });
  },
);

if (!isRoot) {
  // Visible in the run: the real-crontab tests need root to create a throwaway user.
  console.warn(
    'cron.test.ts: skipping the real-crontab tests: they need root (useradd, crontab -u)',
  );
}
