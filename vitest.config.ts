import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/strict-process.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in a small pool; each file gets its own database cloned from a template.
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
  },
});
