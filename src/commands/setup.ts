import { createContext, type GlobalOptions } from '../lib/core/context.js';
import type { Output } from '../lib/core/output.js';
import { activeAccount } from '../lib/agents/sessions.js';
import { runSetup } from '../lib/ops/setup.js';

export async function setup(
  opts: { uninstallHooks?: boolean },
  globals: GlobalOptions,
  out: Output,
): Promise<number> {
  const ctx = await createContext(globals, out);
  const active = activeAccount(ctx, ctx.state.read());
  const changes = runSetup(ctx.config, active, {
    uninstallHooks: opts.uninstallHooks,
    now: ctx.clock.now(),
  });
  if (globals.json) out.printJson({ changes });
  else if (changes.length === 0) out.print('nothing to change');
  else for (const c of changes) out.print(`${c.account ? `${c.account}: ` : ''}${c.what}`);
  return 0;
}
