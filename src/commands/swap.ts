import { createContext, type GlobalOptions } from '../lib/core/context.js';
import { CliError } from '../lib/core/errors.js';
import type { Output } from '../lib/core/output.js';
import { runSwap, type SwapResult } from '../lib/swap/index.js';

export interface SwapCommandOptions {
  from?: string;
  to?: string;
  reason?: string;
  dryRun?: boolean;
}

function render(r: SwapResult, out: Output): void {
  if (r.outcome === 'dry-run') {
    out.print(`plan: ${r.from} -> ${r.to ?? '(no usable account)'}`);
    for (const s of r.sessions)
      out.print(
        `  ${s.name}: resume ${s.claudeSessionId ?? '(fresh)'}${s.task ? `, then re-prompt task ${s.task}` : ''}`,
      );
    if (!r.sessions.length) out.print('  (no sessions on this account)');
    return;
  }
  out.print(
    `${r.outcome === 'completed' ? 'swapped' : r.outcome}: ${r.from} -> ${r.to} in ${(r.durationMs / 1000).toFixed(1)}s${r.resumed ? ' (finished an interrupted swap)' : ''}`,
  );
  if (r.tried.length) out.print(`  failed to log in: ${r.tried.join(', ')}`);
  for (const s of r.sessions) {
    const state = s.ready ? 'ready' : `not ready (${s.screen ?? 'unknown'})`;
    out.print(
      `  ${s.name}: ${state}${s.fresh ? ', started fresh (conversation not found)' : s.claudeSessionId ? `, resumed ${s.claudeSessionId}` : ''}${s.prompted ? `, re-prompted task ${s.task}` : ''}`,
    );
  }
}

/** `swap`: exit 0 done, 3 no usable account, 75 another swap is running. */
export async function swap(
  opts: SwapCommandOptions,
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  const spinner = await out.spinner('swapping');
  let result: SwapResult;
  try {
    result = await runSwap(ctx, {
      from: opts.from,
      to: opts.to,
      reason: opts.reason,
      dryRun: opts.dryRun,
      onProgress: (m) => spinner.update(m),
    });
    spinner.stop();
  } catch (err) {
    spinner.fail();
    const partial = (err as { result?: SwapResult }).result;
    if (partial && err instanceof CliError) {
      if (globals.json)
        out.printJson({ ...partial, error: { message: err.message, exitCode: err.exitCode } });
      else {
        render(partial, out);
        out.error(err.message);
      }
      return err.exitCode;
    }
    throw err;
  }
  if (globals.json) out.printJson(result);
  else render(result, out);
  return 0;
}
