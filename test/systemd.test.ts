import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { findExecutable } from '../src/lib/core/exec.js';
import { onCalendarFor, systemdQuote, UNIT_MARKER } from '../src/lib/schedule/systemd.js';
import { parseDuration } from '../src/lib/core/units.js';
import { runCli, tempDir, writeConfig } from './helpers/env.js';

const ANALYZE = findExecutable('systemd-analyze');
if (!ANALYZE) {
  console.warn(
    'systemd.test.ts: skipping the systemd-analyze verify tests: systemd-analyze is not installed',
  );
}

/** A config in a directory whose name holds every character systemd treats specially. */
function hostileConfig(home: string): string {
  const dir = path.join(home, `a dir "quoted" it's %n $HOME \\x`);
  fs.mkdirSync(dir, { recursive: true });
  return writeConfig(
    dir,
    `stateDir: ${home}/state
accounts: [{ name: primary, configDir: ${home}/accounts/primary }]
`,
  );
}

async function printUnits(home: string, cfg: string, extra: string[] = []) {
  const res = await runCli(['-c', cfg, '--json', 'systemd', 'print', ...extra], { home });
  expect(res.exitCode, res.stderr).toBe(0);
  const doc = JSON.parse(res.stdout) as {
    dir: string;
    units: Array<{ path: string; content: string }>;
  };
  return { dir: doc.dir, service: doc.units[0]!, timer: doc.units[1]! };
}

/** Runs `systemd-analyze [--user] verify` on the units written into a temp dir. */
async function verify(units: Array<{ path: string; content: string }>, user: boolean) {
  const dir = tempDir('cf-units-');
  const files = units.map((u) => {
    const f = path.join(dir, path.basename(u.path));
    fs.writeFileSync(f, u.content);
    return f;
  });
  const runtime = tempDir('cf-runtime-');
  fs.chmodSync(runtime, 0o700);
  return execa(ANALYZE!, [...(user ? ['--user'] : []), 'verify', ...files], {
    reject: false,
    env: { XDG_RUNTIME_DIR: runtime, SYSTEMD_LOG_COLOR: '0' },
  });
}

