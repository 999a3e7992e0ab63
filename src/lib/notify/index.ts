/**
 * Notifications: the one API other modules call to record a notable event and tell the
 * operator about it.
 *
 *   await emit(ctx, 'swap.completed', { from, to, reason, sessions });
 *
 * `emit` appends the event to events.jsonl and, when `notify.events` lists it, delivers it
 * to every configured sink (Telegram, webhook, command) in parallel, each with a 5 s timeout.
 * It never throws: a notification must never make a command fail. A failed delivery is
 * queued in `<stateDir>/outbox.jsonl`; `retryOutbox` (run by `tick`) retries it with
 * exponential backoff for 24 h, then drops it with a `notify.dropped` event.
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
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import { appendEvent, type EventLevel, type EventRecord } from '../core/events.js';
import { tryLock } from '../core/lock.js';
import { redactDeep } from '../core/redact.js';
import { sendCommand } from './command.js';
import { payloadOf, type Payload, type SinkName, type SinkResult } from './sink.js';
import { outboxPath, withNotifyLock, type OutboxEntry } from './store.js';
import { sendTelegram, telegramEnabled } from './telegram.js';
import { sendWebhook, webhookLabel } from './webhook.js';

export { SINK_TIMEOUT_MS, type SinkName, type SinkResult } from './sink.js';
export { OUTBOX_FILE, RECENT_FILE, readOutbox, type OutboxEntry } from './store.js';
export { escapeHtml, telegramText } from './telegram.js';

/** What emit needs from the config. A full Config or a Context will do. */
export type NotifySettings = Pick<Config, 'stateDir' | 'notify' | 'lock'>;
export type NotifyTarget = Context | NotifySettings;

export const DEDUP_WINDOW_MS = 10 * 60_000;
/** A failed delivery is retried for this long, then dropped. */
export const OUTBOX_MAX_AGE_MS = 24 * 3600_000;
/** Beyond this many queued deliveries the oldest are dropped (a sink down for a day). */
export const OUTBOX_MAX_ENTRIES = 500;
/** Fields that differ between two reports of the same thing; left out of the fingerprint. */
export const VOLATILE_FIELDS = [
  'ts',
  'level',
  'at',
  'now',
  'durationMs',
  'elapsedMs',
  'poll',
  'attempt',
];

export interface EmitOptions {
  level?: EventLevel;
  /** The event time; default: the context's clock, or now. */
  now?: Date;
  /** Replaces the computed fingerprint for the 10-minute dedup. */
  dedupKey?: string;
  /** Per-sink timeout in ms; default SINK_TIMEOUT_MS (5 s). Tests shorten it. */
  timeoutMs?: number;
}

