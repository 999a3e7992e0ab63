import type { Context } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { shQuote } from '../lib/core/shell.js';
import { parseDuration } from '../lib/core/units.js';
import * as z from '../lib/core/zod.js';
import {
  installTimer,
  printTimer,
  SYSTEM_UNIT_DIR,
  TIMER_FILE,
  uninstallTimer,
  type TimerInstallResult,
  type TimerUninstallResult,
} from '../lib/schedule/systemd.js';
import { defineCommand } from './command.js';

export const systemdOptionsSchema = z.strictObject({
  user: z.optional(z.boolean()),
  every: z.optional(
    z.pipe(
      z.string().check(
        z.refine((v) => parseDuration(v) !== undefined, {
          error: (issue) => `expected a duration like 30s or 1m, got '${String(issue.input)}'`,
        }),
      ),
      z.transform((v) => parseDuration(v)!),
    ),
  ),
  /** false with --no-enable: write or remove the files only. */
  enable: z.optional(z.boolean()),
});

type SystemdOptions = z.infer<typeof systemdOptionsSchema>;
type SystemdPrintResult = ReturnType<typeof printTimer>;

const timerOptions = (opts: SystemdOptions) => ({
  user: Boolean(opts.user),
  everyMs: opts.every,
  enable: opts.enable,
});

const commandLine = (steps: string[][]) => steps.map((s) => s.map(shQuote).join(' ')).join(' && ');

/** `systemd print [--user] [--every D]`: the service and timer units. */
export async function systemdPrint(
  opts: SystemdOptions,
  ctx: Context,
): Promise<SystemdPrintResult> {
  return printTimer(ctx, timerOptions(opts));
}

function renderSystemdPrint(r: SystemdPrintResult, out: Output): void {
  out.print(r.units.map((u) => `# ${u.path}\n${u.content}`).join('\n'));
}

/** `systemd install`: writes the units and enables the timer (or says how to). */
export async function systemdInstall(
  opts: SystemdOptions,
  ctx: Context,
): Promise<TimerInstallResult> {
  return installTimer(ctx, timerOptions(opts));
}

function renderSystemdInstall(r: TimerInstallResult, out: Output): void {
  for (const f of r.written) out.print(`wrote ${f}`);
  for (const f of r.unchanged) out.print(`unchanged ${f}`);
  if (r.systemctl === 'ran') out.print(`enabled and started ${TIMER_FILE}`);
  else out.print(`to enable the timer, run: ${commandLine(r.commands)}`);
  if (r.linger) out.info(`so that the timer runs while you are logged out: ${r.linger}`);
}

/** `systemd uninstall`: disables the timer and removes only our units. */
export async function systemdUninstall(
  opts: SystemdOptions,
  ctx: Context,
): Promise<TimerUninstallResult> {
  return uninstallTimer(ctx, timerOptions(opts));
}

function renderSystemdUninstall(r: TimerUninstallResult, out: Output): void {
  for (const f of r.removed) out.print(`removed ${f}`);
  for (const f of r.kept) out.warn(`${f} was not written by claude-failover; left in place`);
  if (!r.removed.length && !r.kept.length) {
    const scope = r.dir === SYSTEM_UNIT_DIR ? 'system' : 'user';
    out.print(`no claude-failover ${scope} units in ${r.dir}; nothing to do`);
  } else if (r.systemctl !== 'ran' && r.removed.length) {
    out.print(`if the timer is still running, stop it with: ${commandLine(r.commands)}`);
  }
}

export const systemdPrintCommand = defineCommand({
  schema: systemdOptionsSchema,
  run: systemdPrint,
  render: renderSystemdPrint,
});

export const systemdInstallCommand = defineCommand({
  schema: systemdOptionsSchema,
  run: systemdInstall,
  render: renderSystemdInstall,
});

export const systemdUninstallCommand = defineCommand({
  schema: systemdOptionsSchema,
  run: systemdUninstall,
  render: renderSystemdUninstall,
});