describe('systemd units', () => {
  it('print shows a oneshot service and a 30 s persistent timer with absolute paths', async () => {
    const home = tempDir();
    const cfg = hostileConfig(home);
    const sys = await printUnits(home, cfg);
    expect(sys.dir).toBe('/etc/systemd/system');
    expect(sys.service.path).toBe('/etc/systemd/system/claude-failover.service');
    expect(sys.timer.path).toBe('/etc/systemd/system/claude-failover.timer');
    const service = sys.service.content;
    expect(service.startsWith(`${UNIT_MARKER}\n`)).toBe(true);
    expect(service).toMatch(/^Type=oneshot$/m);
    expect(service).toMatch(/^User=\S+$/m);
    const envPath = /^Environment="PATH=([^"]*)"$/m.exec(service)![1]!.split(':');
    expect(envPath[0]).toBe(path.dirname(process.execPath));
    expect(envPath).toEqual(expect.arrayContaining(['/usr/local/bin', '/usr/bin', '/bin']));
    expect(service).toMatch(/^KillMode=process$/m);
    const exec = /^ExecStart=(.*)$/m.exec(service)![1]!;
    expect(exec.startsWith(`${process.execPath} `)).toBe(true);
    expect(exec).toMatch(/\/bin\/claude-failover\.js -q -c ".*" tick$/);
    // Quoting: backslash and " escaped, % and $ doubled.
    expect(exec).toContain('a dir \\"quoted\\" it\'s %%n $$HOME \\\\x/config.yaml');
    const timer = sys.timer.content;
    expect(timer).toMatch(/^OnCalendar=\*:\*:0\/30$/m);
    expect(timer).toMatch(/^AccuracySec=1s$/m);
    expect(timer).toMatch(/^Persistent=true$/m);
    expect(timer).toMatch(/^WantedBy=timers\.target$/m);

    const user = await printUnits(home, cfg, ['--user']);
    expect(user.dir).toBe(path.join(home, '.config', 'systemd', 'user'));
    expect(user.service.content).not.toMatch(/^User=/m);

    const human = await runCli(['-c', cfg, 'systemd', 'print'], { home });
    expect(human.stdout).toContain(`# ${sys.service.path}\n${UNIT_MARKER}`);
    expect(human.stdout).toContain(`# ${sys.timer.path}\n${UNIT_MARKER}`);
  });

  it.skipIf(!ANALYZE)('system and user units pass systemd-analyze verify', async () => {
    const home = tempDir();
    const cfg = hostileConfig(home);
    for (const user of [false, true]) {
      const u = await printUnits(home, cfg, user ? ['--user'] : []);
      const res = await verify([u.service, u.timer], user);
      expect(res.exitCode, String(res.stderr)).toBe(0);
      expect(String(res.stderr)).toBe(''); // not even a warning
    }
    // The check can fail: a broken unit does not pass.
    const u = await printUnits(home, cfg);
    const broken = { ...u.service, content: u.service.content.replace(/" tick$/m, ' tick') };
    const bad = await verify([broken, u.timer], false);
    expect(bad.exitCode).not.toBe(0);
  });

  it.skipIf(!ANALYZE)('--every sets the period; systemd reads it as every N seconds', async () => {
    for (const [every, expr, step] of [
      ['30s', '*:*:0/30', 30],
      ['10s', '*:*:0/10', 10],
      ['5m', '*:0/5:00', 300],
      ['2h', '0/2:00:00', 7200],
    ] as const) {
      expect(onCalendarFor(parseDuration(every)!)).toBe(expr);
      const res = await execa(ANALYZE!, ['calendar', '--iterations', '4', expr], {
        env: { TZ: 'UTC' },
      });
      const times = [...res.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): (.+)$/gm)].map((m) =>
        Date.parse(m[1]!.replace(/^\w+ /, '').replace(/ UTC$/, 'Z').replace(' ', 'T')),
      );
      expect(times).toHaveLength(4);
      expect(times.slice(1).map((t, i) => (t - times[i]!) / 1000)).toEqual([step, step, step]);
    }
    const home = tempDir();
    const cfg = hostileConfig(home);
    const five = await printUnits(home, cfg, ['--every', '5m']);
    expect(five.timer.content).toMatch(/^OnCalendar=\*:0\/5:00$/m);
    expect(five.timer.content).toContain('Description=Run claude-failover tick every 5m');
    for (const bad of ['45s', '7m', 'soon']) {
      const res = await runCli(['-c', cfg, 'systemd', 'print', '--every', bad], { home });
      expect(res.exitCode, bad).toBe(2);
      expect(res.stderr).toContain('--every');
    }
  });

  it('install --user writes only our units, idempotently; uninstall removes only them', async () => {
    const home = tempDir();
    const cfg = hostileConfig(home);
    const dir = path.join(home, '.config', 'systemd', 'user');
    fs.mkdirSync(path.join(dir, 'timers.target.wants'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'other.service'), '[Service]\nExecStart=/bin/true\n');
    fs.symlinkSync('../other.timer', path.join(dir, 'timers.target.wants', 'other.timer'));

    const first = await runCli(['-c', cfg, 'systemd', 'install', '--user', '--no-enable'], {
      home,
    });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain(`wrote ${dir}/claude-failover.service`);
    expect(first.stdout).toContain(`wrote ${dir}/claude-failover.timer`);
    expect(first.stdout).toContain(
      'to enable the timer, run: systemctl --user daemon-reload && systemctl --user enable --now claude-failover.timer',
    );
    expect(first.stderr).toContain('loginctl enable-linger');
    const printed = await printUnits(home, cfg, ['--user']);
    for (const u of [printed.service, printed.timer]) {
      expect(fs.readFileSync(u.path, 'utf8')).toBe(u.content);
      expect(fs.statSync(u.path).mode & 0o777).toBe(0o644);
    }

    const second = await runCli(
      ['-c', cfg, '--json', 'systemd', 'install', '--user', '--no-enable'],
      { home },
    );
    expect(JSON.parse(second.stdout)).toMatchObject({
      written: [],
      unchanged: [printed.service.path, printed.timer.path],
      systemctl: 'skipped',
      commands: [
        ['systemctl', '--user', 'daemon-reload'],
        ['systemctl', '--user', 'enable', '--now', 'claude-failover.timer'],
      ],
    });

    // What `systemctl enable` would have made; uninstall takes it away too.
    const link = path.join(dir, 'timers.target.wants', 'claude-failover.timer');
    fs.symlinkSync('../claude-failover.timer', link);
    const removed = await runCli(['-c', cfg, 'systemd', 'uninstall', '--user', '--no-enable'], {
      home,
    });
    expect(removed.exitCode).toBe(0);
    expect(removed.stdout).toContain(`removed ${printed.timer.path}`);
    expect(removed.stdout).toContain(`removed ${printed.service.path}`);
    expect(fs.existsSync(printed.service.path)).toBe(false);
    expect(fs.existsSync(printed.timer.path)).toBe(false);
    expect(fs.existsSync(link)).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'other.service'), 'utf8')).toContain('/bin/true');
    expect(fs.readlinkSync(path.join(dir, 'timers.target.wants', 'other.timer'))).toBe(
      '../other.timer',
    );
    const again = await runCli(['-c', cfg, 'systemd', 'uninstall', '--user'], { home });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('nothing to do');
  });

  it('never replaces or removes a unit of the same name that is not ours', async () => {
    const home = tempDir();
    const cfg = hostileConfig(home);
    const dir = path.join(home, '.config', 'systemd', 'user');
    fs.mkdirSync(dir, { recursive: true });
    const theirs = path.join(dir, 'claude-failover.service');
    fs.writeFileSync(theirs, '[Service]\nExecStart=/bin/true\n');
    const res = await runCli(['-c', cfg, 'systemd', 'install', '--user', '--no-enable'], {
      home,
    });
    expect(res.exitCode).toBe(1);
    expect(res.stderr).toContain('was not written by claude-failover');
    expect(fs.existsSync(path.join(dir, 'claude-failover.timer'))).toBe(false);
    const un = await runCli(['-c', cfg, 'systemd', 'uninstall', '--user', '--no-enable'], {
      home,
    });
    expect(un.exitCode).toBe(0);
    expect(un.stderr).toContain('not written by claude-failover; left in place');
    expect(fs.readFileSync(theirs, 'utf8')).toBe('[Service]\nExecStart=/bin/true\n');
  });

  it.skipIf(fs.existsSync('/run/systemd/system'))(
    'without a running systemd, install prints the systemctl commands instead of running them',
    async () => {
      const home = tempDir();
      const cfg = hostileConfig(home);
      const res = await runCli(['-c', cfg, '--json', 'systemd', 'install', '--user'], { home });
      expect(res.exitCode, res.stderr).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ systemctl: 'skipped' });
    },
  );

  it('quotes words for ExecStart', () => {
    expect(systemdQuote('/usr/bin/node')).toBe('/usr/bin/node');
    expect(systemdQuote('/a b')).toBe('"/a b"');
    expect(systemdQuote('/a"b\\c')).toBe('"/a\\"b\\\\c"');
    expect(systemdQuote('/x%i$HOME')).toBe('"/x%%i$$HOME"');
  });
});
