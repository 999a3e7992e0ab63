/** What every notification sink shares: its result, its timeout, and error text made safe to log. */
import os from 'node:os';
import type { EventRecord } from '../core/events.js';
import { REDACTED, redact } from '../core/redact.js';

export type SinkName = 'telegram' | 'webhook' | 'command';

/** Each delivery attempt is abandoned after this long (the 5 s). */
export const SINK_TIMEOUT_MS = 5000;

export interface SinkResult {
  sink: SinkName;
  ok: boolean;
  /** Why it failed; redacted (no token, header value or webhook path ever appears). */
  error?: string;
  durationMs: number;
}

/** What is sent: the event record as in events.jsonl, plus the host it came from. */
export type Payload = EventRecord & { host: string };

export function payloadOf(record: EventRecord): Payload {
  return { ...record, host: typeof record.host === 'string' ? record.host : os.hostname() };
}

/**
 * Makes an error text safe for events, the outbox and the terminal: every known secret
 * (the bot token, webhook header values and the webhook URL's path) is replaced first, then
 * the generic token patterns of `redact` run.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join(REDACTED);
  }
  return redact(out);
}

/** The text of a thrown error with its cause (fetch hides the reason in `cause`). */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError') return 'timed out';
  const cause = err.cause as (Error & { code?: string }) | undefined;
  const why = cause ? (cause.code ?? cause.message) : '';
  return why && !err.message.includes(why) ? `${err.message} (${why})` : err.message;
}

/** Reads at most `max` characters of a response body; a hostile server cannot flood us. */
export async function bodyText(res: Response, max = 2000): Promise<string> {
  const text = await res.text();
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

export function firstLine(text: string, max = 200): string {
  const line = text.trim().split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
