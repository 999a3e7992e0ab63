/**
 * The pane captures of the real Claude Code (test/fixtures/real-claude: 2.1.328 from the e2e
 * suite, 2.1.332 from a one-off capture, both against the loopback fake API, and a few
 * screens rebuilt from the binaries' strings) through the screen reader and the classifier.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fullResumeKey, readScreen } from '../../src/lib/agents/screens.js';
import { createClassifier } from '../../src/lib/quota/index.js';
import { ROOT } from '../helpers/env.js';

const DIR = path.join(ROOT, 'test', 'fixtures', 'real-claude');
const index = JSON.parse(fs.readFileSync(path.join(DIR, 'index.json'), 'utf8')) as Record<
  string,
  {
    file: string;
    capturedAt: string;
    expect: {
      readScreen?: string;
      verdict?: string;
      kind?: string;
      resetsAt?: string;
      pattern?: string;
      fullResumeKey?: string;
    };
  }
>;

describe('real Claude Code screens', () => {
  for (const [name, fx] of Object.entries(index)) {
    it(`${name}: ${JSON.stringify(fx.expect)}`, async () => {
      const text = fs.readFileSync(path.join(DIR, fx.file), 'utf8');
      const lines = text.replace(/\n+$/, '').split('\n');
      if (fx.expect.readScreen && fx.expect.readScreen !== 'dead')
        expect(readScreen(lines)).toBe(fx.expect.readScreen);
      if (fx.expect.fullResumeKey) expect(fullResumeKey(lines)).toBe(fx.expect.fullResumeKey);
      if (fx.expect.verdict) {
        const c = await createClassifier({ timezone: 'UTC' });
        const r = c.classify(lines.slice(-40).join('\n'), new Date(fx.capturedAt));
        expect(r.verdict).toBe(fx.expect.verdict);
        if (fx.expect.kind) expect(r.kind).toBe(fx.expect.kind);
        if (fx.expect.resetsAt) expect(r.resetsAt).toBe(fx.expect.resetsAt);
        if (fx.expect.pattern) expect(r.pattern).toBe(fx.expect.pattern);
      }
    });
  }

  it('every limit screen with a reset is stale a minute after that reset', async () => {
    const c = await createClassifier({ timezone: 'UTC' });
    for (const [name, fx] of Object.entries(index)) {
      if (fx.expect.verdict !== 'limit' || !fx.expect.resetsAt) continue;
      const text = fs.readFileSync(path.join(DIR, fx.file), 'utf8');
      const pane = text.replace(/\n+$/, '').split('\n').slice(-40).join('\n');
      // Left out: a screen that also shows an older limit with another, clock-only reset;
      // days later that clock reads as a new one (quota check knows such redrawn lines).
      const then = c.classify(pane, new Date(fx.capturedAt)).matches;
      if (then.some((m) => m.resetsAt && m.resetsAt !== fx.expect.resetsAt)) continue;
      const after = new Date(Date.parse(fx.expect.resetsAt) + 60_000);
      const r = c.classify(pane, after);
      expect([name, r.verdict]).toEqual([name, 'stale']);
    }
  });
});
