/**
 * Notifications: the one API other modules call to record a notable event and tell the
 * operator about it.
 *
 *   await emit(ctx, 'swap.completed', { from, to, reason, sessions });
 *
 * `emit` appends the event to events.jsonl and, when `notify.events` lists it, delivers it
 * to every configured sink (Telegram, webhook, command) in parallel, each with a 5 s timeout.
 * It never throws: a notification must never make a command fail. A failed delivery is
 * queued in `<stateDir>/outbox.jsonl`; `retryOutbox` (outbox.ts, run by `tick`) retries it
 * with exponential backoff for 24 h, then drops it with a `notify.dropped` event.
 *
 * Dedup: an event identical to one delivered in the last 10 minutes, by any process, is
 * recorded but not sent again. "Identical" means the same event name and the same fields,
 * ignoring `ts`, `level` and the timing fields in VOLATILE_FIELDS; a caller can pass its own
 * `dedupKey` instead.
 *
 * The `notify.*` events this module writes itself (sent, failed, deduplicated, delivered,
 * dropped) go to events.jsonl only; they are never delivered, so a broken sink cannot feed
 * a loop.
 */
import { createHash } from 'node:crypto';
import type { Context } from '../core/context.js';
import { appendEvent, type EventLevel, type EventRecord } from '../core/events.js';
import { redactDeep } from '../core/redact.js';
import { deliver, enabledSinks, note, resolveTarget, type NotifyTarget } from './deliver.js';
import { queueFailed } from './outbox.js';
import { payloadOf } from './sink.js';
import { withNotifyLock } from './store.js';

export const DEDUP_WINDOW_MS = 10 * 60_000;
/** Fields that differ between two reports of the same thing; left out of the fingerprint. */
const VOLATILE_FIELDS = ['ts', 'level', 'at', 'now', 'durationMs', 'elapsedMs', 'poll', 'attempt'];

interface EmitOptions {
  level?: EventLevel;
  /** The event time; default: the context's clock, or now. */
  now?: Date;
  /** Replaces the computed fingerprint for the 10-minute dedup. */
  dedupKey?: string;
  /** Per-sink timeout in ms; default SINK_TIMEOUT_MS (5 s). Tests shorten it. */
  timeoutMs?: number;
}

/** Whether `notify.events` lists the event: an exact name, a `prefix.*` or `*`. */
export function wantsEvent(events: readonly string[], event: string): boolean {
  return events.some(
    (e) => e === event || e === '*' || (e.endsWith('.*') && event.startsWith(e.slice(0, -1))),
  );
}

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The dedup fingerprint: event name plus every field but the volatile ones. */
export function eventFingerprint(record: { event: string; [k: string]: unknown }): string {
  const fields = Object.fromEntries(
    Object.entries(record).filter(([k]) => !VOLATILE_FIELDS.includes(k)),
  );
  return createHash('sha256')
    .update(JSON.stringify(stable(fields)))
    .digest('hex')
    .slice(0, 32);
}

/** `emit` at the context's clock with a level: how the swap and watch steps report. */
export function notifyEvent(
  ctx: Context,
  event: string,
  fields: Record<string, unknown>,
  level: EventLevel = 'info',
): Promise<EventRecord> {
  return emit(ctx, event, fields, { level });
}

/**
 * Records `event` in events.jsonl and, when `notify.events` lists it, delivers it to every
 * configured sink. Resolves to the recorded (redacted) event. Never throws.
 */
export async function emit(
  target: NotifyTarget,
  event: string,
  fields: Record<string, unknown> = {},
  opts: EmitOptions = {},
): Promise<EventRecord> {
  const { cfg, now: clockNow, warn } = resolveTarget(target);
  const now = opts.now ?? clockNow();
  let record: EventRecord;
  try {
    record = appendEvent(cfg.stateDir, event, fields, { level: opts.level, now });
  } catch (err) {
    warn(`could not record event ${event}: ${(err as Error).message}`);
    record = redactDeep({ ts: now.toISOString(), event, level: opts.level ?? 'info', ...fields });
  }
  try {
    if (event.startsWith('notify.') || !wantsEvent(cfg.notify.events, event)) return record;
    const sinks = enabledSinks(cfg.notify);
    if (!sinks.length) return record;

    const fingerprint = opts.dedupKey ?? eventFingerprint(record);
    let duplicateOf: string | undefined;
    try {
      await withNotifyLock(cfg, (io) => {
        const recent: Record<string, string> = {};
        for (const [fp, at] of Object.entries(io.recent)) {
          if (Math.abs(now.getTime() - Date.parse(at)) < DEDUP_WINDOW_MS) recent[fp] = at;
        }
        if (recent[fingerprint]) duplicateOf = recent[fingerprint];
        else recent[fingerprint] = now.toISOString();
        io.saveRecent(recent);
      });
    } catch {
      // Lock busy or unwritable: better a duplicate message than a lost one.
    }
    if (duplicateOf) {
      note(
        cfg,
        'notify.deduplicated',
        { for: event, eventTs: record.ts, firstAt: duplicateOf },
        'debug',
        now,
      );
      return record;
    }

    const payload = payloadOf(record);
    const results = await Promise.all(sinks.map((s) => deliver(cfg, s, payload, opts.timeoutMs)));
    const failed = results.filter((r) => !r.ok);
    const sent = results.filter((r) => r.ok).map((r) => r.sink);
    if (sent.length)
      note(cfg, 'notify.sent', { for: event, eventTs: record.ts, sinks: sent }, 'debug', now);
    if (failed.length) {
      const queued = await queueFailed(cfg, record, failed, now, warn);
      for (const r of failed) {
        note(
          cfg,
          'notify.failed',
          { for: event, eventTs: record.ts, sink: r.sink, error: r.error, queued },
          'warn',
          now,
        );
        warn(
          `notification of ${event} to ${r.sink} failed: ${r.error}${queued ? ' (queued for retry)' : ''}`,
        );
      }
    }
  } catch (err) {
    warn(`notification of ${event} failed: ${(err as Error).message}`);
  }
  return record;
}
