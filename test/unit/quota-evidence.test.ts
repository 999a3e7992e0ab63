/** The evidence sources of `quota check` that are files: hook signals and transcripts. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendSignal } from '../../src/lib/claude/signals.js';
import { hookEvidence, transcriptEvidence } from '../../src/lib/quota/evidence.js';
import { createClassifier, type QuotaClassifier } from '../../src/lib/quota/index.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const SINCE = '2026-06-01T10:00:00.000Z';
const LIMIT = "You've hit your session limit · resets 3pm (UTC)";

let dir: string;
let classifier: QuotaClassifier;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-quota-evidence-'));
  classifier = await createClassifier({ timezone: 'UTC' });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('hookEvidence', () => {
  it("keeps this account's StopFailures since the launch, and classifies rate limits only", () => {
    const stateDir = path.join(dir, 'state');
    const signal = (ts: string, account: string | null, event: string, error: string) =>
      appendSignal(stateDir, 'ccl-0', { ts, event, account, error, message: LIMIT });
    signal('2026-06-01T09:00:00.000Z', 'primary', 'StopFailure', 'rate_limit'); // before launch
    signal('2026-06-01T11:00:00.000Z', 'backup', 'StopFailure', 'rate_limit'); // other account
    signal('2026-06-01T11:01:00.000Z', 'primary', 'Stop', 'rate_limit'); // not a failure
    signal('2026-06-01T11:02:00.000Z', 'primary', 'StopFailure', 'rate_limit');
    signal('2026-06-01T11:03:00.000Z', null, 'StopFailure', 'authentication_failed');

    const reports = hookEvidence(stateDir, 'ccl-0', 'primary', SINCE, classifier, NOW);
    expect(reports.map((r) => r.error)).toEqual(['rate_limit', 'authentication_failed']);
    expect(reports[0]!.reading).toMatchObject({
      verdict: 'limit',
      resetsAt: '2026-06-01T15:00:00.000Z',
    });
    expect(reports[1]!.reading).toBeNull();
    expect(hookEvidence(stateDir, 'ccl-9', 'primary', SINCE, classifier, NOW)).toEqual([]);
  });
});

describe('transcriptEvidence', () => {
  const line = (ts: string, text: string) =>
    JSON.stringify({
      parentUuid: null,
      isSidechain: false,
      userType: 'external',
      cwd: '/work',
      sessionId: 's-1',
      version: '2.1.328',
      timestamp: ts,
      type: 'assistant',
      error: 'rate_limit',
      apiErrorStatus: 429,
      isApiErrorMessage: true,
      message: { role: 'assistant', model: '<synthetic>', content: [{ type: 'text', text }] },
    });

  it('reads the last 429 record since the launch, classified', () => {
    const file = path.join(dir, 'recent.jsonl');
    fs.writeFileSync(file, `${line('2026-06-01T11:30:00.000Z', LIMIT)}\n`);
    expect(transcriptEvidence(file, SINCE, classifier, NOW)).toMatchObject({
      text: LIMIT,
      reading: { verdict: 'limit', resetsAt: '2026-06-01T15:00:00.000Z' },
    });
  });

  it('is null for an older record, a missing file or no file', () => {
    const file = path.join(dir, 'old.jsonl');
    fs.writeFileSync(file, `${line('2026-06-01T09:30:00.000Z', LIMIT)}\n`);
    expect(transcriptEvidence(file, SINCE, classifier, NOW)).toBeNull();
    expect(transcriptEvidence(path.join(dir, 'none.jsonl'), SINCE, classifier, NOW)).toBeNull();
    expect(transcriptEvidence(null, SINCE, classifier, NOW)).toBeNull();
  });
});
