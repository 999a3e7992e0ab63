/** `doctor`: one line per check, ok / warn / fail, and the repairs that are safe to make. */
import fs from 'node:fs';
import path from 'node:path';
import type { Context } from '../core/context.js';
import { findExecutable } from '../core/exec.js';
import { isLocked } from '../core/lock.js';
import { authErrorHolds } from '../accounts/condition.js';
import { checkStateHealth, repairState } from '../core/state.js';
import { PRIVATE_DIR_MODE } from '../core/fs-atomic.js';
import { hooksInstalled } from '../claude/signals.js';
import {
  readTriggerSettings,
  syncTriggerSettings,
  triggerSettingsOf,
  triggersReport,
} from '../core/triggers.js';
import { mcpRegistrationChecks } from './mcp-register.js';
import { spaceChecks } from './disk-space.js';

export type CheckLevel = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  level: CheckLevel;
  detail: string;
  /** What --repair did about it, if anything. */
  repaired?: string;
}

const CREDENTIALS = '.credentials.json';

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch {
    return null;
  }
}

/**
 * Whether something runs `tick`: our crontab block, or our systemd timer. Without either,
 * nothing fails over while nobody watches.
 */
async function schedulerCheck(ctx: Context): Promise<[string, CheckLevel, string]> {
  const { findCronBlocks, readCrontab, CRONTAB_USER_ENV } = await import('../schedule/cron.js');
  const { unitDir, TIMER_FILE } = await import('../schedule/systemd.js');
  for (const user of [true, false]) {
    const timer = path.join(unitDir(user, ctx.env), TIMER_FILE);
    if (fs.existsSync(timer)) return ['scheduler', 'ok', `systemd timer ${timer}`];
  }
  try {
    const tab = await readCrontab({ user: ctx.env[CRONTAB_USER_ENV] || undefined });
    if (findCronBlocks(tab.text).length) return ['scheduler', 'ok', 'crontab block installed'];
  } catch (err) {
    return ['scheduler', 'warn', `cannot read the crontab: ${(err as Error).message}`];
  }
  return [
    'scheduler',
    'warn',
    "nothing runs 'tick': run 'claude-failover cron install' or 'claude-failover systemd install'",
  ];
}

/**
 * The triggers: whether the hooks read the settings the config says (`tick`, `setup` and
 * every launch copy them; `--repair` does it now), and whether the last detached runs worked.
 */
function triggersCheck(
  ctx: Context,
  add: (name: string, level: CheckLevel, detail: string, repaired?: string) => void,
  repair: boolean,
): void {
  const { config } = ctx;
  const report = triggersReport(config);
  const current =
    JSON.stringify(readTriggerSettings(config.stateDir)) ===
    JSON.stringify(triggerSettingsOf(config));
  if (!current) {
    if (repair && syncTriggerSettings(config))
      add('triggers', 'ok', 'the hooks read the current settings', 'wrote the trigger settings');
    else
      add(
        'triggers',
        'warn',
        `the hooks do not read the current trigger settings yet; 'setup', the next 'tick' or 'doctor --repair' writes them`,
      );
  }
  if (!report.enabled) {
    add('triggers', 'ok', 'off (triggers.enabled: false): the timer does all the work');
    return;
  }
  const kinds = (['limit', 'idle'] as const).filter((k) => report[k].on);
  const runs = kinds.map((k) => {
    const r = report[k];
    return `${k}: ${r.runs} runs, ${r.failures} failed${r.last ? `, last ${r.last.startedAt}` : ''}`;
  });
  add('triggers', 'ok', `on (${kinds.join(', ') || 'no kind'}); ${runs.join('; ')}`);
  for (const k of kinds) {
    const { last, lastFailed } = report[k];
    if (last && lastFailed)
      add(
        'triggers',
        'warn',
        `the last ${k} run failed (exit ${last.exitCode}): ${last.error ?? last.summary}; the timer still runs the step; see ${report.log}`,
      );
  }
}

