import fs from 'node:fs';
import { createContext, type GlobalOptions } from '../lib/core/context.js';
import {
  cronBlock,
  cronLine,
  cronLogPath,
  crontabOwner,
  CRONTAB_USER_ENV,
  installCronBlock,
  uninstallCronBlock,
} from '../lib/schedule/cron.js';
import { ensurePrivateDir } from '../lib/core/fs-atomic.js';
import { withLock } from '../lib/core/lock.js';
import type { Output } from '../lib/core/output.js';
import { tickCommand } from '../lib/schedule/timer-command.js';

export type CronVerb = 'print' | 'install' | 'uninstall';

export async function cron(verb: CronVerb, globals: GlobalOptions, out: Output): Promise<number> {
  const ctx = await createContext(globals, out);
  const opts = { user: ctx.env[CRONTAB_USER_ENV] || undefined };
  const owner = crontabOwner(opts);
  const tick = tickCommand(ctx.config, { env: ctx.env });
  const block = cronBlock(tick);
  const log = cronLogPath(tick.stateDir);

  if (verb === 'print') {
    if (globals.json) out.printJson({ block, line: cronLine(tick), log });
    else out.print(block);
    return 0;
  }

  // The log's directory must exist, or the shell refuses the redirect and tick never runs.
  ensurePrivateDir(tick.stateDir);
  const lock = { ...ctx.config.lock, what: `the crontab of ${owner}` };
  const file = `${tick.stateDir}/crontab`;
  if (verb === 'install') {
    const action = await withLock(file, lock, () => installCronBlock(block, opts));
    if (globals.json) out.printJson({ action, crontabUser: owner, block, log });
    else if (action === 'unchanged') out.print(`the crontab of ${owner} already has this block`);
    else {
      out.print(
        `${action} the claude-failover block in the crontab of ${owner}: tick runs every minute, logging to ${log}`,
      );
    }
    if (!['/run/crond.pid', '/var/run/crond.pid', '/run/cron.pid'].some((p) => fs.existsSync(p))) {
      out.info('note: no running cron daemon was found; the block runs once cron is started');
    }
    return 0;
  }

  const removed = await withLock(file, lock, () => uninstallCronBlock(opts));
  if (globals.json) out.printJson({ action: removed ? 'removed' : 'absent', crontabUser: owner });
  else
    out.print(
      removed
        ? `removed the claude-failover block from the crontab of ${owner}`
        : `the crontab of ${owner} has no claude-failover block; nothing to do`,
    );
  return 0;
}
