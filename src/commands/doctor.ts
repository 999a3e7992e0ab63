import type { Context } from '../lib/core/context.js';
import { EXIT } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import * as z from '../lib/core/zod.js';
import { runDoctor, type Check } from '../lib/ops/doctor.js';
import { defineCommand } from './command.js';

export const doctorOptionsSchema = z.strictObject({ repair: z.optional(z.boolean()) });

export interface DoctorResult {
  ok: boolean;
  checks: Check[];
}

/** `doctor [--repair]`: every check, and whether all passed. */
export async function doctor(
  opts: z.infer<typeof doctorOptionsSchema>,
  ctx: Context,
): Promise<DoctorResult> {
  const checks = await runDoctor(ctx, { repair: opts.repair });
  return { ok: !checks.some((c) => c.level === 'fail'), checks };
}

/** Exit 1 when any check fails. */
function doctorExitCode(r: DoctorResult): number {
  return r.ok ? EXIT.OK : EXIT.FAILURE;
}

function renderDoctor(r: DoctorResult, out: Output): void {
  const c = out.stdoutColor;
  const tag = { ok: c.green('ok  '), warn: c.yellow('warn'), fail: c.red('fail') } as const;
  for (const check of r.checks) {
    out.print(
      `${tag[check.level]}  ${check.name}: ${check.detail}${check.repaired ? ` (repaired: ${check.repaired})` : ''}`,
    );
  }
}

export const doctorCommand = defineCommand({
  schema: doctorOptionsSchema,
  run: doctor,
  render: renderDoctor,
  exitCode: doctorExitCode,
});
