import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import {
  installCron,
  printCron,
  uninstallCron,
  type CronInstallResult,
} from '../lib/schedule/cron.js';
import { defineCommand } from './command.js';

export const cronOptionsSchema = z.strictObject({});

type CronOptions = z.infer<typeof cronOptionsSchema>;
type CronPrintResult = ReturnType<typeof printCron>;
type CronUninstallResult = Awaited<ReturnType<typeof uninstallCron>>;

/** `cron print`: the crontab block that runs tick every minute. */
export async function cronPrint(_opts: CronOptions, ctx: Context): Promise<CronPrintResult> {
  return printCron(ctx);
}

function renderCronPrint(r: CronPrintResult, out: Output): void {
  out.print(r.block);
}

/** `cron install`: adds the block to the crontab, or updates it in place. */
export async function cronInstall(_opts: CronOptions, ctx: Context): Promise<CronInstallResult> {
  return installCron(ctx);
}

function renderCronInstall(r: CronInstallResult, out: Output): void {
  if (r.action === 'unchanged') out.print(`the crontab of ${r.crontabUser} already has this block`);
  else
    out.print(
      `${r.action} the claude-failover block in the crontab of ${r.crontabUser}: tick runs every minute, logging to ${r.log}`,
    );
}

/** `cron uninstall`: removes only our block. */
export async function cronUninstall(
  _opts: CronOptions,
  ctx: Context,
): Promise<CronUninstallResult> {
  return uninstallCron(ctx);
}

function renderCronUninstall(r: CronUninstallResult, out: Output): void {
  out.print(
    r.action === 'removed'
      ? `removed the claude-failover block from the crontab of ${r.crontabUser}`
      : `the crontab of ${r.crontabUser} has no claude-failover block; nothing to do`,
  );
}

export const cronPrintCommand = defineCommand({
  schema: cronOptionsSchema,
  run: cronPrint,
  render: renderCronPrint,
});

export const cronInstallCommand = defineCommand({
  schema: cronOptionsSchema,
  run: cronInstall,
  render: renderCronInstall,
});

export const cronUninstallCommand = defineCommand({
  schema: cronOptionsSchema,
  run: cronUninstall,
  render: renderCronUninstall,
});
