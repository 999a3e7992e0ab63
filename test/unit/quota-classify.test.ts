import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/lib/core/errors.js';
import {
  classifyText,
  createClassifier,
  lastLines,
  LONG_RETRY_MS,
  toVerdictJson,
  type QuotaClassifier,
  type UserPatterns,
} from '../../src/lib/quota/index.js';
import { FIXTURES, KIND_OF_SUBTYPE, RESETS } from '../helpers/limit-fixtures.js';

const plusMinutes = (iso: string, m: number) => new Date(Date.parse(iso) + m * 60_000);
const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

describe('fixtures/limit-messages.json', () => {
  it('has the entries this test knows about', () => {
    expect(FIXTURES.length).toBeGreaterThanOrEqual(77);
    const withReset = FIXTURES.filter((f) => f.reset_text).map((f) => f.id);
    expect(withReset.sort()).toEqual(Object.keys(RESETS).sort());
  });

  for (const f of FIXTURES) {
    it(`${f.id} (${f.subtype}) is ${f.class}`, async () => {
      const r = RESETS[f.id];
      const now = new Date(r?.now ?? `${f.reported ?? '2026-01-01'}T12:00:00Z`);
      const res = await classifyText(f.text, { now, timezone: r?.tz ?? 'UTC' });
      expect(res.verdict).toBe(f.class);
      if (f.class === 'limit' || f.class === 'warning') {
        expect(res.pattern).toMatch(f.class === 'limit' ? /^limit\./ : /^warning\./);
        expect(res.kind).toBe(KIND_OF_SUBTYPE[f.subtype]);
        expect(res.line).toBeTruthy();
      } else {
        expect(res.kind).toBeNull();
      }
      if (r) {
        expect(res.resetsAt).toBe(r.resetsAt);
        expect(squash(res.resetText ?? '')).toBe(squash(f.reset_text!));
      } else if (f.class === 'limit') {
        expect(res.resetsAt).toBeNull();
      }
    });
  }

  it('every limit with a reset is stale one minute after it and a limit one minute before', async () => {
    for (const f of FIXTURES.filter((x) => x.class === 'limit' && RESETS[x.id])) {
      const r = RESETS[f.id]!;
      const before = await classifyText(f.text, {
        now: plusMinutes(r.resetsAt, -1),
        timezone: r.tz ?? 'UTC',
      });
      const after = await classifyText(f.text, {
        now: plusMinutes(r.resetsAt, 1),
        timezone: r.tz ?? 'UTC',
      });
      expect([f.id, before.verdict, before.resetsAt]).toEqual([f.id, 'limit', r.resetsAt]);
      expect([f.id, after.verdict, after.resetsAt]).toEqual([f.id, 'stale', r.resetsAt]);
    }
  });
});

// ---------------------------------------------------------------------------------------
// Messages that are not in the fixture file: the same generations, written differently.

interface Case {
  text: string;
  now: string;
  tz?: string;
  verdict: string;
  kind?: string | null;
  resetsAt?: string | null;
  pattern?: string | RegExp;
}

function check(cases: Case[]) {
  for (const c of cases) {
    it(JSON.stringify(c.text).slice(0, 110), async () => {
      const res = await classifyText(c.text, { now: new Date(c.now), timezone: c.tz ?? 'UTC' });
      expect(res.verdict).toBe(c.verdict);
      if (c.kind !== undefined) expect(res.kind).toBe(c.kind);
      if (c.resetsAt !== undefined) expect(res.resetsAt).toBe(c.resetsAt);
      if (typeof c.pattern === 'string') expect(res.pattern).toBe(c.pattern);
      else if (c.pattern) expect(res.pattern).toMatch(c.pattern);
    });
  }
}