/** Runs every check; with `repair`, fixes what is safe first and reports what it did. */
export async function runDoctor(ctx: Context, opts: { repair?: boolean } = {}): Promise<Check[]> {
  const { config } = ctx;
  const checks: Check[] = [];
  const add = (name: string, level: CheckLevel, detail: string, repaired?: string) =>
    checks.push({ name, level, detail, ...(repaired ? { repaired } : {}) });

  add('config', 'ok', config.file ?? '(built-in)');
  for (const name of config.missingEnv)
    add('config', 'warn', `\${${name}} is not set; it expands to ''`);

  try {
    add(
      'tmux',
      'ok',
      `${await ctx.tmux.version()}${config.tmux.socket ? ` (socket ${config.tmux.socket})` : ''}`,
    );
  } catch (err) {
    add('tmux', 'fail', `${(err as Error).message}; install it (apt-get install -y tmux)`);
  }

  const agent = findExecutable(config.agent.command, ctx.env);
  if (agent) add('agent', 'ok', agent);
  else add('agent', 'fail', `'${config.agent.command}' not found on PATH (agent.command)`);

  // The command the prompts tell the agent to run, looked up in the agent's own login shell.
  const { promptCommandChecks } = await import('../dispatch/prompt-command.js');
  for (const check of await promptCommandChecks(config, ctx.env)) add(...check);
  // The MCP server in each account's .claude.json, when setup is to register it.
  for (const check of mcpRegistrationChecks(config)) add(...check);

  for (const acct of config.accounts) {
    const label = `account ${acct.name}`;
    if (!acct.enabled) {
      add(label, 'ok', 'disabled');
      continue;
    }
    const dir = lstatOrNull(acct.configDir);
    if (!dir) {
      add(label, 'warn', `${acct.configDir} does not exist; run 'claude-failover setup'`);
      continue;
    }
    const creds = path.join(acct.configDir, CREDENTIALS);
    const st = lstatOrNull(creds);
    if (!st) {
      add(
        label,
        'warn',
        `no ${CREDENTIALS}: log in once with CLAUDE_CONFIG_DIR=${acct.configDir} claude, then /login`,
      );
    } else if (st.isSymbolicLink()) {
      add(
        label,
        'fail',
        `${creds} is a symlink; Claude Code replaces it on refresh. Keep one real file per account`,
      );
    } else if ((st.mode & 0o077) !== 0) {
      if (opts.repair) {
        fs.chmodSync(creds, 0o600);
        add(label, 'ok', `${creds} mode fixed`, `chmod 600 ${creds}`);
      } else {
        add(
          label,
          'fail',
          `${creds} is mode ${(st.mode & 0o777).toString(8)}; expected 600 (doctor --repair fixes it)`,
        );
      }
    } else {
      add(label, 'ok', `${acct.configDir} (credentials 600)`);
    }
    const projects = path.join(acct.configDir, 'projects');
    const link = lstatOrNull(projects);
    if (!link) add(`${label} projects`, 'warn', `${projects} missing; run 'claude-failover setup'`);
    else if (!link.isSymbolicLink())
      add(
        `${label} projects`,
        'warn',
        `${projects} is not linked to ${config.sharedProjectsDir}; run 'claude-failover setup'`,
      );
    else {
      const target = path.resolve(path.dirname(projects), fs.readlinkSync(projects));
      if (target !== config.sharedProjectsDir)
        add(
          `${label} projects`,
          'warn',
          `${projects} points to ${target}, not ${config.sharedProjectsDir}`,
        );
      else add(`${label} projects`, 'ok', `-> ${target}`);
    }
    const settings = path.join(acct.configDir, 'settings.json');
    const hooked = hooksInstalled(acct.configDir);
    add(
      `${label} hooks`,
      hooked ? 'ok' : 'warn',
      hooked ? settings : `hooks not installed in ${settings}; run 'claude-failover setup'`,
    );
  }

  const stateDirStat = lstatOrNull(config.stateDir);
  if (!stateDirStat) add('state dir', 'ok', `${config.stateDir} (created on first write)`);
  else if ((stateDirStat.mode & 0o077) !== 0) {
    if (opts.repair) {
      fs.chmodSync(config.stateDir, PRIVATE_DIR_MODE);
      add('state dir', 'ok', config.stateDir, `chmod 700 ${config.stateDir}`);
    } else
      add(
        'state dir',
        'warn',
        `${config.stateDir} is mode ${(stateDirStat.mode & 0o777).toString(8)}; expected 700`,
      );
  } else add('state dir', 'ok', config.stateDir);

  for (const check of spaceChecks(config)) add(...check);

  let health = checkStateHealth(config.stateDir);
  if (health.status === 'corrupt' && opts.repair) {
    const res = await repairState(ctx.state, ctx.clock.now());
    health = checkStateHealth(config.stateDir);
    const what =
      res.action === 'restored-backup'
        ? `restored ${ctx.state.paths.backup}; the corrupt copy is ${res.corruptCopy}`
        : `no usable backup: started an empty state; the corrupt copy is ${res.corruptCopy}`;
    add(
      'state',
      health.status === 'ok' ? (res.action === 'restored-backup' ? 'ok' : 'warn') : 'fail',
      ctx.state.paths.file,
      what,
    );
  } else if (health.status === 'corrupt') {
    add(
      'state',
      'fail',
      `${health.error.message}; ${health.backupUsable ? 'the backup is usable: ' : ''}run 'claude-failover doctor --repair'`,
    );
  } else if (health.status === 'missing') {
    add('state', 'ok', `${ctx.state.paths.file} (not created yet)`);
  } else {
    add('state', 'ok', ctx.state.paths.file);
  }

  add(...(await schedulerCheck(ctx)));

  // Accounts marked auth-error: the mark lifts by itself when the credentials change (a new
  // /login); --repair lifts it for an operator who fixed the login some other way.
  if (health.status === 'ok') {
    for (const a of config.accounts) {
      const at = health.state.accounts[a.name]?.authErrorAt ?? null;
      if (!authErrorHolds(a.configDir, at)) continue;
      if (opts.repair) {
        await ctx.state.update((st) => {
          const acc = st.accounts[a.name];
          if (acc) acc.authErrorAt = null;
        });
        add(
          `account ${a.name} login`,
          'ok',
          'auth-error mark cleared',
          'cleared the auth-error mark',
        );
      } else {
        add(
          `account ${a.name} login`,
          'warn',
          `marked auth-error since ${at}: log it in again (CLAUDE_CONFIG_DIR=${a.configDir} claude, then /login), or run 'claude-failover doctor --repair' once fixed`,
        );
      }
    }
  }

  // As root, Claude Code refuses --dangerously-skip-permissions unless IS_SANDBOX=1.
  if (
    process.getuid?.() === 0 &&
    config.agent.args.includes('--dangerously-skip-permissions') &&
    !config.agent.env.IS_SANDBOX &&
    !ctx.env.IS_SANDBOX
  ) {
    add(
      'agent root',
      'warn',
      "running as root: Claude Code refuses --dangerously-skip-permissions unless agent.env has IS_SANDBOX: '1'",
    );
  }

  const journal = health.status === 'ok' ? health.state.swapJournal : null;
  if (journal && journal.step !== 'done') {
    add(
      'swap',
      'warn',
      `a swap ${journal.from} -> ${journal.to} stopped at step '${journal.step}'; the next 'swap' or 'quota check' finishes it`,
    );
  }

  triggersCheck(ctx, add, opts.repair ?? false);

  try {
    const locked = await isLocked(ctx.state.paths.lock, config.lock.staleAfter);
    add(
      'lock',
      locked ? 'warn' : 'ok',
      locked ? `${ctx.state.paths.lock}.lock is held by a running command` : 'free',
    );
  } catch (err) {
    add('lock', 'warn', `cannot check the lock: ${(err as Error).message}`);
  }
  return checks;
}
