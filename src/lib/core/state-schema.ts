/** The zod schema of `state.json` (version 1). Types are derived from it. */
import { countersSchema, emptyCounters } from './state-counters.js';
import * as z from './zod.js';

const STATE_VERSION = 1;

const iso = () => z.iso.datetime({ offset: true });
const nullableIso = () => z._default(z.nullable(iso()), null);
const nullableStr = () => z._default(z.nullable(z.string()), null);

const usageWindow = z.looseObject({
  usedPercentage: z.number().check(z.gte(0)),
  resetsAt: nullableIso(),
});

const accountStateSchema = z.looseObject({
  /** Set when a confirmed limit was seen; the account is exhausted until then. */
  exhaustedUntil: nullableIso(),
  exhaustedReason: nullableStr(),
  /** Set when the account's agent failed to authenticate. */
  authErrorAt: nullableIso(),
  usage: z._default(
    z.nullable(
      z.looseObject({
        fiveHour: z._default(z.nullable(usageWindow), null),
        sevenDay: z._default(z.nullable(usageWindow), null),
        updatedAt: iso(),
      }),
    ),
    null,
  ),
});

const undeliveredSchema = z.looseObject({
  task: z.string(),
  project: z.string(),
  /** Which template to send again: the task from the top, or "carry on" after a move. */
  prompt: z.enum(['dispatch', 'resume']),
  /** Who typed it: dispatch, swap or watch. */
  by: z.string(),
  /** When it was first typed: a late confirmation since then still counts. */
  since: iso(),
  /** The fingerprint of the text typed (see delivery.ts), for that late confirmation. */
  fingerprint: z.string(),
  tries: z._default(z.int(), 1),
  reason: nullableStr(),
});

const sessionStateSchema = z.looseObject({
  account: nullableStr(),
  claudeSessionId: nullableStr(),
  transcriptPath: nullableStr(),
  launchedAt: nullableIso(),
  /** Restart times inside the watch window, newest last. */
  restarts: z._default(z.array(iso()), []),
  /** The operator stopped it on purpose: `watch` leaves it alone. */
  stopped: z._default(z.boolean(), false),
  degraded: z._default(z.boolean(), false),
  /** When `watch` last reported it stuck (once per episode). */
  stuckReportedAt: nullableIso(),
  lastSeenAt: nullableIso(),
  /**
   * A task prompt that was typed into the session but that Claude Code never confirmed (no
   * UserPromptSubmit hook with it, no user record in the transcript). The task stays in
   * flight and the next `dispatch` (every `tick`) delivers it again.
   */
  undelivered: z._default(z.nullable(undeliveredSchema), null),
});

const swapTriggerSchema = z.looseObject({
  session: z.nullable(z.string()),
  pattern: z.nullable(z.string()),
  snippet: z.nullable(z.string()),
});

const swapRecordSchema = z.looseObject({
  from: z.nullable(z.string()),
  to: z.nullable(z.string()),
  at: iso(),
  reason: z.string(),
  trigger: z._default(z.nullable(swapTriggerSchema), null),
  sessions: z._default(z.array(z.string()), []),
  durationMs: z.number().check(z.gte(0)),
  outcome: z.string(),
});

/** The steps of a swap, in order; the journal records the last one completed. */
export const SWAP_STEPS = [
  'planned',
  'checkpointed',
  'stopped',
  'relinked',
  'relaunched',
  'ready',
  'prompted',
] as const;

export const swapJournalSchema = z.looseObject({
  id: z.string(),
  from: z.nullable(z.string()),
  to: z.string(),
  reason: z.string(),
  trigger: z._default(z.nullable(swapTriggerSchema), null),
  startedAt: iso(),
  /** The process running it; a later run takes over when it is gone. */
  pid: z.number(),
  step: z.enum([...SWAP_STEPS, 'done']),
  /** Accounts already tried as a target in this swap (failed to come up). */
  tried: z._default(z.array(z.string()), []),
  sessions: z.array(
    z.looseObject({
      name: z.string(),
      claudeSessionId: nullableStr(),
      cwd: nullableStr(),
      task: z._default(z.nullable(z.looseObject({ id: z.string(), path: z.string() })), null),
      /** Where it got to: stopped, relaunched (on `to`), ready, prompted. */
      stopped: z._default(z.boolean(), false),
      relaunched: z._default(z.boolean(), false),
      ready: z._default(z.boolean(), false),
      prompted: z._default(z.boolean(), false),
      /** Started fresh because the conversation could not be reached. */
      fresh: z._default(z.boolean(), false),
    }),
  ),
});

