/**
 * `systemd print|install|uninstall [--user]`: a `Type=oneshot` service that runs `tick`,
 * and a timer that starts it every 30 s (by default).
 *
 * The timer uses `OnCalendar=` because `Persistent=true` (catch up after the machine was
 * off) only applies to calendar timers, and `AccuracySec=1s` because the default accuracy
 * of one minute would merge the 30-second runs. A timer never starts a second copy of a
 * service that is still running, so a long tick (a swap) is not overlapped.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { CliError, UsageError } from '../core/errors.js';
import { run } from '../core/exec.js';
import { readFileIfExists, writeFileAtomic } from '../core/fs-atomic.js';
import { shQuote } from '../core/shell.js';
import { tickCommand, type TickCommand } from './timer-command.js';
import { formatDuration } from '../core/units.js';

const UNIT_NAME = 'claude-failover';
const SERVICE_FILE = `${UNIT_NAME}.service`;
export const TIMER_FILE = `${UNIT_NAME}.timer`;
const DEFAULT_EVERY_MS = 30_000;
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';
/** Every unit we write starts with this line; uninstall removes only files that carry it. */
export const UNIT_MARKER =
  "# Managed by claude-failover; 'claude-failover systemd uninstall' removes it.";

/**
 * The `OnCalendar=` expression for a period that divides a minute, an hour or a day.
 * Throws UsageError (exit 2) for any other period.
 */
export function onCalendarFor(ms: number): string {
  const s = ms / 1000;
  if (Number.isInteger(s) && s >= 1) {
    if (s < 60 && 60 % s === 0) return `*:*:0/${s}`;
    const m = s / 60;
    if (Number.isInteger(m) && m < 60 && 60 % m === 0) return `*:0/${m}:00`;
    const h = s / 3600;
    if (Number.isInteger(h) && h < 24 && 24 % h === 0) return `0/${h}:00:00`;
    if (h === 24) return '*-*-* 00:00:00';
  }
  throw new UsageError(
    `--every must divide a minute, an hour or a day evenly (10s, 15s, 30s, 1m, 5m, 1h...), got ${formatDuration(ms)}`,
  );
}

/**
 * Quotes one word of `ExecStart=`: double quotes with C escapes when needed, `%` doubled
 * (specifiers) and `$` doubled (variable expansion).
 */