describe('unseen limit messages, per generation', () => {
  describe('2025 "Claude usage limit reached. Your limit will reset at ..."', () => {
    check([
      {
        text: 'Claude usage limit reached. Your limit will reset at 12am.',
        now: '2025-07-26T21:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2025-07-27T00:00:00.000Z',
        pattern: 'limit.claude-usage-reached',
      },
      {
        text: '  ⎿  Claude usage limit reached. Your limit will reset at 4pm (Europe/London).',
        now: '2025-07-15T12:00:00Z',
        verdict: 'limit',
        resetsAt: '2025-07-15T15:00:00.000Z',
      },
      {
        text: '> Claude usage limit reached. Your limit will reset at 10:30pm (America/Chicago).',
        now: '2025-09-01T00:00:00Z',
        verdict: 'limit',
        resetsAt: '2025-09-01T03:30:00.000Z',
      },
      {
        // wrapped, with NBSPs as some terminals paste them
        text: 'Claude\u00a0usage limit reached. Your limit will reset\n     at\u00a09am (Asia/Tokyo).\n',
        now: '2025-08-01T22:00:00Z',
        verdict: 'limit',
        resetsAt: '2025-08-02T00:00:00.000Z',
      },
      {
        text: 'Claude usage limit reached. Your limit will reset at 1pm (Etc/GMT+5).',
        now: '2025-07-01T15:00:00Z',
        verdict: 'limit',
        resetsAt: '2025-07-01T18:00:00.000Z', // Etc/GMT+5 is UTC-5
      },
      {
        text: "'Claude usage limit reached. Your limit will reset at Oct 6, 6pm.'",
        now: '2025-10-04T10:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2025-10-06T18:00:00.000Z',
      },
      {
        text: '  ⎿  Claude AI usage limit reached|1760000000',
        now: '2025-10-09T06:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2025-10-09T08:53:20.000Z',
        pattern: 'limit.claude-usage-reached-epoch',
      },
      {
        text: 'Claude AI usage limit reached|1760000000',
        now: '2025-10-09T09:00:00Z',
        verdict: 'stale',
        resetsAt: '2025-10-09T08:53:20.000Z',
      },
    ]);
  });

  describe('2025-08..12 "<window> limit reached ∙ resets ..."', () => {
    check([
      {
        text: '5-hour limit reached ∙ resets 11am',
        now: '2025-09-02T15:00:00Z',
        tz: 'America/Los_Angeles',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2025-09-02T18:00:00.000Z',
        pattern: 'limit.window-reached',
      },
      {
        text: 'Session limit reached · resets 12:30am',
        now: '2025-11-20T22:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2025-11-21T00:30:00.000Z',
      },
      {
        text: '⎿  Weekly limit reached · resets Dec 2, 7pm (Europe/Moscow) · /upgrade to Max or turn on /extra-usage',
        now: '2025-11-29T10:00:00Z',
        verdict: 'limit',
        kind: 'weekly',
        resetsAt: '2025-12-02T16:00:00.000Z',
      },
      {
        text: 'Opus weekly limit reached ∙ resets Oct 9, 10am',
        now: '2025-10-05T10:00:00Z',
        verdict: 'limit',
        kind: 'model',
        resetsAt: '2025-10-09T10:00:00.000Z',
      },
      {
        text: 'Weekly limit reached · resets Mon 12:00am',
        now: '2025-11-20T10:00:00Z', // a Thursday
        verdict: 'limit',
        kind: 'weekly',
        resetsAt: '2025-11-24T00:00:00.000Z',
      },
      {
        text: 'Limit reached · resets 4pm',
        now: '2025-10-01T12:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2025-10-01T16:00:00.000Z',
      },
      { text: 'Limit reached', now: '2025-10-01T12:00:00Z', verdict: 'none' },
      {
        text: '  ⏵⏵ bypass permissions on (shift+tab to cycle)            Usage limit reached',
        now: '2026-05-07T10:00:00Z',
        verdict: 'limit',
        kind: 'unknown',
        resetsAt: null,
      },
    ]);
  });

  describe('2026 "You\'ve hit your limit · resets ..."', () => {
    check([
      {
        text: "You've hit your limit · resets 10pm (America/New_York)",
        now: '2026-01-22T00:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2026-01-22T03:00:00.000Z',
        pattern: 'limit.hit-your-limit',
      },
      {
        text: '  ⎿  You’ve hit your limit · resets 6am (Europe/Berlin)\n     /upgrade to increase your usage limit.',
        now: '2026-02-10T03:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-02-10T05:00:00.000Z',
      },
      {
        text: "● You've hit your limit ∙ resets Jan 30 at 5pm (Asia/Kolkata)",
        now: '2026-01-26T10:00:00Z',
        verdict: 'limit',
        kind: 'weekly',
        resetsAt: '2026-01-30T11:30:00.000Z',
      },
      {
        text: "You've\u00a0hit\u00a0your\u00a0limit\u00a0·\u00a0resets\u00a08pm\u00a0(Asia/Tokyo)",
        now: '2026-03-01T09:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-03-01T11:00:00.000Z',
      },
      {
        text: "You've hit your usage limit.",
        now: '2026-05-20T10:00:00Z',
        verdict: 'limit',
        kind: 'unknown',
        resetsAt: null,
      },
      {
        text: "You've hit your limit · resets 8pm (Africa/Cairo)",
        now: '2026-01-15T15:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-01-15T18:00:00.000Z', // EET +2
      },
    ]);
  });

  describe('2026-05.. "You\'ve hit your session|weekly limit · resets ..."', () => {
    check([
      {
        text: "You've hit your session limit · resets 17:30 (Europe/Berlin)",
        now: '2026-06-01T13:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2026-06-01T15:30:00.000Z',
        pattern: 'limit.hit-your-window',
      },
      {
        text: "You've hit your session limit · resets 12pm (America/Denver)",
        now: '2026-06-02T15:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-06-02T18:00:00.000Z',
      },
      {
        text: "  ⎿  You've hit your session limit · resets 3:45pm\n     (Europe/Berlin)\n     /login to switch to an API usage-billed account.",
        now: '2026-06-01T12:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-06-01T13:45:00.000Z',
      },
      {
        text: "You've hit your session limit · resets in 2h 13m",
        now: '2026-06-01T12:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2026-06-01T14:13:00.000Z',
      },
      {
        text: "You've hit your weekly limit · resets Mon 12:00am (America/New_York)",
        now: '2026-07-08T12:00:00Z', // a Wednesday
        verdict: 'limit',
        kind: 'weekly',
        resetsAt: '2026-07-13T04:00:00.000Z',
      },
      {
        text: "You've hit your weekly limit · resets Jul 31, 2am (UTC)",
        now: '2026-07-27T10:00:00Z',
        verdict: 'limit',
        kind: 'weekly',
        resetsAt: '2026-07-31T02:00:00.000Z',
      },
      {
        text: "You've hit your weekly limit · resets Jul 27 at 4:30am (Asia/Calcutta)",
        now: '2026-07-24T10:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-07-26T23:00:00.000Z',
      },
      {
        // a date without a year takes the year nearest now, across New Year
        text: "You've hit your weekly limit · resets Jan 2, 9am (UTC)",
        now: '2026-12-30T12:00:00Z',
        verdict: 'limit',
        resetsAt: '2027-01-02T09:00:00.000Z',
      },
      {
        text: "You've hit your weekly limit · resets Dec 31, 11pm (UTC)",
        now: '2027-01-01T01:00:00Z',
        verdict: 'stale',
        resetsAt: '2026-12-31T23:00:00.000Z',
      },
      {
        text: "- You've hit your session limit · resets 5pm",
        now: '2026-06-01T12:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-06-01T17:00:00.000Z',
      },
      {
        text: "⚠️ You've hit your weekly limit · resets Wed 9am (America/Argentina/Buenos_Aires)",
        now: '2026-06-01T12:00:00Z', // a Monday
        verdict: 'limit',
        kind: 'weekly',
        resetsAt: '2026-06-03T12:00:00.000Z',
      },
      {
        text: "You've hit your 5-hour limit · resets 10:44pm (UTC)",
        now: '2026-06-01T20:00:00Z',
        verdict: 'limit',
        kind: 'session',
        resetsAt: '2026-06-01T22:44:00.000Z',
      },
      {
        text: "You've hit your session limit · resets 05:00 PM",
        now: '2026-06-01T12:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-06-01T17:00:00.000Z',
      },
      {
        text: "You've hit your session limit · resets 3pm (UTC+2)",
        now: '2026-06-01T12:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-06-01T13:00:00.000Z',
      },
    ]);
  });

  describe('model, spend and extra usage', () => {
    check([
      {
        text: "You've reached your Fable 5 limit. Run /usage-credits to continue or switch models with /model.",
        now: '2026-07-15T10:00:00Z',
        verdict: 'limit',
        kind: 'model',
        resetsAt: null,
        pattern: 'limit.model',
      },
      {
        text: "⎿  You've hit your Opus limit · resets 3:45pm (Europe/London)",
        now: '2026-07-15T12:00:00Z',
        verdict: 'limit',
        kind: 'model',
        resetsAt: '2026-07-15T14:45:00.000Z',
      },
      {
        text: "You've hit your Sonnet 4.5 weekly limit · resets Oct 9, 10am",
        now: '2026-10-05T10:00:00Z',
        verdict: 'limit',
        kind: 'model',
        resetsAt: '2026-10-09T10:00:00.000Z',
      },
      {
        text: "You've hit your Nova limit",
        now: '2026-10-05T10:00:00Z',
        verdict: 'limit',
        kind: 'model',
      },
      {
        text: "You've hit your monthly spend limit · raise it at claude.ai/settings/usage",
        now: '2026-07-28T10:00:00Z',
        verdict: 'limit',
        kind: 'spend',
        resetsAt: null,
        pattern: 'limit.spend',
      },
      {
        text: "Error: You're out of extra usage · resets 1:30am (Asia/Calcutta)",
        now: '2026-03-04T17:00:00Z',
        verdict: 'limit',
        kind: 'extra-usage',
        resetsAt: '2026-03-04T20:00:00.000Z',
        pattern: 'limit.extra-usage',
      },
    ]);
  });

  describe('API and organisation rate limits', () => {
    check([
      {
        text: '  ⎿  API Error: Rate limit reached',
        now: '2026-03-24T10:00:00Z',
        verdict: 'limit',
        kind: 'rate-limit',
        pattern: 'limit.api-rate-limit',
      },
      {
        text: "● API Error: Request rejected (429) · This request would exceed your organization's rate limit of 400,000 output tokens per minute",
        now: '2026-04-28T10:00:00Z',
        verdict: 'limit',
        kind: 'rate-limit',
      },
      {
        text: 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account\'s rate limit. Please try again later."}}',
        now: '2025-11-29T10:00:00Z',
        verdict: 'limit',
        kind: 'rate-limit',
      },
      {
        // a gateway's quota text after the 429, with a full date and seconds
        text: 'API Error: Request rejected (429) · [1310][Weekly/Monthly Limit Exhausted.\n     Your limit will reset at 2026-08-30 05:22:45]',
        now: '2026-08-29T12:00:00Z',
        verdict: 'limit',
        kind: 'rate-limit',
        resetsAt: '2026-08-30T05:22:45.000Z',
      },
      {
        text: 'API Error: Request rejected (429) · Token Plan usage limit reached: Upgrade your Token Plan (2056)',
        now: '2026-08-29T12:00:00Z',
        verdict: 'limit',
      },
      {
        text: 'API Error: Request rejected (429) · consumer queue full',
        now: '2026-08-29T12:00:00Z',
        verdict: 'transient',
      },
      {
        text: 'API Error: 400 {"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}',
        now: '2026-08-29T12:00:00Z',
        verdict: 'limit',
        kind: 'spend',
        pattern: 'limit.credit-balance',
      },
      {
        text: 'API Error: Request rejected (429) · this may be a temporary capacity issue. If it persists, check https://status.claude.com.',
        now: '2026-08-01T10:00:00Z',
        verdict: 'transient',
      },
      {
        text: 'API Error: Request rejected (429)',
        now: '2026-08-01T10:00:00Z',
        verdict: 'transient',
      },
    ]);
  });

  describe('the /rate-limit-options menu', () => {
    check([
      {
        text: ' What do you want to do?\n\n ❯ 1. Stop and wait for limit to reset\n   2. Add funds to continue with extra usage\n   3. Upgrade your plan\n\n Enter to confirm · Esc to cancel',
        now: '2026-03-01T10:00:00Z',
        verdict: 'limit',
        kind: 'unknown',
        resetsAt: null,
        pattern: 'limit.rate-limit-options',
      },
      {
        // with the limit line above it, the limit line (and its reset) is the answer
        text: "You've hit your limit · resets 2pm (UTC)\n❯ /rate-limit-options\n ❯ 1. Stop and wait for limit to reset\n   2. Request more",
        now: '2026-03-01T10:00:00Z',
        verdict: 'limit',
        resetsAt: '2026-03-01T14:00:00.000Z',
        pattern: 'limit.hit-your-limit',
      },
      {
        // once that limit is over, the menu under it is no evidence of a new one
        text: "You've hit your limit · resets 2pm (UTC)\n ❯ 1. Stop and wait for limit to reset\n   2. Request more",
        now: '2026-03-01T14:30:00Z',
        verdict: 'stale',
      },
    ]);
  });
});

