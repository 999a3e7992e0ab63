/**
 * The outbox: deliveries that failed wait in `<stateDir>/outbox.jsonl` and `retryOutbox`
 * (run by `tick`) tries them again with exponential backoff for 24 h, then drops them with a
 * `notify.dropped` event.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { EventRecord } from '../core/events.js';
import { tryLock } from '../core/lock.js';
import {
  deliver,
  enabledSinks,
  note,
  resolveTarget,
  type NotifySettings,
  type NotifyTarget,
} from './deliver.js';
import { payloadOf, type SinkResult } from './sink.js';
import { outboxPath, withNotifyLock, type OutboxEntry } from './store.js';

/** A failed delivery is retried for this long, then dropped. */
const OUTBOX_MAX_AGE_MS = 24 * 3600_000;
/** Beyond this many queued deliveries the oldest are dropped (a sink down for a day). */
const OUTBOX_MAX_ENTRIES = 500;

interface RetryReport {
  /** Another process was already retrying the outbox. */
  skipped: boolean;
  /** Entries tried in this run. */
  tried: number;
  delivered: number;
  failed: number;
  dropped: number;
  /** Entries left in the outbox. */
  pending: number;
}

/** The delay before retry number `attempts + 1`: 1 min, doubling, at most 1 h. */
export function retryDelay(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, attempts - 1), 3600_000);
}

function dropFields(e: OutboxEntry, reason: string): Record<string, unknown> {
  return {
    for: e.record.event,
    eventTs: e.record.ts,
    sink: e.sink,
    attempts: e.attempts,
    reason,
    lastError: e.lastError,
  };
}

/**
 * Queues the failed deliveries of `record`, dropping the oldest entries beyond
 * OUTBOX_MAX_ENTRIES. Returns whether they were queued; never throws.
 */
export async function queueFailed(
  cfg: NotifySettings,
  record: EventRecord,
  failed: readonly SinkResult[],
  now: Date,
  warn: (msg: string) => void,
): Promise<boolean> {
  try {
    await withNotifyLock(cfg, (io) => {
      const entries = [
        ...io.outbox.entries,
        ...failed.map((r): OutboxEntry => ({
          id: randomBytes(8).toString('hex'),
          sink: r.sink,
          record,
          attempts: 1,
          firstFailedAt: now.toISOString(),
          nextTryAt: new Date(now.getTime() + retryDelay(1)).toISOString(),
          lastError: r.error ?? 'failed',
        })),
      ];
      const overflow = entries.splice(0, Math.max(0, entries.length - OUTBOX_MAX_ENTRIES));
      io.saveOutbox(entries);
      for (const e of overflow)
        note(cfg, 'notify.dropped', dropFields(e, 'outbox full'), 'warn', now);
    });
    return true;
  } catch (err) {
    warn(`could not queue the failed notification: ${(err as Error).message}`);
    return false;
  }
}

/**
 * Retries the queued deliveries that are due, with exponential backoff (1 min doubling to
 * 1 h); entries first failed 24 h ago or more are dropped with a `notify.dropped` event.
 * Only one process retries at a time; another one gets `skipped: true`. Never throws.
 */
export async function retryOutbox(
  target: NotifyTarget,
  opts: { now?: Date; timeoutMs?: number } = {},
): Promise<RetryReport> {
  const { cfg, now: clockNow, warn } = resolveTarget(target);
  const now = opts.now ?? clockNow();
  const report: RetryReport = {
    skipped: false,
    tried: 0,
    delivered: 0,
    failed: 0,
    dropped: 0,
    pending: 0,
  };
  if (!fs.existsSync(outboxPath(cfg.stateDir))) return report;
  let release: (() => Promise<void>) | null = null;
  try {
    release = await tryLock(`${cfg.stateDir}/notify-retry`, { staleAfter: cfg.lock.staleAfter });
    if (!release) return { ...report, skipped: true };
    const enabled = new Set(enabledSinks(cfg.notify));

    const due = await withNotifyLock(cfg, (io) => {
      const keep: OutboxEntry[] = [];
      const take: OutboxEntry[] = [];
      for (const line of io.outbox.invalid) {
        note(
          cfg,
          'notify.dropped',
          { reason: 'unreadable outbox line', line: line.slice(0, 200) },
          'warn',
          now,
        );
        report.dropped++;
      }
      for (const e of io.outbox.entries) {
        if (now.getTime() - Date.parse(e.firstFailedAt) >= OUTBOX_MAX_AGE_MS) {
          note(cfg, 'notify.dropped', dropFields(e, 'undelivered for 24h'), 'warn', now);
          report.dropped++;
        } else {
          keep.push(e);
          // A sink that is off in this run (its env var unset under cron, say) keeps its entries.
          if (Date.parse(e.nextTryAt) <= now.getTime() && enabled.has(e.sink)) take.push(e);
        }
      }
      if (report.dropped) io.saveOutbox(keep);
      return take;
    });
    report.tried = due.length;
    if (!due.length) {
      report.pending = (await withNotifyLock(cfg, (io) => io.outbox.entries.length)) ?? 0;
      return report;
    }

    const results = await Promise.all(
      due.map((e) => deliver(cfg, e.sink, payloadOf(e.record), opts.timeoutMs)),
    );
    const byId = new Map(due.map((e, i) => [e.id, results[i]!]));
    await withNotifyLock(cfg, (io) => {
      const next: OutboxEntry[] = [];
      for (const e of io.outbox.entries) {
        const r = byId.get(e.id);
        if (!r) next.push(e);
        else if (r.ok) {
          report.delivered++;
          note(
            cfg,
            'notify.delivered',
            { for: e.record.event, eventTs: e.record.ts, sink: e.sink, attempts: e.attempts + 1 },
            'info',
            now,
          );
        } else {
          report.failed++;
          const attempts = e.attempts + 1;
          next.push({
            ...e,
            attempts,
            nextTryAt: new Date(now.getTime() + retryDelay(attempts)).toISOString(),
            lastError: r.error ?? 'failed',
          });
          note(
            cfg,
            'notify.failed',
            {
              for: e.record.event,
              eventTs: e.record.ts,
              sink: e.sink,
              error: r.error,
              attempts,
              queued: true,
            },
            'warn',
            now,
          );
        }
      }
      io.saveOutbox(next);
      report.pending = next.length;
    });
  } catch (err) {
    warn(`notification outbox retry failed: ${(err as Error).message}`);
  } finally {
    await release?.().catch(() => undefined);
  }
  return report;
}
