/**
 * The memory of one swap run, beside its journal, and the journal's writes. Each write
 * goes through the state lock; `CLAUDE_FAILOVER_FAULT=swap:<step>` kills the process right
 * after the journal records `<step>`, for the recovery tests (test/reliability/swap-recovery).
 */
import type { SessionConfig } from '../core/config.js';
import type { Context } from '../core/context.js';
import type { State, SwapJournal } from '../core/state-schema.js';
import type { SettleResult } from '../agents/sessions.js';

export interface SwapRun {
  journal: SwapJournal;
  /** A journal left by a killed swap is being carried forward. */
  resumed: boolean;
  /** When the swap started (ms epoch): its duration counts from there. */
  startedAt: number;
  /** How each agent came up in this run's settle; empty when the run did not settle them. */
  settled: Map<string, SettleResult>;
  /**
   * When this run launched each session (ms epoch; 0: found already running on the
   * target); null when this run launched none, as after a kill during the settle.
   */
  launchedAt: Map<string, number> | null;
  /** The environment names the agents inherit (see `inheritedEnvNames`). */
  inheritedEnv: string[];
  progress: (msg: string) => void;
}

/** The config of a journal's session; undefined when it is no longer configured. */
export function configOf(ctx: Context, name: string): SessionConfig | undefined {
  return ctx.config.sessions.find((s) => s.name === name);
}

/**
 * Fault injection for the recovery tests: `CLAUDE_FAILOVER_FAULT=swap:<step>` kills this
 * process (SIGKILL, nothing cleaned up) right after the journal records `<step>`.
 */
export function faultPoint(ctx: Context, step: string): void {
  if (ctx.env.CLAUDE_FAILOVER_FAULT === `swap:${step}`) process.kill(process.pid, 'SIGKILL');
}

/**
 * Replaces the run's journal, in the state file and in memory, with `change(journal)`;
 * `change` may also touch the rest of the state in the same write.
 */
export async function updateJournal(
  ctx: Context,
  run: SwapRun,
  change: (journal: SwapJournal, st: State) => SwapJournal,
): Promise<void> {
  run.journal = await ctx.state.update((st) => {
    if (!st.swapJournal) throw new Error('the swap journal disappeared from the state file');
    st.swapJournal = change(st.swapJournal, st);
    return structuredClone(st.swapJournal);
  });
  faultPoint(ctx, run.journal.step);
}