// ---------------------------------------------------------------------------------------
// Claude Code 2.1.312..2.1.332 (their release notes): the strings of those binaries,
// written with other times, zones, separators, gutters and spinner glyphs.

describe('Claude Code 2.1.312+: "You\'ve hit your 5-hour limit" is the session window', () => {
  check([
    {
      text: "You've hit your 5-hour limit · resets 10:02pm (UTC)",
      now: '2026-11-24T19:00:00Z',
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-11-24T22:02:00.000Z',
      pattern: 'limit.hit-your-window',
    },
    {
      text: '  ⎿  You’ve hit your 5-hour limit ∙ resets 3:15am (Asia/Tokyo) · progress saved',
      now: '2026-11-24T16:00:00Z', // 01:00 in Tokyo
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-11-24T18:15:00.000Z',
    },
    {
      text: "✻ You've hit your 5-hour limit · resets in 3h 12m · progress saved",
      now: '2026-11-24T10:00:00Z',
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-11-24T13:12:00.000Z',
    },
    {
      text: "You've hit your 5-hour limit · resets 17:45 (Europe/Berlin)\n     /upgrade to increase your usage limit.",
      now: '2026-11-24T14:00:00Z', // CET +1
      verdict: 'limit',
      resetsAt: '2026-11-24T16:45:00.000Z',
    },
    {
      text: "You've hit your 5 hour limit · resets 4:44 PM",
      now: '2026-11-24T14:00:00Z',
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-11-24T16:44:00.000Z',
    },
    {
      text: "● You've hit your 5-hour limit",
      now: '2026-11-24T14:00:00Z',
      verdict: 'limit',
      kind: 'session',
      resetsAt: null,
    },
    {
      text: "You've hit your 5-hour limit · resets 1pm (America/Chicago)",
      now: '2026-11-24T20:00:00Z', // 2pm CST: over
      verdict: 'stale',
      resetsAt: '2026-11-24T19:00:00.000Z',
    },
  ]);
});

