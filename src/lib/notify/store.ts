/**
 * The notification files under stateDir, all read and written under one lock
 * (`notify.lock`), atomically, mode 0600:
 * - `outbox.jsonl`: deliveries that failed, one per line, waiting for a retry;
 * - `notify-recent.json`: fingerprints of recently delivered events, for the 10-minute dedup.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { EventRecord } from '../core/events.js';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../core/fs-atomic.js';
import { withLock } from '../core/lock.js';
import * as z from '../core/zod.js';
import type { SinkName } from './sink.js';

const OUTBOX_FILE = 'outbox.jsonl';
const RECENT_FILE = 'notify-recent.json';

interface StoreOptions {
  stateDir: string;
  lock: { waitFor: number; staleAfter: number };
}

const entrySchema = z.looseObject({
  id: z.string(),
  sink: z.enum(['telegram', 'webhook', 'command']),
  record: z.looseObject({ ts: z.string(), event: z.string(), level: z.string() }),
  attempts: z.int().check(z.gte(1)),
  firstFailedAt: z.iso.datetime(),
  nextTryAt: z.iso.datetime(),
  lastError: z.string(),
});

export interface OutboxEntry {
  id: string;
  sink: SinkName;
  /** The event as recorded in events.jsonl (already redacted). */
  record: EventRecord;
  attempts: number;
  firstFailedAt: string;
  nextTryAt: string;
  /** Redacted. */
  lastError: string;
}

interface Outbox {
  entries: OutboxEntry[];
  /** Lines that did not parse or validate (only a hand edit can make one). */
  invalid: string[];
}

export function outboxPath(stateDir: string): string {
  return path.join(stateDir, OUTBOX_FILE);
}

function parseOutbox(text: string | undefined): Outbox {
  const out: Outbox = { entries: [], invalid: [] };
  for (const line of (text ?? '').split('\n')) {
    if (!line.trim()) continue;
    try {
      const r = entrySchema.safeParse(JSON.parse(line));
      if (r.success) out.entries.push(r.data as unknown as OutboxEntry);
      else out.invalid.push(line);
    } catch {
      out.invalid.push(line);
    }
  }
  return out;
}

/** Reads the outbox without the lock (a snapshot: every write is an atomic rename). */
export function readOutbox(stateDir: string): Outbox {
  return parseOutbox(readFileIfExists(outboxPath(stateDir)));
}

function writeOutbox(stateDir: string, entries: readonly OutboxEntry[]): void {
  const file = outboxPath(stateDir);
  if (!entries.length) {
    fs.rmSync(file, { force: true });
    return;
  }
  writeFileAtomic(file, entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
}

type Recent = Record<string, string>;

function readRecent(stateDir: string): Recent {
  try {
    const raw = JSON.parse(readFileIfExists(path.join(stateDir, RECENT_FILE)) ?? '{}') as unknown;
    const r = z.record(z.string(), z.string()).safeParse((raw as { recent?: unknown }).recent);
    return r.success ? r.data : {};
  } catch {
    return {}; // a damaged dedup file only costs a duplicate message
  }
}

function writeRecent(stateDir: string, recent: Recent): void {
  writeFileAtomic(
    path.join(stateDir, RECENT_FILE),
    `${JSON.stringify({ version: 1, recent }, null, 1)}\n`,
  );
}

/** Runs `fn` under the notify lock, with the outbox (and dedup file) to modify. */
export async function withNotifyLock<T>(
  opts: StoreOptions,
  fn: (io: {
    outbox: Outbox;
    saveOutbox(entries: readonly OutboxEntry[]): void;
    recent: Recent;
    saveRecent(recent: Recent): void;
  }) => T | Promise<T>,
): Promise<T> {
  ensurePrivateDir(opts.stateDir);
  return withLock(
    path.join(opts.stateDir, 'notify'),
    { ...opts.lock, what: `the notification outbox in ${opts.stateDir}` },
    async (assertHeld) =>
      fn({
        get outbox() {
          return readOutbox(opts.stateDir);
        },
        saveOutbox(entries) {
          assertHeld();
          writeOutbox(opts.stateDir, entries);
        },
        get recent() {
          return readRecent(opts.stateDir);
        },
        saveRecent(recent) {
          assertHeld();
          writeRecent(opts.stateDir, recent);
        },
      }),
  );
}
