/** The state file under real concurrency: 50 processes, one lock, no lost update. */
import { describe, expect, it } from 'vitest';
import { StateStore } from '../src/lib/core/state.js';
import { startWorker, tempDir, worker } from './helpers/env.js';

const LOCK = { waitFor: 2000, staleAfter: 2000 };

describe('StateStore under concurrency', () => {
  it('loses no update with 50 concurrent processes doing read-modify-write', async () => {
    const dir = tempDir();
    const file = await worker('state-increment');
    const procs = Array.from({ length: 50 }, (_, i) => startWorker(file, [dir, String(i)]));
    const results = await Promise.all(procs);
    for (const r of results) expect(r.exitCode, String(r.stderr)).toBe(0);
    const state = new StateStore(dir, LOCK).read() as ReturnType<StateStore['read']> & {
      testCounter?: number;
    };
    expect(state.testCounter).toBe(50);
    expect(Object.keys(state.lastRun)).toHaveLength(50);
  });
});
