/** The append-only `events.jsonl` (README: Files): one JSON object per line, secrets redacted. */
import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './fs-atomic.js';
import { skipSecondaryWrite } from './io-faults.js';
import { redactDeep } from './redact.js';

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface EventRecord {
  ts: string;
  event: string;
  level: EventLevel;
  [field: string]: unknown;
}

const EVENTS_FILE = 'events.jsonl';

export function eventsPath(stateDir: string): string {
  return path.join(stateDir, EVENTS_FILE);
}

/**
 * Appends one event. The line is written with a single O_APPEND write, so concurrent
 * writers never interleave inside a line. Every string is redacted first. The log is a
 * secondary record: on a full disk or a read-only stateDir the line is skipped (the run
 * warns once at its end) rather than failing a command whose main effect happened.
 */
export function appendEvent(
  stateDir: string,
  event: string,
  fields: Record<string, unknown> = {},
  opts: { level?: EventLevel; now?: Date } = {},
): EventRecord {
  const record: EventRecord = redactDeep({
    ts: (opts.now ?? new Date()).toISOString(),
    event,
    level: opts.level ?? 'info',
    ...fields,
  });
  try {
    ensurePrivateDir(stateDir);
    fs.appendFileSync(eventsPath(stateDir), `${JSON.stringify(record)}\n`, {
      mode: PRIVATE_FILE_MODE,
    });
  } catch (err) {
    skipSecondaryWrite('event log', eventsPath(stateDir), err);
  }
  return record;
}

/** Appends one event stamped by the context's clock (log only; `emit` in notify also notifies). */
export function logEvent(
  ctx: { config: { stateDir: string }; clock: { now(): Date } },
  event: string,
  fields: Record<string, unknown> = {},
  level: EventLevel = 'info',
): void {
  appendEvent(ctx.config.stateDir, event, fields, { level, now: ctx.clock.now() });
}

/** Reads the events log; lines that do not parse (a torn tail, say) are skipped. */
export function readEvents(stateDir: string): EventRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(eventsPath(stateDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: EventRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as EventRecord);
    } catch {
      // A partial line from a crash is not fatal.
    }
  }
  return out;
}
