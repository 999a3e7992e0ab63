/**
 * The pane captures of the real Claude Code 2.1.328 (test/fixtures/real-claude, made by the
 * e2e suite against the loopback fake API) through the screen reader and the classifier.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fullResumeKey, readScreen } from '../src/lib/agent.js';
import { createClassifier } from '../src/lib/quota/index.js';
import { ROOT } from './helpers/env.js';

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
      }
    });
  }
});
