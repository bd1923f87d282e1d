import { defineConfig } from 'vitest/config';

/**
 * Files that change the process for whoever runs next in it: OpenTelemetry's globals (a tracer
 * provider, context manager and propagator) stay registered once set, telemetry-discord's SDK
 * patches pg, ioredis and discord.js's REST for good, and relay-thread lowers its thread's
 * scheduling priority, which only a privileged process could raise back.
 */
const OWN_PROCESS = [
  'test/telemetry-discord.test.ts',
  'test/db/outbox-traceparent.test.ts',
  'test/db/report-traceparent.test.ts',
  'test/workers/relay-thread.test.ts',
];

export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    setupFiles: ['test/support/strict-process.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in a small pool; each file gets its own database cloned from a template.
    pool: 'forks',
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      {
        extends: true,
        // A file imports its modules again only where it must: loading fastify, discord.js,
        // bullmq and the app afresh for each of ~175 files was a fifth of the suite's time.
        // Each file still has its own database, Redis prefix and servers.
        test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: OWN_PROCESS, isolate: false },
      },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS, isolate: true } },
    ],
  },
});
