/**
 * What emit, the outbox retry and `notify test` share: the notify settings they run with,
 * the configured sinks, one delivery to one sink, and the internal `notify.*` events.
 */
import type { Config } from '../core/config.js';
import type { Context } from '../core/context.js';
import { appendEvent, type EventLevel } from '../core/events.js';
import { redactDeep } from '../core/redact.js';
import { sendCommand } from './command.js';
import type { Payload, SinkName, SinkResult } from './sink.js';
import { sendTelegram, telegramEnabled } from './telegram.js';
import { sendWebhook, webhookLabel } from './webhook.js';

/** What emit needs from the config. A full Config or a Context will do. */
export type NotifySettings = Pick<Config, 'stateDir' | 'notify' | 'lock'>;
export type NotifyTarget = Context | NotifySettings;

export interface SinkInfo {
  sink: SinkName;
  /** For display; never holds a token or a webhook path. */
  label: string;
  enabled: boolean;
  /** Why a configured sink is off. */
  reason?: string;
}

/** The settings, clock and warning channel of a notify call (a Context, or bare settings). */
export function resolveTarget(target: NotifyTarget): {
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

/** The sinks that are configured and enabled. */
export function enabledSinks(notify: Config['notify']): SinkName[] {
  return configuredSinks(notify)
    .filter((s) => s.enabled)
    .map((s) => s.sink);
}

/** Sends one payload to one sink. Never throws. */
export async function deliver(
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

/** Appends an internal event; a full disk must not turn a notification into a crash. */
export function note(
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