describe("Claude Code's own auto-continue lines are limit evidence with a reset", () => {
  check([
    {
      // 2.1.328
      text: '● Usage limit reached · continuing automatically at 4:44pm · esc to cancel',
      now: '2026-11-25T14:05:00Z',
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-11-25T16:44:00.000Z',
      pattern: 'limit.auto-continue',
    },
    {
      text: '⏺ Usage limit reached again ∙ continuing automatically at 9:30pm · esc to cancel',
      now: '2026-11-25T23:00:00Z', // 6pm EST
      tz: 'America/New_York',
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-11-26T02:30:00.000Z',
      pattern: 'limit.auto-continue',
    },
    {
      // 2.1.332
      text: 'Usage limit reached · set to continue automatically at 10:02pm',
      now: '2026-11-24T18:00:00Z',
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-11-24T22:02:00.000Z',
      pattern: 'limit.auto-continue',
    },
    {
      // more than a day away, Claude Code writes the date
      text: '  ● Usage limit reached · set to continue automatically at Nov 28, 9am',
      now: '2026-11-24T18:00:00Z',
      verdict: 'limit',
      kind: 'weekly',
      resetsAt: '2026-11-28T09:00:00.000Z',
    },
    {
      // ... and the year when it is another one
      text: 'Usage limit reached · continuing automatically at Jan 2, 2027, 4pm · esc to cancel',
      now: '2026-12-30T10:00:00Z',
      verdict: 'limit',
      kind: 'weekly',
      resetsAt: '2027-01-02T16:00:00.000Z',
    },
    {
      text: 'Usage limit reached · set to continue automatically at 6:30am (Asia/Kolkata)',
      now: '2026-11-24T23:00:00Z', // 4:30am in Kolkata
      verdict: 'limit',
      resetsAt: '2026-11-25T01:00:00.000Z',
    },
    {
      // "shortly": the reset time had already passed when Claude Code drew it
      text: 'Usage limit reached · continuing automatically shortly · esc to cancel',
      now: '2026-11-25T14:05:00Z',
      verdict: 'stale',
      pattern: 'limit.auto-continue',
    },
    {
      text: '● Usage limit reached · set to continue automatically at 10:02pm',
      now: '2026-11-24T22:30:00Z',
      verdict: 'stale',
      resetsAt: '2026-11-24T22:02:00.000Z',
    },
    {
      // the footer's second row alone, and the /rate-limit-options confirmation
      text: '    Continuing automatically at 4:44pm · Esc to cancel',
      now: '2026-11-25T14:05:00Z',
      verdict: 'limit',
      resetsAt: '2026-11-25T16:44:00.000Z',
      pattern: 'limit.auto-continue',
    },
    {
      text: 'Claude Code will continue automatically at 4:44pm. Keep this session open; it may still pause for permission prompts.',
      now: '2026-11-25T14:05:00Z',
      verdict: 'limit',
      resetsAt: '2026-11-25T16:44:00.000Z',
    },
    {
      // the menu alone: its "Wait here" option carries the reset
      text: ' What do you want to do?\n ❯ 1. Stop and wait for limit to reset\n   2. Wait here, then continue automatically at Dec 7, 9pm\n   3. Upgrade your plan',
      now: '2026-12-04T19:30:00Z',
      verdict: 'limit',
      kind: 'weekly',
      resetsAt: '2026-12-07T21:00:00.000Z',
      pattern: 'limit.rate-limit-options',
    },
    {
      text: 'Goal paused · usage limit reached · continues automatically when it resets',
      now: '2026-11-25T14:05:00Z',
      verdict: 'limit',
      kind: 'unknown',
      resetsAt: null,
      pattern: 'limit.goal-paused',
    },
    {
      text: 'Your organization is out of usage credits.',
      now: '2026-11-25T14:05:00Z',
      verdict: 'limit',
      kind: 'extra-usage',
    },
  ]);
});

describe('auto-continue notices that are not a new limit', () => {
  const notices = [
    '● Automatic continue cancelled · /rate-limit-options to wait again',
    'Automatic continue cancelled ∙ /rate-limit-options to re-arm',
    '   automatic continue cancelled',
    'Automatic continue cancelled. Your session will wait for you instead; /rate-limit-options can arm it again.',
    'Automatic continue cancelled · Claude Code relaunched during the wait, so the task will not resume on its own when the usage limit resets (send a prompt then to continue)',
    'Automatic continue stopped · your login changed or ended · send a prompt to continue',
    '● Usage limit reset · Continuing automatically',
    'Usage limit available again · continuing now',
    'Usage limit has reset · Press enter to continue',
    'Your usage limit has reset',
  ];
  check(
    notices.map((text) => ({
      text,
      now: '2026-11-25T14:05:00Z',
      verdict: 'none',
      pattern: 'none.auto-continue-notice',
    })),
  );

  const LIMIT = "  ⎿  You've hit your 5-hour limit · resets 4:44pm (UTC)";
  const AUTO = '● Usage limit reached · set to continue automatically at 4:44pm';
  const CANCEL = '● Automatic continue cancelled · /rate-limit-options to wait again';

  it('a pane with the limit, its auto-continue and the cancel: the limit line, nothing more', async () => {
    const res = await classifyText(`❯ go\n${LIMIT}\n${AUTO}\n${CANCEL}\n❯ `, {
      now: new Date('2026-11-25T14:05:00Z'),
    });
    expect(toVerdictJson(res)).toEqual({
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-11-25T16:44:00.000Z',
      resetText: 'resets 4:44pm (UTC)',
      pattern: 'limit.hit-your-window',
      line: "⎿ You've hit your 5-hour limit · resets 4:44pm (UTC)",
    });
    expect(res.matches.map((m) => m.pattern)).toEqual([
      'limit.hit-your-window',
      'limit.auto-continue',
      'none.auto-continue-notice',
    ]);
  });

  it('once that reset has passed, the cancel line does not revive it', async () => {
    const res = await classifyText(`${LIMIT}\n${AUTO}\n${CANCEL}`, {
      now: new Date('2026-11-25T16:50:00Z'),
    });
    expect([res.verdict, res.resetsAt]).toEqual(['stale', '2026-11-25T16:44:00.000Z']);
    const alone = await classifyText(CANCEL, { now: new Date('2026-11-25T16:50:00Z') });
    expect(alone.verdict).toBe('none');
  });

  it('the auto-continue line keeps the kind of the limit line it follows', async () => {
    const res = await classifyText(
      "⎿  You've hit your Opus limit · resets 4:44pm (UTC)\n● Usage limit reached · continuing automatically at 4:44pm · esc to cancel",
      { now: new Date('2026-11-25T14:05:00Z') },
    );
    expect([res.kind, res.pattern]).toEqual(['model', 'limit.model']);
  });

  it('a later auto-continue with another reset is a new limit and wins', async () => {
    const res = await classifyText(
      `${LIMIT}\n❯ more\n● Usage limit reached again · continuing automatically at Nov 28, 9am · esc to cancel`,
      { now: new Date('2026-11-25T14:05:00Z') },
    );
    expect([res.kind, res.resetsAt, res.pattern]).toEqual([
      'weekly',
      '2026-11-28T09:00:00.000Z',
      'limit.auto-continue',
    ]);
  });
});

describe('the raw 429 of the error view is a limit; 500 and 529 stay transient', () => {
  const ERR429 =
    'Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account\'s rate limit. Please try again later."}}';
  check([
    {
      text: ERR429,
      now: '2026-11-25T10:00:00Z',
      verdict: 'limit',
      kind: 'rate-limit',
      resetsAt: null,
      pattern: 'limit.api-rate-limit',
    },
    { text: `  ⎿  ${ERR429}`, now: '2026-11-25T10:00:00Z', verdict: 'limit', kind: 'rate-limit' },
    {
      text: 'Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"},"request_id":"req_011CX"}',
      now: '2026-11-25T10:00:00Z',
      verdict: 'limit',
      kind: 'rate-limit',
    },
    {
      text: 'Error: 500 {"type":"error","error":{"type":"api_error","message":"rate limit exceeded upstream"}}',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: 'Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Overloaded: rate limit of the upstream pool hit"}}',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: "● API Error: Server is temporarily limiting requests (not your usage limit) · This request would exceed your account's rate limit. Please try again later.",
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
      pattern: 'transient.server-throttle',
    },
  ]);
});

