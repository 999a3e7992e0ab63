import { createContext, type GlobalOptions } from '../lib/core/context.js';
import { configuredSinks } from '../lib/notify/deliver.js';
import { sendTest } from '../lib/notify/send-test.js';
import type { Output } from '../lib/core/output.js';

/**
 * `notify test`: an operator's diagnostic. Exit 1 when any sink failed, so a script can
 * check it; exit 0 when every enabled sink worked, or when there is nothing to test.
 */
export async function notifyTest(globals: GlobalOptions, out: Output): Promise<number> {
  const ctx = await createContext(globals, out);
  const sinks = configuredSinks(ctx.config.notify);
  const report = await sendTest(ctx);
  const labels = new Map(sinks.map((s) => [s.sink, s.label]));
  const failed = report.results.filter((r) => !r.ok).length;
  if (globals.json) {
    out.printJson({
      event: report.record,
      sinks: [
        ...report.results.map((r) => ({
          sink: r.sink,
          label: labels.get(r.sink) ?? r.sink,
          status: r.ok ? 'ok' : 'failed',
          error: r.error ?? null,
          durationMs: r.durationMs,
        })),
        ...report.skipped.map((s) => ({
          sink: s.sink,
          label: s.label,
          status: 'skipped',
          error: s.reason ?? null,
          durationMs: 0,
        })),
      ],
    });
  } else {
    const c = out.stdoutColor;
    for (const r of report.results) {
      const label = labels.get(r.sink) ?? r.sink;
      out.print(
        r.ok
          ? `${c.green('ok')}      ${label} (${r.durationMs} ms)`
          : `${c.red('failed')}  ${label}: ${r.error}`,
      );
    }
    for (const s of report.skipped) out.print(`${c.yellow('skipped')} ${s.label}: ${s.reason}`);
  }
  if (!sinks.length) {
    out.warn(
      'no notification sink is configured (notify.telegram, notify.webhook, notify.command); nothing was sent',
    );
  }
  return failed ? 1 : 0;
}