export interface RetryReport {
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

export interface SinkInfo {
  sink: SinkName;
  /** For display; never holds a token or a webhook path. */
  label: string;
  enabled: boolean;
  /** Why a configured sink is off. */
  reason?: string;
}

export interface TestReport {
  record: EventRecord;
  results: SinkResult[];
  skipped: SinkInfo[];
}

function resolve(target: NotifyTarget): {
  cfg: NotifySettings;
  now: () => Date;
  warn: (msg: string) => void;
} {
  if ('config' in target && 'clock' in target) {
    return {
      cfg: target.config,
      now: () => target.clock.now(),
      warn: (m) => target.out.warn(m),
    };
  }
  return { cfg: target, now: () => new Date(), warn: () => undefined };
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

/** The sinks in the config, each enabled or with the reason it is off. */
export function configuredSinks(notify: Config['notify']): SinkInfo[] {
  const out: SinkInfo[] = [];
  const tg = notify.telegram;
  if (tg) {
    const reason = !tg.botToken
      ? 'botToken is empty (is its environment variable set?)'
      : !tg.chatId
        ? 'chatId is empty'
        : undefined;
    out.push({
      sink: 'telegram',
      label: `telegram chat ${tg.chatId || '?'}`,
      enabled: !reason,
      reason,
    });
  }
  if (notify.webhook) {
    out.push({ sink: 'webhook', label: `webhook ${webhookLabel(notify.webhook)}`, enabled: true });
  }
  if (notify.command) {
    out.push({ sink: 'command', label: `command ${notify.command[0]}`, enabled: true });
  }
  return out;
}

function enabledSinks(notify: Config['notify']): SinkName[] {
  return configuredSinks(notify)
    .filter((s) => s.enabled)
    .map((s) => s.sink);
}

/** Sends one payload to one sink. Never throws. */
async function deliver(
  cfg: NotifySettings,
  sink: SinkName,
  payload: Payload,
  timeoutMs: number | undefined,
): Promise<SinkResult> {
  const { notify } = cfg;
  try {
    if (sink === 'telegram' && telegramEnabled(notify.telegram)) {
      return await sendTelegram(notify.telegram, payload, { timeoutMs });
    }
    if (sink === 'webhook' && notify.webhook) {
      return await sendWebhook(notify.webhook, payload, { timeoutMs });
    }
    if (sink === 'command' && notify.command) {
      return await sendCommand(notify.command, payload, { timeoutMs, cwd: cfg.stateDir });
    }
    return { sink, ok: false, error: 'sink is not configured', durationMs: 0 };
  } catch (err) {
    // The sinks catch their own errors; this is a last guard, so redact generically.
    return {
      sink,
      ok: false,
      error: redactDeep(err instanceof Error ? err.message : String(err)),
      durationMs: 0,
    };
  }
}

/** The delay before retry number `attempts + 1`: 1 min, doubling, at most 1 h. */
export function retryDelay(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, attempts - 1), 3600_000);
}

/** Appends an internal event; a full disk must not turn a notification into a crash. */
function note(
  cfg: NotifySettings,
  event: string,
  fields: Record<string, unknown>,
  level: EventLevel,
  now: Date,
): void {
  try {
    appendEvent(cfg.stateDir, event, fields, { level, now });
  } catch {
    // nothing more to do
  }
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
  const { cfg, now: clockNow, warn } = resolve(target);
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
      let queued = false;
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
        queued = true;
      } catch (err) {
        warn(`could not queue the failed notification: ${(err as Error).message}`);
      }
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

/**
 * Retries the queued deliveries that are due, with exponential backoff (1 min doubling to
 * 1 h); entries first failed 24 h ago or more are dropped with a `notify.dropped` event.
 * Only one process retries at a time; another one gets `skipped: true`. Never throws.
 */
export async function retryOutbox(
  target: NotifyTarget,
  opts: { now?: Date; timeoutMs?: number } = {},
): Promise<RetryReport> {
  const { cfg, now: clockNow, warn } = resolve(target);
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

/**
 * `notify test`: sends a `notify.test` event to every configured sink, whatever
 * `notify.events` says and without dedup. Failures are reported, not queued.
 */
export async function sendTest(
  target: NotifyTarget,
  opts: { now?: Date; timeoutMs?: number } = {},
): Promise<TestReport> {
  const { cfg, now: clockNow } = resolve(target);
  const now = opts.now ?? clockNow();
  const sinks = configuredSinks(cfg.notify);
  const record = appendEvent(
    cfg.stateDir,
    'notify.test',
    { message: 'Test notification from claude-failover: this sink works.' },
    { now },
  );
  const payload = payloadOf(record);
  const enabled = sinks.filter((s) => s.enabled);
  const results = await Promise.all(
    enabled.map((s) => deliver(cfg, s.sink, payload, opts.timeoutMs)),
  );
  for (const r of results) {
    if (!r.ok)
      note(
        cfg,
        'notify.failed',
        { for: 'notify.test', eventTs: record.ts, sink: r.sink, error: r.error, queued: false },
        'warn',
        now,
      );
  }
  return { record, results, skipped: sinks.filter((s) => !s.enabled) };
}
