/**
 * `cron print|install|uninstall`: a marked block in the user's crontab that runs `tick`
 * every minute. Every other byte of the crontab is kept as it was: the text is handled as
 * latin1, so even bytes that are not UTF-8 survive a round trip.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { CliError, ExternalCommandError } from '../core/errors.js';
import { ensurePrivateDir } from '../core/fs-atomic.js';
import { withLock } from '../core/lock.js';
import { shQuote } from '../core/shell.js';
import { tickCommand, type TickCommand } from './timer-command.js';

export const CRON_BEGIN = '# >>> claude-failover (managed; do not edit) >>>';
export const CRON_END = '# <<< claude-failover <<<';
export const CRON_LOG = 'cron.log';
/** Test hook: edit this user's crontab (`crontab -u`, needs root) instead of our own. */
export const CRONTAB_USER_ENV = 'CLAUDE_FAILOVER_CRONTAB_USER';

export function cronLogPath(stateDir: string): string {
  return path.join(stateDir, CRON_LOG);
}

/**
 * The crontab line. PATH is set inline for this command only: a `PATH=` line in a crontab
 * would apply to every line after it, the user's own included. cron turns a bare `%` into
 * a newline, so each one is escaped.
 */
export function cronLine(tick: TickCommand): string {
  const words = [
    `PATH=${shQuote(tick.path)}`,
    ...[tick.node, tick.cli, ...tick.args].map(shQuote),
    '>>',
    shQuote(cronLogPath(tick.stateDir)),
    '2>&1',
  ];
  const command = words.join(' ');
  if (command.includes('\\%')) {
    throw new CliError(
      'a path holds a backslash followed by %, which a crontab line cannot express; move the config or stateDir',
      { exitCode: 2 },
    );
  }
  return `* * * * * ${command.replace(/%/g, '\\%')}`;
}

/** The whole block, marker lines included, ending in a newline. */
export function cronBlock(tick: TickCommand): string {
  return [
    CRON_BEGIN,
    "# Runs 'claude-failover tick' every minute; 'claude-failover cron uninstall' removes this block.",
    cronLine(tick),
    CRON_END,
    '',
  ].join('\n');
}

/** Lines with their terminators, so joining them gives back the text exactly. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

const isMarker = (line: string, marker: string) => line.replace(/\r?\n$/, '').trim() === marker;

/** The line ranges [start, end] (inclusive) of our blocks. Throws on a damaged block. */
export function findCronBlocks(text: string): Array<[number, number]> {
  const lines = linesOf(text);
  const spans: Array<[number, number]> = [];
  for (let i = 0; i < lines.length; i++) {
    if (isMarker(lines[i]!, CRON_END)) {
      throw new CliError(
        `the crontab has a claude-failover end marker without a start (line ${i + 1})`,
        {
          hint: "fix it with 'crontab -e', then run this again",
        },
      );
    }
    if (!isMarker(lines[i]!, CRON_BEGIN)) continue;
    let j = i + 1;
    while (j < lines.length && !isMarker(lines[j]!, CRON_END)) {
      if (isMarker(lines[j]!, CRON_BEGIN)) j = lines.length;
      else j++;
    }
    if (j >= lines.length) {
      throw new CliError(
        `the claude-failover block in the crontab (line ${i + 1}) has no end marker`,
        {
          hint: `fix it with 'crontab -e' (the block ends with '${CRON_END}'), then run this again`,
        },
      );
    }
    spans.push([i, j]);
    i = j;
  }
  return spans;
}

export type CronInstallAction = 'installed' | 'updated' | 'unchanged';

/**
 * The crontab with our block put in: replacing the existing block where it stands, or
 * appended at the end. Nothing else changes, except that a last line without a newline
 * gets one (crontab refuses a file without it).
 */
export function withCronBlock(
  text: string,
  block: string,
): { text: string; action: CronInstallAction } {
  const spans = findCronBlocks(text);
  if (!spans.length) {
    const sep = text === '' || text.endsWith('\n') ? '' : '\n';
    return { text: `${text}${sep}${block}`, action: 'installed' };
  }
  const lines = linesOf(text);
  const out: string[] = [];
  let k = 0;
  for (let i = 0; i < lines.length; i++) {
    const span = spans[k];
    if (span && i === span[0]) {
      if (k === 0) out.push(block);
      i = span[1];
      k++;
      // The end marker may have been the last line with no newline: keep what follows intact.
      continue;
    }
    out.push(lines[i]!);
  }
  const next = out.join('');
  return { text: next, action: next === text ? 'unchanged' : 'updated' };
}

/** The crontab without our block(s); every other line exactly as it was. */
export function withoutCronBlock(text: string): { text: string; removed: boolean } {
  const spans = findCronBlocks(text);
  if (!spans.length) return { text, removed: false };
  const lines = linesOf(text);
  const drop = new Set<number>();
  for (const [a, b] of spans) for (let i = a; i <= b; i++) drop.add(i);
  return { text: lines.filter((_, i) => !drop.has(i)).join(''), removed: true };
}

export interface CrontabOptions {
  /** `crontab -u USER` (root only); default: the current user. */
  user?: string;
}

function userArgs(opts: CrontabOptions): string[] {
  return opts.user ? ['-u', opts.user] : [];
}

function crontabOwner(opts: CrontabOptions): string {
  return opts.user ?? os.userInfo().username;
}

