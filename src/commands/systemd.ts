import os from 'node:os';
import path from 'node:path';
import { createContext, type GlobalOptions } from '../lib/core/context.js';
import { UsageError } from '../lib/core/errors.js';
import { run } from '../lib/core/exec.js';
import type { Output } from '../lib/core/output.js';
import { shQuote } from '../lib/core/shell.js';
import { tickCommand } from '../lib/schedule/timer-command.js';
import {
  DEFAULT_EVERY_MS,
  installUnits,
  renderUnits,
  SERVICE_FILE,
  systemctlSteps,
  systemdRunning,
  TIMER_FILE,
  uninstallUnits,
  unitDir,
} from '../lib/schedule/systemd.js';
import { parseDuration } from '../lib/core/units.js';

export type SystemdVerb = 'print' | 'install' | 'uninstall';

export interface SystemdOptions {
  user?: boolean;
  every?: string;
  /** false with --no-enable: write or remove the files only. */
  enable?: boolean;
}

type SystemctlOutcome = 'ran' | 'skipped' | 'failed';

/** Runs the systemctl steps when systemd runs here; otherwise (or on failure) they are printed. */
async function systemctl(
  steps: string[][],
  opts: SystemdOptions,
  out: Output,
): Promise<SystemctlOutcome> {
  if (opts.enable === false || !systemdRunning()) return 'skipped';
  for (const [file, ...args] of steps) {
    try {
      await run(file!, args, { timeout: 30_000 });
    } catch (err) {
      out.warn(`${[file, ...args].join(' ')} failed: ${(err as Error).message}`);
      return 'failed';
    }
  }
  return 'ran';
}

const commandLine = (steps: string[][]) => steps.map((s) => s.map(shQuote).join(' ')).join(' && ');

export async function systemd(
  verb: SystemdVerb,
  opts: SystemdOptions,
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const user = Boolean(opts.user);
  let everyMs = DEFAULT_EVERY_MS;
  if (opts.every !== undefined) {
    const ms = parseDuration(opts.every);
    if (ms === undefined)
      throw new UsageError(`--every: expected a duration like 30s or 1m, got '${opts.every}'`);
    everyMs = ms;
  }
  const ctx = await createContext(globals, out);
  const dir = unitDir(user, ctx.env);
  const scope = user ? 'user' : 'system';

  if (verb === 'uninstall') {
    const steps = systemctlSteps('uninstall', user);
    // Stop and disable the timer while its unit file still exists, then reload.
    const disabled = await systemctl(steps.slice(0, 1), opts, out);
    const result = uninstallUnits(dir, user);
    const reloaded = disabled === 'ran' ? await systemctl(steps.slice(1), opts, out) : disabled;
    const manual = [[...steps[1]!.slice(0, -1), 'stop', TIMER_FILE], steps[1]!];
    if (globals.json) {
      out.printJson({ ...result, systemctl: reloaded, commands: reloaded === 'ran' ? [] : manual });
    } else {
      for (const f of result.removed) out.print(`removed ${f}`);
      for (const f of result.kept)
        out.warn(`${f} was not written by claude-failover; left in place`);
      if (!result.removed.length && !result.kept.length) {
        out.print(`no claude-failover ${scope} units in ${dir}; nothing to do`);
      } else if (reloaded !== 'ran' && result.removed.length) {
        out.print(`if the timer is still running, stop it with: ${commandLine(manual)}`);
      }
    }
    return 0;
  }

  const tick = tickCommand(ctx.config, { env: ctx.env });
  const units = renderUnits(tick, { user, everyMs });
  const servicePath = path.join(dir, SERVICE_FILE);
  const timerPath = path.join(dir, TIMER_FILE);

  if (verb === 'print') {
    if (globals.json) {
      out.printJson({
        dir,
        units: [
          { path: servicePath, content: units.service },
          { path: timerPath, content: units.timer },
        ],
      });
    } else {
      out.print(`# ${servicePath}\n${units.service}\n# ${timerPath}\n${units.timer}`);
    }
    return 0;
  }

  const result = installUnits(units, dir, user);
  const steps = systemctlSteps('install', user);
  const outcome = await systemctl(steps, opts, out);
  const linger = user ? `loginctl enable-linger ${shQuote(os.userInfo().username)}` : null;
  if (globals.json) {
    out.printJson({
      ...result,
      systemctl: outcome,
      commands: outcome === 'ran' ? [] : steps,
      linger,
    });
    return 0;
  }
  for (const f of result.written) out.print(`wrote ${f}`);
  for (const f of result.unchanged) out.print(`unchanged ${f}`);
  if (outcome === 'ran') out.print(`enabled and started ${TIMER_FILE}`);
  else out.print(`to enable the timer, run: ${commandLine(steps)}`);
  if (linger) {
    out.info(`so that the timer runs while you are logged out: ${linger}`);
  }
  return 0;
}
