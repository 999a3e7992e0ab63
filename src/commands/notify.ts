import type { Context } from '../lib/core/context.js';
import { EXIT } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { configuredSinks } from '../lib/notify/deliver.js';
import { sendTest } from '../lib/notify/send-test.js';
import { defineCommand } from './command.js';

export const notifyTestOptionsSchema = z.strictObject({});

export type NotifyTestResult = Awaited<ReturnType<typeof notifyTest>>;

/**
 * `notify test`: an operator's diagnostic. Sends a test event to every enabled sink and
 * reports each one, the skipped ones last.
 */
export async function notifyTest(_opts: z.infer<typeof notifyTestOptionsSchema>, ctx: Context) {
  const sinks = configuredSinks(ctx.config.notify);
  const report = await sendTest(ctx);
  const labels = new Map(sinks.map((s) => [s.sink, s.label]));
  if (!sinks.length) {
    ctx.out.warn(
      'no notification sink is configured (notify.telegram, notify.webhook, notify.command); nothing was sent',
    );
  }
  return {
    event: report.record,
    sinks: [
      ...report.results.map((r) => ({
        sink: r.sink,
        label: labels.get(r.sink) ?? r.sink,
        status: r.ok ? ('ok' as const) : ('failed' as const),
        error: r.error ?? null,
        durationMs: r.durationMs,
      })),
      ...report.skipped.map((s) => ({
        sink: s.sink,
        label: s.label,
        status: 'skipped' as const,
        error: s.reason ?? null,
        durationMs: 0,
      })),
    ],
  };
}

/** Exit 1 when any sink failed, so a script can check it; 0 when there is nothing to test. */
function notifyTestExitCode(r: NotifyTestResult): number {
  return r.sinks.some((s) => s.status === 'failed') ? EXIT.FAILURE : EXIT.OK;
}

function renderNotifyTest(r: NotifyTestResult, out: Output): void {
  const c = out.stdoutColor;
  for (const s of r.sinks) {
    if (s.status === 'ok') out.print(`${c.green('ok')}      ${s.label} (${s.durationMs} ms)`);
    else if (s.status === 'failed') out.print(`${c.red('failed')}  ${s.label}: ${s.error}`);
    else out.print(`${c.yellow('skipped')} ${s.label}: ${s.error}`);
  }
}

export const notifyTestCommand = defineCommand({
  schema: notifyTestOptionsSchema,
  run: notifyTest,
  render: renderNotifyTest,
  exitCode: notifyTestExitCode,
});