export function systemdQuote(word: string): string {
  const q = /^[A-Za-z0-9_@+=:,./-]+$/.test(word)
    ? word
    : `"${word.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  return q.replace(/%/g, '%%').replace(/\$/g, '$$$$');
}

/** An `Environment=` assignment: quoted, specifiers escaped (no `$` expansion happens there). */
function environmentLine(name: string, value: string): string {
  const v = `${name}=${value}`.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%');
  return `Environment="${v}"`;
}

interface UnitOptions {
  /** A user unit (`systemctl --user`) rather than a system one. */
  user: boolean;
  /** The timer period in ms; default 30 s. */
  everyMs?: number;
  /** `User=` of a system unit; default: the user running the install. */
  runAs?: string;
}

interface Units {
  service: string;
  timer: string;
}

function renderUnits(tick: TickCommand, opts: UnitOptions): Units {
  const every = opts.everyMs ?? DEFAULT_EVERY_MS;
  const calendar = onCalendarFor(every);
  const exec = [tick.node, tick.cli, ...tick.args].map(systemdQuote).join(' ');
  const service = [
    UNIT_MARKER,
    '[Unit]',
    'Description=claude-failover tick: watch, quota check, dispatch, checkpoint, janitor',
    '',
    '[Service]',
    'Type=oneshot',
    ...(opts.user ? [] : [`User=${opts.runAs ?? os.userInfo().username}`]),
    environmentLine('PATH', tick.path),
    `ExecStart=${exec}`,
    '# tick may start the tmux server and the agents, which must outlive it: when it ends,',
    "# only its own process is stopped (as Debian's cron.service does).",
    'KillMode=process',
    '# A swap can take minutes; a hung tick must still not block every later one.',
    'TimeoutStartSec=1h',
    '',
  ].join('\n');
  const timer = [
    UNIT_MARKER,
    '[Unit]',
    `Description=Run claude-failover tick every ${formatDuration(every)}`,
    '',
    '[Timer]',
    `OnCalendar=${calendar}`,
    '# The default accuracy (1 min) would merge runs that are closer together.',
    'AccuracySec=1s',
    '# Run at once after the machine was off through a due run (calendar timers only).',
    'Persistent=true',
    '',
    '[Install]',
    'WantedBy=timers.target',
    '',
  ].join('\n');
  return { service, timer };
}

/** Where the units go: /etc/systemd/system, or the user's `$XDG_CONFIG_HOME/systemd/user`. */
export function unitDir(user: boolean, env: NodeJS.ProcessEnv = process.env): string {
  if (!user) return SYSTEM_UNIT_DIR;
  const xdg = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(xdg, 'systemd', 'user');
}

export interface InstallResult {
  dir: string;
  written: string[];
  unchanged: string[];
}

function isOurs(file: string): boolean {
  const text = readFileIfExists(file);
  return text !== undefined && text.startsWith(UNIT_MARKER);
}

function writeError(err: unknown, file: string, user: boolean): never {
  const code = (err as NodeJS.ErrnoException).code;
  throw new CliError(`cannot write ${file}: ${code ?? (err as Error).message}`, {
    hint:
      code === 'EACCES' || code === 'EPERM'
        ? user
          ? 'check the permissions of that directory'
          : 'system units need root (sudo); or install user units with --user'
        : undefined,
  });
}

/** Writes both units into `dir` (0644); an existing unit we did not write is never replaced. */
function installUnits(units: Units, dir: string, user: boolean): InstallResult {
  const result: InstallResult = { dir, written: [], unchanged: [] };
  const files: Array<[string, string]> = [
    [path.join(dir, SERVICE_FILE), units.service],
    [path.join(dir, TIMER_FILE), units.timer],
  ];
  for (const [file] of files) {
    if (fs.existsSync(file) && !isOurs(file)) {
      throw new CliError(
        `${file} exists and was not written by claude-failover; leaving it alone`,
        {
          hint: 'move it away first if claude-failover should manage it',
        },
      );
    }
  }
  for (const [file, content] of files) {
    if (readFileIfExists(file) === content) {
      result.unchanged.push(file);
      continue;
    }
    try {
      fs.mkdirSync(dir, { recursive: true });
      writeFileAtomic(file, content, { mode: 0o644 });
    } catch (err) {
      writeError(err, file, user);
    }
    result.written.push(file);
  }
  return result;
}

export interface UninstallResult {
  dir: string;
  removed: string[];
  /** Files with our names that we did not write: left in place. */
  kept: string[];
}

/** Removes our two units and the `timers.target.wants` link `enable` made; nothing else. */
function uninstallUnits(dir: string, user: boolean): UninstallResult {
  const result: UninstallResult = { dir, removed: [], kept: [] };
  const link = path.join(dir, 'timers.target.wants', TIMER_FILE);
  try {
    if (fs.lstatSync(link).isSymbolicLink()) {
      fs.unlinkSync(link);
      result.removed.push(link);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') writeError(err, link, user);
  }
  for (const name of [TIMER_FILE, SERVICE_FILE]) {
    const file = path.join(dir, name);
    if (!fs.existsSync(file)) continue;
    if (!isOurs(file)) {
      result.kept.push(file);
      continue;
    }
    try {
      fs.unlinkSync(file);
    } catch (err) {
      writeError(err, file, user);
    }
    result.removed.push(file);
  }
  return result;
}

/** The systemctl calls that go with an install or an uninstall, as argv arrays. */
function systemctlSteps(verb: 'install' | 'uninstall', user: boolean): string[][] {
  const base = user ? ['systemctl', '--user'] : ['systemctl'];
  return verb === 'install'
    ? [
        [...base, 'daemon-reload'],
        [...base, 'enable', '--now', TIMER_FILE],
      ]
    : [
        [...base, 'disable', '--now', TIMER_FILE],
        [...base, 'daemon-reload'],
      ];
}

/** Whether this machine was booted with systemd (what sd_booted checks). */
function systemdRunning(): boolean {
  return fs.existsSync('/run/systemd/system');
}

export interface TimerOptions {
  /** User units (`systemctl --user`) rather than system units. */
  user: boolean;
  /** The timer period in ms; default 30 s. */
  everyMs?: number;
  /** false with --no-enable: write or remove the files only. */
  enable?: boolean;
}

/** How the systemctl steps went: run, not attempted (no systemd, --no-enable), or failed. */
export type SystemctlOutcome = 'ran' | 'skipped' | 'failed';

/** Runs the systemctl steps when systemd runs here; a failure is warned about on stderr. */
async function systemctl(
  ctx: Context,
  steps: string[][],
  opts: TimerOptions,
): Promise<SystemctlOutcome> {
  if (opts.enable === false || !systemdRunning()) return 'skipped';
  for (const [file, ...args] of steps) {
    try {
      await run(file!, args, { timeout: 30_000 });
    } catch (err) {
      ctx.out.warn(`${[file, ...args].join(' ')} failed: ${(err as Error).message}`);
      return 'failed';
    }
  }
  return 'ran';
}

function timerUnits(ctx: Context, opts: TimerOptions) {
  const dir = unitDir(opts.user, ctx.env);
  const tick = tickCommand(ctx.config, { env: ctx.env });
  return { dir, units: renderUnits(tick, { user: opts.user, everyMs: opts.everyMs }) };
}

/** `systemd print`: both units and where they would go. */
export function printTimer(
  ctx: Context,
  opts: TimerOptions,
): { dir: string; units: Array<{ path: string; content: string }> } {
  const { dir, units } = timerUnits(ctx, opts);
  return {
    dir,
    units: [
      { path: path.join(dir, SERVICE_FILE), content: units.service },
      { path: path.join(dir, TIMER_FILE), content: units.timer },
    ],
  };
}

export interface TimerInstallResult extends InstallResult {
  systemctl: SystemctlOutcome;
  /** The systemctl steps still to run by hand (none when they ran). */
  commands: string[][];
  /** For user units: the command that keeps the timer running while the user is logged out. */
  linger: string | null;
}

/** `systemd install`: writes the units, then enables and starts the timer where systemd runs. */
export async function installTimer(ctx: Context, opts: TimerOptions): Promise<TimerInstallResult> {
  const { dir, units } = timerUnits(ctx, opts);
  const result = installUnits(units, dir, opts.user);
  const steps = systemctlSteps('install', opts.user);
  const outcome = await systemctl(ctx, steps, opts);
  return {
    ...result,
    systemctl: outcome,
    commands: outcome === 'ran' ? [] : steps,
    linger: opts.user ? `loginctl enable-linger ${shQuote(os.userInfo().username)}` : null,
  };
}

export interface TimerUninstallResult extends UninstallResult {
  systemctl: SystemctlOutcome;
  /** The systemctl steps still to run by hand (none when they ran). */
  commands: string[][];
}

/** `systemd uninstall`: disables the timer, removes only our units, and reloads systemd. */
export async function uninstallTimer(
  ctx: Context,
  opts: TimerOptions,
): Promise<TimerUninstallResult> {
  const dir = unitDir(opts.user, ctx.env);
  const steps = systemctlSteps('uninstall', opts.user);
  // Stop and disable the timer while its unit file still exists, then reload.
  const disabled = await systemctl(ctx, steps.slice(0, 1), opts);
  const result = uninstallUnits(dir, opts.user);
  const reloaded = disabled === 'ran' ? await systemctl(ctx, steps.slice(1), opts) : disabled;
  const manual = [[...steps[1]!.slice(0, -1), 'stop', TIMER_FILE], steps[1]!];
  return { ...result, systemctl: reloaded, commands: reloaded === 'ran' ? [] : manual };
}
