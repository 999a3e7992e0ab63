import { createContext, type GlobalOptions } from '../lib/core/context.js';
import { runDoctor } from '../lib/ops/doctor.js';
import type { Output } from '../lib/core/output.js';

export interface DoctorOptions {
  repair?: boolean;
}

/** Exit 1 when any check fails. */
export async function doctor(
  opts: DoctorOptions,
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  const checks = await runDoctor(ctx, { repair: opts.repair });
  const failed = checks.some((c) => c.level === 'fail');
  if (globals.json) {
    out.printJson({ ok: !failed, checks });
  } else {
    const c = out.stdoutColor;
    const tag = { ok: c.green('ok  '), warn: c.yellow('warn'), fail: c.red('fail') } as const;
    for (const check of checks) {
      out.print(
        `${tag[check.level]}  ${check.name}: ${check.detail}${check.repaired ? ` (repaired: ${check.repaired})` : ''}`,
      );
    }
  }
  return failed ? 1 : 0;
}
