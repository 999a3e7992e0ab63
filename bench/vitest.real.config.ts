// `bench/real-swap.mjs` runs the real-CLI figure through vitest, to reuse the e2e harness
// (the fake API, account dirs, the pinned Claude Code). It is a measurement, not a test:
// `npm test` never includes it.
import { defineConfig } from 'vitest/config';
import base from '../vitest.config.js';

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    root: new URL('..', import.meta.url).pathname,
    include: ['bench/real-swap.measure.ts'],
    maxWorkers: 1,
    testTimeout: 900_000,
    hookTimeout: 120_000,
  },
});
