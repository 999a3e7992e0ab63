/** What a swap is asked to do and what it reports: the public shapes of `runSwap`. */

export interface SwapTrigger {
  [k: string]: unknown;
  session: string | null;
  pattern: string | null;
  snippet: string | null;
}

export interface SwapOptions {
  from?: string;
  to?: string;
  reason?: string;
  trigger?: SwapTrigger | null;
  dryRun?: boolean;
  /**
   * The source hit a limit: mark it exhausted until this time (ISO). `null` means "hit a
   * limit, reset unknown": `quota.defaultExhaustion` applies. Undefined: a manual or
   * proactive swap, the source is not marked.
   */
  exhaustedUntil?: string | null;
  /** Reports progress for a spinner. */
  onProgress?: (msg: string) => void;
}

export interface SwapSessionResult {
  name: string;
  claudeSessionId: string | null;
  /** Started fresh because its conversation could not be reached. */
  fresh: boolean;
  ready: boolean;
  screen: string | null;
  task: string | null;
  prompted: boolean;
}

export interface SwapResult {
  outcome: 'completed' | 'dry-run' | 'rolled-back' | 'no-target';
  from: string;
  to: string | null;
  reason: string;
  /** A journal left by a killed swap was carried forward. */
  resumed: boolean;
  /** Accounts tried as a target that failed to come up. */
  tried: string[];
  sessions: SwapSessionResult[];
  durationMs: number;
}