async function crontab(
  args: string[],
  input?: Buffer,
): Promise<{ stdout: Buffer; stderr: string; exitCode: number }> {
  const { execa } = await import('execa');
  const res = await execa('crontab', args, {
    input,
    stdin: input === undefined ? 'ignore' : undefined,
    encoding: 'buffer',
    reject: false,
    timeout: 15_000,
    stripFinalNewline: false,
    maxBuffer: 16 * 1024 * 1024,
  });
  if ((res.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new ExternalCommandError('crontab: command not found', 'not-found', '', {
      hint: "install cron (Debian: 'apt-get install cron'), or use 'claude-failover systemd install'",
    });
  }
  if (res.timedOut)
    throw new ExternalCommandError(`crontab ${args.join(' ')}: timed out`, 'timeout');
  const stderr = Buffer.from(res.stderr as Uint8Array).toString('utf8');
  return { stdout: Buffer.from(res.stdout as Uint8Array), stderr, exitCode: res.exitCode ?? -1 };
}

/** The crontab as latin1 text (byte for byte), or '' when the user has none. */
export async function readCrontab(
  opts: CrontabOptions = {},
): Promise<{ text: string; exists: boolean }> {
  const res = await crontab([...userArgs(opts), '-l']);
  if (res.exitCode === 0) return { text: res.stdout.toString('latin1'), exists: true };
  if (/no crontab for/i.test(res.stderr)) return { text: '', exists: false };
  throw new ExternalCommandError(
    `crontab -l: exit ${res.exitCode}: ${res.stderr.trim().split('\n')[0] ?? ''}`,
    'exit',
    res.stderr,
  );
}

/** Replaces the crontab with `text` (latin1); an empty text removes the crontab. */
async function writeCrontab(text: string, opts: CrontabOptions = {}): Promise<void> {
  const res =
    text === ''
      ? await crontab([...userArgs(opts), '-r'])
      : await crontab([...userArgs(opts), '-'], Buffer.from(text, 'latin1'));
  if (res.exitCode !== 0 && !(text === '' && /no crontab for/i.test(res.stderr))) {
    throw new ExternalCommandError(
      `crontab: exit ${res.exitCode}: ${res.stderr.trim().split('\n')[0] ?? ''}`,
      'exit',
      res.stderr,
    );
  }
}

/** The block as latin1 text, to sit among the crontab's bytes. */
function blockBytes(block: string): string {
  return Buffer.from(block, 'utf8').toString('latin1');
}

async function installCronBlock(
  block: string,
  opts: CrontabOptions = {},
): Promise<CronInstallAction> {
  const current = await readCrontab(opts);
  const next = withCronBlock(current.text, blockBytes(block));
  if (next.action === 'unchanged') return 'unchanged';
  await writeCrontab(next.text, opts);
  const check = await readCrontab(opts);
  if (check.text !== next.text) {
    throw new CliError('the crontab read back differs from what was written', {
      hint: "check it with 'crontab -l'",
    });
  }
  return next.action;
}

async function uninstallCronBlock(opts: CrontabOptions = {}): Promise<boolean> {
  const current = await readCrontab(opts);
  const next = withoutCronBlock(current.text);
  if (!next.removed) return false;
  await writeCrontab(next.text, opts);
  return true;
}

/** The block for this config, and who owns the crontab it goes into. */
function cronSetup(ctx: Context) {
  const opts: CrontabOptions = { user: ctx.env[CRONTAB_USER_ENV] || undefined };
  const tick = tickCommand(ctx.config, { env: ctx.env });
  return { opts, owner: crontabOwner(opts), tick, block: cronBlock(tick) };
}

/** Runs `edit` on the crontab under our lock; the log's directory is made first. */
function withCrontabLock<T>(
  ctx: Context,
  tick: TickCommand,
  owner: string,
  edit: () => Promise<T>,
) {
  // The log's directory must exist, or the shell refuses the redirect and tick never runs.
  ensurePrivateDir(tick.stateDir);
  const lock = { ...ctx.config.lock, what: `the crontab of ${owner}` };
  return withLock(`${tick.stateDir}/crontab`, lock, edit);
}

/** `cron print`: the block, its crontab line and the log it appends to. */
export function printCron(ctx: Context): { block: string; line: string; log: string } {
  const { tick, block } = cronSetup(ctx);
  return { block, line: cronLine(tick), log: cronLogPath(tick.stateDir) };
}

export interface CronInstallResult {
  action: CronInstallAction;
  crontabUser: string;
  block: string;
  log: string;
}

/** `cron install`: adds or updates the block; says on stderr when no cron daemon runs. */
export async function installCron(ctx: Context): Promise<CronInstallResult> {
  const { opts, owner, tick, block } = cronSetup(ctx);
  const action = await withCrontabLock(ctx, tick, owner, () => installCronBlock(block, opts));
  if (!['/run/crond.pid', '/var/run/crond.pid', '/run/cron.pid'].some((p) => fs.existsSync(p))) {
    ctx.out.info('note: no running cron daemon was found; the block runs once cron is started');
  }
  return { action, crontabUser: owner, block, log: cronLogPath(tick.stateDir) };
}

/** `cron uninstall`: removes only our block. */
export async function uninstallCron(
  ctx: Context,
): Promise<{ action: 'removed' | 'absent'; crontabUser: string }> {
  const { opts, owner, tick } = cronSetup(ctx);
  const removed = await withCrontabLock(ctx, tick, owner, () => uninstallCronBlock(opts));
  return { action: removed ? 'removed' : 'absent', crontabUser: owner };
}