describe(`a rate-limit retry row that waits ${LONG_RETRY_MS / 60_000} minutes or more is a limit`, () => {
  check([
    {
      text: '  ⎿  API Error (429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account\'s rate limit. Please try again later."}}) · Retrying in 2892 seconds… (attempt 1/10)',
      now: '2026-11-25T10:00:00Z',
      verdict: 'limit',
      kind: 'rate-limit',
      resetsAt: '2026-11-25T10:48:12.000Z', // now + 2892 s
      pattern: 'limit.rate-limit-retry',
    },
    {
      text: '✻ Rate limited · Retrying in 48m · attempt 1/10',
      now: '2026-11-25T10:00:00Z',
      verdict: 'limit',
      kind: 'rate-limit',
      resetsAt: '2026-11-25T10:48:00.000Z',
    },
    {
      text: '✢ Rate limited ∙ retrying in 1h 5m ∙ attempt 2/10',
      now: '2026-11-25T10:00:00Z',
      verdict: 'limit',
      resetsAt: '2026-11-25T11:05:00.000Z',
    },
    {
      // CLAUDE_CODE_RETRY_WATCHDOG=1 waiting out a quota 429 (2.1.328, 2.1.332): the time
      // in parentheses is the reset
      text: '✻ 5-hour limit reached · retrying in 2h (9:44pm) · attempt 1/300',
      now: '2026-12-04T19:27:00Z',
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-12-04T21:44:00.000Z',
      pattern: 'limit.rate-limit-retry',
    },
    {
      text: '✶ Weekly limit reached · retrying in 5h (Dec 7, 9pm) · attempt 1/300',
      now: '2026-12-04T19:30:00Z',
      verdict: 'limit',
      kind: 'weekly',
      resetsAt: '2026-12-07T21:00:00.000Z',
    },
    {
      text: `✻ Rate limited · retrying in ${LONG_RETRY_MS / 1000}s · attempt 1/10`,
      now: '2026-11-25T10:00:00Z',
      verdict: 'limit',
    },
    // short waits stay transient
    {
      text: `✻ Rate limited · retrying in ${LONG_RETRY_MS / 1000 - 1}s · attempt 1/10`,
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
      pattern: 'transient.retrying',
    },
    {
      text: '  ⎿  API Error (429 {"type":"error","error":{"type":"rate_limit_error","message":"x"}}) · Retrying in 37 seconds… (attempt 7/10)',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    // long waits for anything but a rate limit stay transient
    {
      text: '✻ 500 Internal server error: upstream rate limit exceeded · retrying in 10m · attempt 4/10',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: '✻ 529 Overloaded · rate limit · Retrying in 1h · attempt 1/10',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: 'API Error: Server is temporarily limiting requests (not your usage limit) · Retrying in 30m · attempt 1/10',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: '✻ Unable to connect to API (ECONNRESET) · Retrying in 10m · attempt 3/10',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: '✻ Waiting for API response · will retry in 6m · check your network',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: '✻ API error · Retrying in 20m · attempt 3/10',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    // another program's retry line in the pane (a tool's output) is not Claude Code's row
    {
      text: 'npm WARN registry 429 Too Many Requests - retrying in 10 minutes',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: 'Goal still active · usage limit reached · retrying in 30 min (1/5) · send a message to retry now',
      now: '2026-11-25T10:00:00Z',
      verdict: 'transient',
    },
  ]);
});

describe('a reset given as a day without a time holds until that day is over', () => {
  check([
    {
      text: "You've hit your weekly limit · resets Oct 24 (Europe/Paris)",
      now: '2026-10-24T20:00:00Z', // 22:00 in Paris, still Oct 24
      verdict: 'limit',
      kind: 'weekly',
      resetsAt: '2026-10-24T22:00:00.000Z', // midnight after Oct 24, CEST
    },
    {
      text: "You've hit your weekly limit · resets Oct 24 (Europe/Paris)",
      now: '2026-10-24T22:01:00Z',
      verdict: 'stale',
      resetsAt: '2026-10-24T22:00:00.000Z',
    },
    {
      // not stale from its own midnight
      text: "You've hit your weekly limit · resets Oct 24",
      now: '2026-10-24T00:30:00Z',
      verdict: 'limit',
      resetsAt: '2026-10-25T00:00:00.000Z',
    },
    {
      text: "⎿  You've hit your weekly limit ∙ resets 25 Oct (Europe/Paris)",
      now: '2026-10-22T10:00:00Z',
      verdict: 'limit',
      resetsAt: '2026-10-25T23:00:00.000Z', // the night clocks go back: CET from then
    },
    {
      text: "You're out of extra usage · resets Dec 1 (America/Los_Angeles)",
      now: '2026-11-30T12:00:00Z',
      verdict: 'limit',
      kind: 'extra-usage',
      resetsAt: '2026-12-02T08:00:00.000Z',
    },
    {
      text: "You've hit your weekly limit · resets Mon",
      now: '2026-06-01T20:00:00Z', // a Monday
      verdict: 'limit',
      resetsAt: '2026-06-02T00:00:00.000Z',
    },
    {
      text: "You've hit your limit · resets tomorrow (Asia/Tokyo)",
      now: '2026-06-01T10:00:00Z', // 19:00 in Tokyo
      verdict: 'limit',
      resetsAt: '2026-06-02T15:00:00.000Z',
    },
  ]);

  it('says so in a note', async () => {
    const res = await classifyText("You've hit your weekly limit · resets Oct 24 (Europe/Paris)", {
      now: new Date('2026-10-24T20:00:00Z'),
    });
    expect(res.notes.join()).toMatch(/until 2026-10-24 is over in Europe\/Paris/);
  });
});

describe('warnings', () => {
  check([
    {
      text: 'Approaching weekly limit · resets Oct 9, 10am',
      now: '2026-10-05T10:00:00Z',
      verdict: 'warning',
      kind: 'weekly',
      resetsAt: '2026-10-09T10:00:00.000Z',
      pattern: 'warning.approaching',
    },
    {
      text: 'Approaching 5-hour limit · resets 4pm (Europe/Paris)',
      now: '2026-09-22T11:00:00Z',
      verdict: 'warning',
      kind: 'session',
      resetsAt: '2026-09-22T14:00:00.000Z',
    },
    { text: 'Near weekly limit', now: '2026-06-01T10:00:00Z', verdict: 'warning', kind: 'weekly' },
    {
      text: '⎿  Claude Opus 4 limit reached, now using Sonnet 4',
      now: '2025-06-07T10:00:00Z',
      verdict: 'warning',
      kind: 'model',
      pattern: 'warning.model-fallback',
    },
    {
      text: "You've used 90% of your weekly limit · resets Fri 9am",
      now: '2026-06-03T10:00:00Z', // a Wednesday
      verdict: 'warning',
      kind: 'weekly',
      resetsAt: '2026-06-05T09:00:00.000Z',
    },
    {
      text: '  ⏵⏵ bypass permissions on (shift+tab to cycle)                 Approaching usage limit · resets at 2am',
      now: '2026-06-03T23:00:00Z',
      verdict: 'warning',
      kind: 'session',
      resetsAt: '2026-06-04T02:00:00.000Z',
    },
  ]);
});

describe('transient errors never become a limit, whatever they contain', () => {
  check([
    {
      text: 'API Error: 500 {"type":"api_error","message":"rate limit exceeded upstream"}',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: '✻ 429 Rate limit reached · Retrying in 15s · attempt 6/10',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
      pattern: 'transient.retrying',
    },
    {
      text: '  ⎿  API Error (429 {"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your account\'s rate limit."}}) · Retrying in 5 seconds… (attempt 3/10)',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: "API Error: Server is temporarily limiting requests (not your usage limit) · You've hit your limit",
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
      pattern: 'transient.server-throttle',
    },
    {
      text: 'API Error: Server is temporarily limiting requests (not your\n     usage limit) · Rate limited',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: 'API Error: 529 {"type":"error","error":{"type":"overloaded_error","message":"Usage limit reached upstream"}}',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: "✻ Unable to connect to API (ECONNRESET) · You've hit your session limit · resets 5pm",
      now: '2026-06-01T15:00:00Z',
      verdict: 'transient',
    },
    {
      text: '✻ 503 Service Unavailable · Retrying in 4s · attempt 2/10',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: '⏺ API Error: 502 Bad Gateway. This is a server-side issue, usually temporary — try again in a moment.',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: '  ⎿  API Error (Request timed out.) · Retrying in 12 seconds… (attempt 5/10)',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
    },
    {
      text: '✻ Waiting for API response · will retry in 20s · check your network',
      now: '2026-06-01T10:00:00Z',
      verdict: 'transient',
    },
  ]);
});

describe('text that only mentions limits is none', () => {
  check([
    {
      text: '  Current session\n  ██████████████████████████████████████████████████ 100% used\n  Resets 10pm (America/Los_Angeles)\n\n  Current week (all models)\n  ████████████████ 32% used\n  Resets Mar 5, 7pm (America/Los_Angeles)',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    { text: 'Context left until auto-compact: 3%', now: '2026-03-01T10:00:00Z', verdict: 'none' },
    {
      text: 'Context limit reached · /compact or /clear to continue',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: 'gh: API rate limit exceeded for user ID 123456.',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: '⎿  GitHub API rate limit reached · resets 5pm',
      now: '2026-03-01T15:00:00Z',
      verdict: 'none',
      pattern: 'none.github-rate-limit',
    },
    {
      text: "❯ why do I keep seeing You've hit your limit?",
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: '● The message "You\'ve hit your session limit · resets 5pm" means the 5-hour window is used up.',
      now: '2026-03-01T15:00:00Z',
      verdict: 'none',
    },
    {
      text: '    const msg = "Claude AI usage limit reached|1749924000";',
      now: '2025-06-14T15:00:00Z',
      verdict: 'none',
    },
    {
      text: '    "You\'ve hit your limit · resets 5pm (Europe/Berlin)",',
      now: '2026-03-01T15:00:00Z',
      verdict: 'none',
    },
    {
      text: "  expect(classify('You\\'ve hit your session limit · resets 5pm'));",
      now: '2026-03-01T15:00:00Z',
      verdict: 'none',
    },
    {
      text: 'Coupon usage limit reached\nFair usage limit reached for key-1: cooling down',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: "You've hit your work limit — time to wind down",
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: '    if (line.includes("Usage limit reached")) {',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: '5-hour:  100% ██████████  resets in 1h 32m\n7-day:    45% ████▌░░░░░  resets in 67h',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: '2026-07-01 12:00:00 WARN upstream rate limit exceeded, backing off',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: '/upgrade to increase your usage limit.',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: '❯ Usage limit reached again, let us wait for the reset',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
    },
    {
      text: 'Login expired · Please run /login',
      now: '2026-03-01T10:00:00Z',
      verdict: 'none',
      pattern: 'auth.login-required',
    },
    { text: '', now: '2026-03-01T10:00:00Z', verdict: 'none', pattern: undefined },
  ]);

  it('gives no pattern and no line for text that matches nothing', async () => {
    const res = await classifyText('hello\nworld', { now: new Date() });
    expect(toVerdictJson(res)).toEqual({
      verdict: 'none',
      kind: null,
      resetsAt: null,
      resetText: null,
      pattern: null,
      line: null,
    });
  });
});

describe('a whole pane: the most relevant line wins', () => {
  const LIMIT = "  ⎿  You've hit your session limit · resets 5pm (UTC)";
  const RETRY = '✻ API error · Retrying in 3s · attempt 2/10';
  const WARN = 'Approaching usage limit · resets at 5pm';

  it('a limit beats later transient rows', async () => {
    const res = await classifyText(`❯ go\n${LIMIT}\n\n${RETRY}\n${RETRY}`, {
      now: new Date('2026-06-01T14:00:00Z'),
    });
    expect(res.verdict).toBe('limit');
    expect(res.line).toBe("⎿ You've hit your session limit · resets 5pm (UTC)");
    expect(res.lineNumber).toBe(2);
    expect(res.matches.map((m) => m.verdict)).toEqual(['limit', 'transient', 'transient']);
  });

  it('a stale limit loses to a later transient row, and is reported when alone', async () => {
    const now = new Date('2026-06-01T17:30:00Z');
    expect((await classifyText(`${LIMIT}\n${RETRY}`, { now })).verdict).toBe('transient');
    const alone = await classifyText(`${LIMIT}\n❯ `, { now });
    expect(alone.verdict).toBe('stale');
    expect(alone.resetsAt).toBe('2026-06-01T17:00:00.000Z');
  });

  it('a limit beats an earlier warning; a warning beats transient and none', async () => {
    const now = new Date('2026-06-01T14:00:00Z');
    expect((await classifyText(`${WARN}\n${LIMIT}`, { now })).verdict).toBe('limit');
    expect((await classifyText(`${RETRY}\n${WARN}\nhello`, { now })).verdict).toBe('warning');
  });

  it('the newest of two limits wins', async () => {
    const res = await classifyText(
      "You've hit your session limit · resets 1pm (UTC)\n...\nYou've hit your weekly limit · resets Jun 5, 9am (UTC)",
      { now: new Date('2026-06-01T12:00:00Z') },
    );
    expect(res.kind).toBe('weekly');
    expect(res.resetsAt).toBe('2026-06-05T09:00:00.000Z');
  });

  it('a limit line among the /usage panel and a context warning still wins', async () => {
    const pane = [
      '  Current session',
      '  ████████████████████ 100% used',
      '  Resets 5pm (UTC)',
      '',
      LIMIT,
      '',
      '  Context left until auto-compact: 8%',
    ].join('\n');
    const res = await classifyText(pane, { now: new Date('2026-06-01T14:00:00Z') });
    expect(res.verdict).toBe('limit');
    expect(res.resetsAt).toBe('2026-06-01T17:00:00.000Z');
  });

  it('lastLines drops the blank padding tmux adds before taking the window', () => {
    expect(lastLines('a\nb\nc\n\n\n', 2)).toBe('b\nc');
    expect(lastLines('a\r\nb', 5)).toBe('a\nb');
  });
});

describe('reset-time rules', () => {
  const at = (text: string, now: string, timezone: string | null = 'UTC') =>
    classifyText(text, { now: new Date(now), timezone });

  it('a clock-only time resolves to the occurrence nearest now, within ±12 h', async () => {
    const now = '2026-06-01T10:00:00Z';
    const r = async (t: string) => {
      const res = await at(`You've hit your session limit · resets ${t}`, now);
      return [res.verdict, res.resetsAt];
    };
    expect(await r('10:01am')).toEqual(['limit', '2026-06-01T10:01:00.000Z']);
    expect(await r('9:59am')).toEqual(['stale', '2026-06-01T09:59:00.000Z']);
    expect(await r('9pm')).toEqual(['limit', '2026-06-01T21:00:00.000Z']); // 11 h ahead
    expect(await r('11pm')).toEqual(['stale', '2026-05-31T23:00:00.000Z']); // 11 h ago
    expect(await r('10am')).toEqual(['stale', '2026-06-01T10:00:00.000Z']); // now: over
    const late = await at("You've hit your session limit · resets 12:30am", '2026-06-01T23:00:00Z');
    expect(late.resetsAt).toBe('2026-06-02T00:30:00.000Z');
  });

  it('the default zone is the option, then the system zone (TZ=UTC here)', async () => {
    const t = "You've hit your session limit · resets 5pm";
    expect((await at(t, '2026-06-01T12:00:00Z', 'Asia/Tokyo')).resetsAt).toBe(
      '2026-06-01T08:00:00.000Z',
    );
    expect((await at(t, '2026-06-01T12:00:00Z', null)).resetsAt).toBe('2026-06-01T17:00:00.000Z');
    // a zone in the text wins over the option
    expect(
      (await at(`${t} (America/New_York)`, '2026-06-01T18:00:00Z', 'Asia/Tokyo')).resetsAt,
    ).toBe('2026-06-01T21:00:00.000Z');
  });

  it('a zone luxon does not know falls back to the default zone with a note, never a crash', async () => {
    const res = await at(
      "You've hit your limit · resets 5pm (Mars/Olympus_Mons)",
      '2026-06-01T14:00:00Z',
      'Europe/Berlin',
    );
    expect(res.verdict).toBe('limit');
    expect(res.resetsAt).toBe('2026-06-01T15:00:00.000Z');
    expect(res.notes.join()).toMatch(/unknown time zone "Mars\/Olympus_Mons".*Europe\/Berlin/);
  });

  it('a date that does not exist gives no reset time (and is a limit to confirm)', async () => {
    const res = await at(
      "You've hit your weekly limit · resets Feb 30, 9am",
      '2026-02-25T10:00:00Z',
    );
    expect(res.verdict).toBe('limit');
    expect(res.resetsAt).toBeNull();
    expect(res.resetText).toBe('resets Feb 30, 9am');
  });

  it('a date without a year takes the year nearest now (and is stale when that is past)', async () => {
    const res = await at(
      "You've hit your weekly limit · resets Oct 9, 10am",
      '2027-01-05T10:00:00Z',
    );
    expect([res.verdict, res.resetsAt]).toEqual(['stale', '2026-10-09T10:00:00.000Z']);
    const withYear = await at(
      "You've hit your weekly limit · resets Oct 9, 2027, 10am",
      '2027-01-05T10:00:00Z',
    );
    expect([withYear.verdict, withYear.resetsAt]).toEqual(['limit', '2027-10-09T10:00:00.000Z']);
  });

  it('a weekday is the next one, unless it passed less than 12 h ago (stale)', async () => {
    const t = "You've hit your weekly limit · resets Mon 9am";
    // Monday 2026-06-01 10:00: 1 h after Mon 9am
    expect((await at(t, '2026-06-01T10:00:00Z')).verdict).toBe('stale');
    // Monday 22:00: 13 h after, so next Monday
    expect((await at(t, '2026-06-01T22:00:00Z')).resetsAt).toBe('2026-06-08T09:00:00.000Z');
    // Sunday: tomorrow
    expect((await at(t, '2026-05-31T10:00:00Z')).resetsAt).toBe('2026-06-01T09:00:00.000Z');
    const full = await at(
      "You've hit your weekly limit · resets Thursday at 17:00",
      '2026-06-01T10:00:00Z',
    );
    expect(full.resetsAt).toBe('2026-06-04T17:00:00.000Z');
  });

  it('tomorrow, relative and epoch forms', async () => {
    expect(
      (await at("You've hit your limit · resets tomorrow at 5am", '2026-06-01T22:00:00Z')).resetsAt,
    ).toBe('2026-06-02T05:00:00.000Z');
    expect(
      (await at("You've hit your weekly limit · resets in 6d", '2026-06-01T10:00:00Z')).resetsAt,
    ).toBe('2026-06-07T10:00:00.000Z');
    expect(
      (await at("You've hit your limit · resets in 45 minutes", '2026-06-01T10:00:00Z')).resetsAt,
    ).toBe('2026-06-01T10:45:00.000Z');
    expect(
      (await at('Claude AI usage limit reached|1749855600', '2025-06-13T20:00:00Z')).resetsAt,
    ).toBe('2025-06-13T23:00:00.000Z');
  });

  it('12-hour edge cases: 12am is midnight, 12pm is noon, "9:30 AM", "7 p.m."', async () => {
    const r = async (t: string, now: string) =>
      (await at(`You've hit your session limit · resets ${t}`, now)).resetsAt;
    expect(await r('12am', '2026-06-01T22:00:00Z')).toBe('2026-06-02T00:00:00.000Z');
    expect(await r('12:50am', '2026-06-01T22:00:00Z')).toBe('2026-06-02T00:50:00.000Z');
    expect(await r('12pm', '2026-06-01T10:00:00Z')).toBe('2026-06-01T12:00:00.000Z');
    expect(await r('9:30 AM', '2026-06-01T07:00:00Z')).toBe('2026-06-01T09:30:00.000Z');
    expect(await r('7 p.m.', '2026-06-01T16:00:00Z')).toBe('2026-06-01T19:00:00.000Z');
    expect(await r('noon', '2026-06-01T10:00:00Z')).toBe('2026-06-01T12:00:00.000Z');
  });
});

describe('DST edges', () => {
  const at = (text: string, now: string, timezone = 'UTC') =>
    classifyText(text, { now: new Date(now), timezone });

  it('America/New_York spring forward: 2:30am does not exist, it reads as 3:30am EDT', async () => {
    // 2026-03-08 01:00 EST = 06:00Z; clocks jump from 02:00 EST to 03:00 EDT
    const res = await at(
      "You've hit your session limit · resets 2:30am",
      '2026-03-08T06:00:00Z',
      'America/New_York',
    );
    expect(res.resetsAt).toBe('2026-03-08T07:30:00.000Z');
    expect(res.notes.join()).toMatch(/DST gap/);
    // 3am EDT on the same night, and 1:59am EST just before the gap
    expect(
      (
        await at(
          "You've hit your session limit · resets 3am (America/New_York)",
          '2026-03-08T06:00:00Z',
        )
      ).resetsAt,
    ).toBe('2026-03-08T07:00:00.000Z');
    expect(
      (
        await at(
          "You've hit your session limit · resets 1:59am (America/New_York)",
          '2026-03-08T06:00:00Z',
        )
      ).resetsAt,
    ).toBe('2026-03-08T06:59:00.000Z');
  });

  it('America/New_York fall back: 1:30am happens twice; the occurrence nearest now is taken', async () => {
    const t = "You've hit your session limit · resets 1:30am (America/New_York)";
    // 01:10 EDT (05:10Z): the first 1:30 (EDT, 05:30Z) is 20 min away
    expect((await at(t, '2026-11-01T05:10:00Z')).resetsAt).toBe('2026-11-01T05:30:00.000Z');
    // 01:10 EST (06:10Z): the first 1:30 is past, the second (EST, 06:30Z) is 20 min away
    const second = await at(t, '2026-11-01T06:10:00Z');
    expect([second.verdict, second.resetsAt]).toEqual(['limit', '2026-11-01T06:30:00.000Z']);
  });

  it('Europe/Berlin: the gap, the repeated hour, and a reset after the switch', async () => {
    // 2026-03-29: 02:00 CET -> 03:00 CEST (01:00Z)
    expect(
      (
        await at(
          "You've hit your session limit · resets 2:30am (Europe/Berlin)",
          '2026-03-29T00:30:00Z',
        )
      ).resetsAt,
    ).toBe('2026-03-29T01:30:00.000Z');
    expect(
      (
        await at(
          "You've hit your session limit · resets 4am (Europe/Berlin)",
          '2026-03-29T00:30:00Z',
        )
      ).resetsAt,
    ).toBe('2026-03-29T02:00:00.000Z');
    // 2026-10-25: 03:00 CEST -> 02:00 CET (01:00Z); 02:15 CEST = 00:15Z
    expect(
      (
        await at(
          "You've hit your session limit · resets 2:30am (Europe/Berlin)",
          '2026-10-25T00:15:00Z',
        )
      ).resetsAt,
    ).toBe('2026-10-25T00:30:00.000Z');
    expect(
      (
        await at(
          "You've hit your session limit · resets 2:30am (Europe/Berlin)",
          '2026-10-25T01:15:00Z',
        )
      ).resetsAt,
    ).toBe('2026-10-25T01:30:00.000Z');
  });

  it('a date across the switch uses the offset of that date, not of now', async () => {
    const res = await at(
      "You've hit your weekly limit · resets Mar 9, 9am (America/New_York)",
      '2026-03-07T12:00:00Z',
    );
    expect(res.resetsAt).toBe('2026-03-09T13:00:00.000Z'); // EDT, while now is EST
  });
});

describe('user patterns (quota.patterns)', () => {
  const now = new Date('2026-06-01T14:00:00Z');
  const make = (patterns: Partial<UserPatterns>) => createClassifier({ timezone: 'UTC', patterns });

  it('limit patterns extend the built-ins, with reset times and a user: name', async () => {
    const c = await make({ limit: ['Kontingent erschöpft'] });
    const res = c.classify('⎿  Kontingent erschöpft · resets 5pm', now);
    expect(toVerdictJson(res)).toEqual({
      verdict: 'limit',
      kind: 'session',
      resetsAt: '2026-06-01T17:00:00.000Z',
      resetText: 'resets 5pm',
      pattern: 'user:Kontingent erschöpft',
      line: '⎿ Kontingent erschöpft · resets 5pm',
    });
    // the built-ins still work
    expect(c.classify("You've hit your weekly limit", now).verdict).toBe('limit');
  });

  it('warning and transient patterns extend the built-ins', async () => {
    const c = await make({ warning: ['quota at \\d+%'], transient: ['proxy: backend down'] });
    expect(c.classify('quota at 91%', now).verdict).toBe('warning');
    const t = c.classify("proxy: backend down · You've hit your session limit · resets 5pm", now);
    expect([t.verdict, t.pattern]).toEqual(['transient', 'user:proxy: backend down']);
  });

  it('ignore wins over every built-in and user pattern', async () => {
    const c = await make({ ignore: ['hit your session limit'], limit: ['session limit'] });
    const res = c.classify("You've hit your session limit · resets 5pm (UTC)", now);
    expect([res.verdict, res.pattern]).toEqual(['none', 'user:hit your session limit']);
    // other lines are still classified
    expect(c.classify("ok\nYou've hit your weekly limit · resets Jun 5, 9am", now).verdict).toBe(
      'limit',
    );
  });

  it('a user limit pattern cannot turn a transient error into a limit', async () => {
    const c = await make({ limit: ['Retrying', 'overloaded'] });
    expect(c.classify('✻ API error · Retrying in 3s · attempt 2/10', now).verdict).toBe(
      'transient',
    );
    expect(c.classify('API Error: 529 Overloaded', now).verdict).toBe('transient');
  });

  it('user patterns see lines the built-in guards skip', async () => {
    const c = await make({ warning: ['Context left until auto-compact: [0-5]%'] });
    expect(c.classify('Context left until auto-compact: 3%', now).verdict).toBe('warning');
  });

  it('a bad regex or zone is a ConfigError naming the key', async () => {
    await expect(make({ limit: ['ok', '(unclosed'] })).rejects.toThrow(ConfigError);
    await expect(make({ limit: ['ok', '(unclosed'] })).rejects.toThrow(
      /quota\.patterns\.limit\[1\]/,
    );
    await expect(createClassifier({ timezone: 'Mars/Base' })).rejects.toThrow(/quota\.timezone/);
  });
});

describe('the classifier object', () => {
  let c: QuotaClassifier;
  beforeAll(async () => {
    c = await createClassifier({ timezone: 'Europe/Berlin' });
  });

  it('is synchronous, pure and reusable; classifyLine handles one line', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const a = c.classify("You've hit your session limit · resets 5pm", now);
    const b = c.classify("You've hit your session limit · resets 5pm", now);
    expect(a).toEqual(b);
    expect(a.resetsAt).toBe('2026-06-01T15:00:00.000Z');
    expect(c.zone).toBe('Europe/Berlin');
    const line = c.classifyLine(
      '✻ 500 Internal server error · Retrying in 17s · attempt 6/10',
      now,
    );
    expect(line?.verdict).toBe('transient');
    expect(c.classifyLine('nothing to see', now)).toBeNull();
  });

  // How fast a hostile screen is classified is measured in bench/ (classify), not here.
  it('handles ANSI colour, CRLF and long hostile lines', () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const ansi = "\u001b[31m⎿  You've hit your session limit\u001b[0m · resets 5pm\r\n";
    expect(c.classify(ansi, now).verdict).toBe('limit');
    const junk = `${' '.repeat(3000)}${'limit '.repeat(2000)}\n`.repeat(20);
    expect(c.classify(junk, now).verdict).toBe('none');
  });
});
