// `npm run test:unit`: the tests that need no tmux, no agent and no built CLI, in seconds.
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

export default defineConfig({
  ...base,
  test: { ...base.test, include: ['test/unit/**/*.test.ts'], globalSetup: [] },
});