const pendingSwapSchema = z.looseObject({
  /** The account to leave. */
  account: z.string(),
  reason: z.string(),
  trigger: z._default(z.nullable(swapTriggerSchema), null),
  requestedAt: iso(),
  /** A proactive swap (usage over swapAt) waits for an idle moment; a limit does not. */
  proactive: z._default(z.boolean(), false),
});

/** What `quota check` carries from one poll to the next. */
const quotaMemorySchema = z.looseObject({
  /** A limit without a reset, seen once on a session: confirmed if the next poll sees it. */
  suspects: z._default(
    z.record(
      z.string(),
      z.looseObject({
        account: z.string(),
        pattern: nullableStr(),
        line: nullableStr(),
        firstSeenAt: iso(),
        polls: z.number(),
      }),
    ),
    {},
  ),
  /**
   * Fingerprints of pane lines already acted on (or seen under another account), per
   * session: a resumed agent redraws its history, old limit messages included.
   */
  consumed: z._default(z.record(z.string(), z.array(z.string())), {}),
  /** Fingerprints of transient/warning lines already logged, so a retry screen logs once. */
  logged: z._default(z.record(z.string(), z.array(z.string())), {}),
  lastCheckAt: nullableIso(),
  /** The usage API's last answer per account (rationed by quota.usageApi.cacheFor). */
  usageApiAt: z._default(z.record(z.string(), iso()), {}),
});

export const stateSchema = z.looseObject({
  version: z.literal(STATE_VERSION, { error: `expected version ${STATE_VERSION}` }),
  activeAccount: nullableStr(),
  cooldownUntil: nullableIso(),
  accounts: z._default(z.record(z.string(), accountStateSchema), {}),
  sessions: z._default(z.record(z.string(), sessionStateSchema), {}),
  lastSwap: z._default(z.nullable(swapRecordSchema), null),
  swaps: z._default(z.array(swapRecordSchema), []),
  /** The swap under way (or interrupted): the next `swap` or `quota check` finishes it. */
  swapJournal: z._default(z.nullable(swapJournalSchema), null),
  /** A confirmed limit (or usage over swapAt) waiting for its swap. */
  pendingSwap: z._default(z.nullable(pendingSwapSchema), null),
  /** Since when no account has been usable (accounts.exhausted is sent once per episode). */
  noUsableAccountSince: nullableIso(),
  // A function, so each state gets its own maps (zod copies a default object shallowly).
  quota: z._default(quotaMemorySchema, () => ({
    suspects: {},
    consumed: {},
    logged: {},
    lastCheckAt: null,
    usageApiAt: {},
  })),
  /** When periodic jobs last ran (checkpoint, janitor), by name. */
  lastRun: z._default(z.record(z.string(), iso()), {}),
  /** Totals for the metrics: swaps and detections (state-counters.ts). */
  counters: z._default(countersSchema, emptyCounters),
  updatedAt: nullableIso(),
});

export type State = z.output<typeof stateSchema>;
export type AccountState = z.output<typeof accountStateSchema>;
export type SessionState = z.output<typeof sessionStateSchema>;
export type Undelivered = z.output<typeof undeliveredSchema>;
export type SwapRecord = z.output<typeof swapRecordSchema>;
export type SwapJournal = z.output<typeof swapJournalSchema>;
export type PendingSwap = z.output<typeof pendingSwapSchema>;
export type QuotaMemory = z.output<typeof quotaMemorySchema>;

export function emptyState(): State {
  return stateSchema.parse({ version: STATE_VERSION });
}

export function accountState(state: State, name: string): AccountState {
  return (state.accounts[name] ??= accountStateSchema.parse({}));
}

export function sessionState(state: State, name: string): SessionState {
  return (state.sessions[name] ??= sessionStateSchema.parse({}));
}
