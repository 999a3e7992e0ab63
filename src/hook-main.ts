/**
 * The fast path for `hook run <event>` and `hook statusline`: Claude Code runs them on every
 * turn, so they skip the command registry and the config entirely. Always exit 0.
 */
import { readStdin, runHook, runStatusline } from './lib/claude/hook-handler.js';

/** A hook must never hold the agent up: whatever happens, the process ends by then. */
const HOOK_DEADLINE_MS = 4000;

export async function hookMain(args: string[]): Promise<number> {
  setTimeout(() => process.exit(0), HOOK_DEADLINE_MS).unref();
  try {
    const stdin = await readStdin();
    if (args[0] === 'run' && args[1]) await runHook(args[1], stdin);
    else if (args[0] === 'statusline') {
      const line = await runStatusline(stdin);
      if (line) process.stdout.write(`${line}\n`);
    }
  } catch {
    // A hook never fails the agent.
  }
  return 0;
}
