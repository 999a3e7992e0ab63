import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    pool: 'forks',
    // The suite mostly waits (on tmux, agents, locks, child processes), so more files than
    // cores run side by side; every test polls with deadlines instead of fixed sleeps.
    maxWorkers: 4,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    env: { NO_COLOR: '1', TZ: 'UTC' },
  },
});
