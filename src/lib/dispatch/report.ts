/** What a `dispatch` run reports (its `--json` output). */
import type { SessionIdleness } from '../agents/idle.js';

export interface Assignment {
  task: string;
  project: string;
  session: string;
  account: string;
  attempt: number;
  priority: number;
  path: string;
}

interface SkippedTask {
  /** The task id, or null for an inbox entry that is not a task. */
  task: string | null;
  file: string;
  project: string;
  reason: string;
}

interface FailedTask {
  task: string;
  project: string;
  reason: string;
  /** Where it is now (failed/...), or where it is, in a dry run. */
  path: string;
}

interface DispatchError {
  task: string;
  project: string;
  session: string;
  reason: string;
  /** The prompt was typed: the task stays in flight and the next run delivers it again. */
  owed: boolean;
}

export interface Redelivery {
  task: string;
  project: string;
  session: string;
  prompt: 'dispatch' | 'resume';
  /**
   * delivered: confirmed now; confirmed-late: it had gone in after all; undelivered: still
   * not confirmed (tried again next run); waiting: the session cannot take input now;
   * released: given up on this session, back in the queue; dropped: no longer in flight.
   */
  outcome: 'delivered' | 'confirmed-late' | 'undelivered' | 'waiting' | 'released' | 'dropped';
  reason: string | null;
}

export interface DispatchReport {
  at: string;
  dryRun: boolean;
  assignments: Assignment[];
  /** Tasks that cannot be dispatched (bad input): moved to failed/ (or would be, dry run). */
  failed: FailedTask[];
  skipped: SkippedTask[];
  /**
   * Prompts Claude Code did not confirm: typed but unconfirmed (the task stays in flight and
   * is delivered again by the next run), or that never reached the agent (the marker was
   * removed again).
   */
  errors: DispatchError[];
  /** Prompts of earlier runs that were never confirmed, and what this run did with them. */
  redelivered: Redelivery[];
  /** The sessions of projects with work waiting, idle or not, and why. */
  sessions: SessionIdleness[];
  /**
   * Sessions that were idle in the scan but passed over at hand-out time: another dispatch
   * was handing them a task, or had just done so.
   */
  passed: Array<{ session: string; reason: string }>;
  warnings: string[];
}
