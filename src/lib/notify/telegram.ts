/**
 * The Telegram sink: `POST {apiBase}/bot{token}/sendMessage` with `chat_id`, a short HTML
 * message and `parse_mode: HTML`. The token lives in the URL path, so no URL or fetch error
 * leaves this module unscrubbed.
 */
import type { Config } from '../core/config.js';
import * as z from '../core/zod.js';
import {
  bodyText,
  errorText,
  firstLine,
  scrub,
  SINK_TIMEOUT_MS,
  type Payload,
  type SinkResult,
} from './sink.js';

type TelegramConfig = NonNullable<Config['notify']['telegram']>;

/** Telegram's own limit is 4096 characters. */
const MAX_VALUE = 200;
const MAX_FIELDS = 14;

/** Fields an operator wants first, in this order; the rest follow as they come. */
const FIRST = [
  'message',
  'account',
  'from',
  'to',
  'session',
  'sessions',
  'project',
  'task',
  'reason',
  'outcome',
  'resetsAt',
  'exhaustedUntil',
  'error',
];
const SKIP = new Set(['ts', 'event', 'level', 'host', 'snippet']);

/** Escapes the three characters Telegram's HTML mode needs escaped. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function show(value: unknown): string | null {
  if (value === null || value === undefined || value === '') return null;
  let text: string;
  if (Array.isArray(value)) {
    if (!value.length) return null;
    text = value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');
  } else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** The message: the event name, host and level, then its notable fields, HTML-escaped. */
export function telegramText(p: Payload): string {
  const icon = p.level === 'error' ? '🚨 ' : p.level === 'warn' ? '⚠️ ' : '';
  const lines = [`${icon}<b>${escapeHtml(p.event)}</b> on <code>${escapeHtml(p.host)}</code>`];
  const keys = [
    ...FIRST.filter((k) => k in p),
    ...Object.keys(p).filter((k) => !FIRST.includes(k) && !SKIP.has(k)),
  ];
  let shown = 0;
  for (const key of keys) {
    const value = show(p[key]);
    if (value === null) continue;
    if (shown++ >= MAX_FIELDS) {
      lines.push('…');
      break;
    }
    lines.push(`${escapeHtml(key)}: ${escapeHtml(value)}`);
  }
  lines.push(`<i>${escapeHtml(p.ts)}</i>`);
  return lines.join('\n');
}

const responseSchema = z.looseObject({
  ok: z.boolean(),
  description: z.optional(z.string()),
});

/** Whether the sink is usable: an empty token or chat (an unset env var) turns it off. */
export function telegramEnabled(cfg: TelegramConfig | null): cfg is TelegramConfig {
  return Boolean(cfg && cfg.botToken && cfg.chatId);
}

export async function sendTelegram(
  cfg: TelegramConfig,
  payload: Payload,
  opts: { timeoutMs?: number } = {},
): Promise<SinkResult> {
  const started = Date.now();
  const secrets = [cfg.botToken];
  const fail = (why: string): SinkResult => ({
    sink: 'telegram',
    ok: false,
    error: scrub(why, secrets),
    durationMs: Date.now() - started,
  });
  const url = `${cfg.apiBase.replace(/\/+$/, '')}/bot${cfg.botToken}/sendMessage`;
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        chat_id: cfg.chatId,
        text: telegramText(payload),
        parse_mode: 'HTML',
        disable_web_page_preview: true,
      }),
      signal: AbortSignal.timeout(opts.timeoutMs ?? SINK_TIMEOUT_MS),
      redirect: 'error',
    });
    const text = await bodyText(res);
    let parsed: z.infer<typeof responseSchema> | undefined;
    try {
      const r = responseSchema.safeParse(JSON.parse(text));
      if (r.success) parsed = r.data;
    } catch {
      // not JSON: reported below with the status
    }
    if (res.ok && parsed?.ok) {
      return { sink: 'telegram', ok: true, durationMs: Date.now() - started };
    }
    const why = parsed?.description ?? firstLine(text);
    return fail(`HTTP ${res.status}${why ? `: ${why}` : ''}`);
  } catch (err) {
    return fail(errorText(err));
  }
}
