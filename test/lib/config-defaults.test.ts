import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { configDefaults, envSchema } from '../../lib/config.js';
import { createSecretBox } from '../../lib/secret-box.js';
import { randomSecretKey } from '../../lib/secret-key.js';
import { startWorkerRuntime } from '../../workers/runtime.js';
import { startTestApi } from '../api/support.js';
import { useTestDb } from '../support/db.js';

const db = useTestDb();

describe('defaults live only in lib/config.ts', () => {
  it('are the schema defaults (WORKER_CONCURRENCY 50, sessions 8 h idle and 7 days, links 15 min)', () => {
    const c = configDefaults();
    expect(c.workers.concurrency).toBe(envSchema.shape.WORKER_CONCURRENCY.parse(undefined));
    expect(c.workers.concurrency).toBe(50);
    expect(c.api.sessionIdleSeconds).toBe(8 * 3600);
    expect(c.api.sessionAbsoluteSeconds).toBe(7 * 24 * 3600);
    expect(c.downloadLinkMaxSeconds).toBe(15 * 60);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('a workers runtime started without concurrency or retention runs with the config defaults', async () => {
    const runtime = await startWorkerRuntime({
      pool: db.app,
      redisUrl: inject('services').redisUrl,
      logger: pino({ level: 'silent' }),
      box: createSecretBox(randomSecretKey()),
      webhookTargets: { allowLoopback: false, allowPrivate: false },
      prefix: `defaults-${randomBytes(4).toString('hex')}`,
      schedulers: false,
      relay: { enabled: false },
    });
    try {
      expect(runtime.settings).toEqual({
        concurrency: configDefaults().workers.concurrency,
        outboxRetentionDays: configDefaults().workers.outboxRetentionDays,
      });
    } finally {
      await runtime.stop();
    }
  });

  it('an API app built without those settings uses the config defaults', async () => {
    const api = await startTestApi(db.app);
    try {
      const c = configDefaults();
      expect(api.app.settings).toMatchObject({
        sessionIdleSeconds: c.api.sessionIdleSeconds,
        sessionAbsoluteSeconds: c.api.sessionAbsoluteSeconds,
        cookieSecure: c.api.cookieSecure,
        trustProxy: c.api.trustProxy,
        downloadLinkMaxSeconds: c.downloadLinkMaxSeconds,
        discord: { apiUrl: c.discord.apiUrl },
      });
    } finally {
      await api.close();
    }
  });
});
