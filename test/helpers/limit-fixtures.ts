/** The real limit messages of the shared fixtures, and what each must resolve to. */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './env.js';

export interface Fixture {
  id: string;
  text: string;
  class: 'limit' | 'warning' | 'transient' | 'none';
  subtype: string;
  reset_text: string | null;
  timezone: string | null;
  reported: string | null;
}

/**
 * A verbatim copy of `../shared/fixtures/limit-messages.json`, so the suite runs on a clone
 * without the shared folder; `SHARED_FIXTURES` is the original, when it is there.
 */
export const FIXTURES_FILE = path.join(ROOT, 'test', 'fixtures', 'limit-messages.json');
export const SHARED_FIXTURES = path.join(ROOT, '..', 'shared', 'fixtures', 'limit-messages.json');

export const FIXTURES: Fixture[] = JSON.parse(fs.readFileSync(FIXTURES_FILE, 'utf8'));

/**
 * For every entry with a reset text: a detection time shortly before the reset (so no limit
 * is stale), the zone for texts that name none, and the instant, worked out by hand from
 * the zone's UTC offset on that date (not by the code under test).
 */
export const RESETS: Record<string, { now: string; tz?: string; resetsAt: string }> = {
  c001: { now: '2025-06-11T06:00:00Z', resetsAt: '2025-06-11T09:00:00.000Z' }, // Dubai +4
  c004: { now: '2025-06-14T15:00:00Z', resetsAt: '2025-06-14T18:00:00.000Z' }, // epoch
  c007: { now: '2025-07-21T06:00:00Z', resetsAt: '2025-07-21T09:00:00.000Z' }, // epoch
  c010: {
    now: '2025-08-23T06:00:00Z',
    tz: 'America/New_York',
    resetsAt: '2025-08-23T09:00:00.000Z',
  }, // EDT -4
  c013: { now: '2025-09-19T16:00:00Z', tz: 'Europe/Berlin', resetsAt: '2025-09-19T19:00:00.000Z' }, // CEST +2
  c016: { now: '2025-10-05T04:30:00Z', resetsAt: '2025-10-05T07:00:00.000Z' }, // UTC
  c019: { now: '2025-10-09T15:00:00Z', resetsAt: '2025-10-09T18:00:00.000Z' }, // Santiago -3 (DST)
  c022: { now: '2025-11-10T03:00:00Z', tz: 'Asia/Tokyo', resetsAt: '2025-11-13T00:00:00.000Z' }, // JST +9
  c025: {
    now: '2025-11-13T06:00:00Z',
    tz: 'Australia/Sydney',
    resetsAt: '2025-11-13T09:00:00.000Z',
  }, // AEDT +11
  c028: { now: '2025-11-30T23:30:00Z', resetsAt: '2025-12-01T01:00:00.000Z' }, // Seoul +9
  c031: { now: '2026-01-21T04:00:00Z', resetsAt: '2026-01-21T08:00:00.000Z' }, // AKST -9
  c034: { now: '2026-02-02T12:00:00Z', resetsAt: '2026-02-04T19:00:00.000Z' }, // Budapest CET +1
  c037: { now: '2026-02-08T20:00:00Z', resetsAt: '2026-02-08T22:00:00.000Z' }, // IST +5:30
  c040: { now: '2026-02-13T00:00:00Z', resetsAt: '2026-02-17T05:00:00.000Z' }, // Seoul +9
  c049: { now: '2026-03-29T22:00:00Z', resetsAt: '2026-03-30T01:00:00.000Z' }, // EDT -4
  c052: { now: '2026-04-10T08:00:00Z', resetsAt: '2026-04-10T11:00:00.000Z' }, // IST
  c055: { now: '2026-04-14T08:00:00Z', resetsAt: '2026-04-14T11:00:00.000Z' }, // CST +8
  c064: { now: '2026-05-22T14:00:00Z', resetsAt: '2026-05-22T16:30:00.000Z' }, // Nicosia EEST +3
  c067: { now: '2026-06-16T14:00:00Z', resetsAt: '2026-06-16T16:40:00.000Z' }, // IST
  c070: { now: '2026-07-01T09:00:00Z', resetsAt: '2026-07-01T11:40:00.000Z' }, // Paris CEST +2
  c073: { now: '2026-07-04T05:00:00Z', resetsAt: '2026-07-04T07:50:00.000Z' }, // PDT -7, next day
  c076: { now: '2026-07-11T17:00:00Z', resetsAt: '2026-07-11T20:50:00.000Z' }, // Riyadh +3
  c079: {
    now: '2026-07-13T16:00:00Z',
    tz: 'America/Sao_Paulo',
    resetsAt: '2026-07-13T20:00:00.000Z',
  }, // -3
  c082: { now: '2026-07-16T00:00:00Z', resetsAt: '2026-07-16T02:20:00.000Z' }, // NZST +12
  c085: { now: '2026-07-19T12:00:00Z', resetsAt: '2026-07-26T01:00:00.000Z' }, // EDT -4
  c088: { now: '2026-07-22T06:00:00Z', tz: 'Europe/London', resetsAt: '2026-07-22T08:30:00.000Z' }, // BST +1
  c091: { now: '2026-07-27T05:00:00Z', resetsAt: '2026-07-27T07:50:00.000Z' }, // IST
  c097: { now: '2026-08-09T15:00:00Z', resetsAt: '2026-08-09T18:50:00.000Z' }, // Buenos Aires -3
  c103: { now: '2026-09-08T12:00:00Z', tz: 'UTC', resetsAt: '2026-09-15T19:00:00.000Z' },
  c106: { now: '2026-09-10T00:00:00Z', resetsAt: '2026-09-10T02:00:00.000Z' }, // Madrid CEST +2
  c109: { now: '2025-07-01T01:00:00Z', resetsAt: '2025-07-01T04:00:00.000Z' }, // Warsaw CEST +2
  c114: {
    now: '2025-08-05T17:00:00Z',
    tz: 'America/Chicago',
    resetsAt: '2025-08-05T20:00:00.000Z',
  }, // CDT -5
  c117: { now: '2025-12-15T18:00:00Z', tz: 'Europe/Berlin', resetsAt: '2025-12-15T22:00:00.000Z' }, // CET +1
  c120: { now: '2025-07-10T03:00:00Z', tz: 'UTC', resetsAt: '2025-07-10T06:00:00.000Z' },
};

/** The kind each fixture subtype must get (at the detection times above). */
export const KIND_OF_SUBTYPE: Record<string, string | null> = {
  session: 'session',
  session_5h: 'session',
  session_epoch_raw: 'session',
  session_or_opus_unspecified: 'session',
  session_claude_ai_web_wording: 'session', // 2.5 h before its reset: the session window
  session_or_weekly_unspecified: 'session', // 4 h before its reset
  session_or_weekly_with_options_menu: 'weekly', // 4 days before its reset
  weekly: 'weekly',
  extra_usage: 'extra-usage',
  api_429_generic_no_reset: 'rate-limit',
  api_429_org_input_tpm: 'rate-limit',
  api_429_request_rejected_final_org_tpm: 'rate-limit',
  generic_chip_no_reset: 'unknown',
  monthly_spend_no_reset: 'spend',
  model_specific_opus_nonblocking_for_sonnet: 'model',
  approaching_opus: 'model',
  approaching_session: 'session',
  approaching_session_status_line: 'session',
};
