import { describe, expect, it } from 'vitest';
import { planScaleOut, scaleOutArgs } from '../../scripts/scale-out/plan.js';

/** What each process of `npm run scale-out` is started with (the script's plan, no processes). */

const base = {
  databaseUrl: 'postgres://app:pw@127.0.0.1:5432/gamemod',
  redisUrl: 'redis://127.0.0.1:6379',
  secretKey: 'k'.repeat(44),
  basePort: 3000,
  baseMetricsPort: undefined,
  baseSmtpPort: undefined,
  withBot: true,
};

describe('the scale-out plan', () => {
  it('2 APIs on PORT and PORT+1, 2 workers, shards 0 and 1 of 2, one key and no migrating or seeding', () => {
    const plan = planScaleOut({ ...base, args: scaleOutArgs.parse({}) });
    expect(plan.map((p) => [p.name, p.env.ROLES, p.port])).toEqual([
      ['api-1', 'api', 3000],
      ['api-2', 'api', 3001],
      ['workers-1', 'workers', undefined],
      ['workers-2', 'workers', undefined],
      ['shard-0', 'bot', undefined],
      ['shard-1', 'bot', undefined],
    ]);
    expect(plan.map((p) => p.env.PORT)).toEqual(['3000', '3001', undefined, undefined, undefined, undefined]);
    expect(plan.filter((p) => p.role === 'bot').map((p) => [p.env.SHARD_COUNT, p.env.SHARD_IDS])).toEqual([
      ['2', '0'],
      ['2', '1'],
    ]);
    for (const p of plan) {
      expect(p.env).toMatchObject({
        DATABASE_URL: base.databaseUrl,
        REDIS_URL: base.redisUrl,
        SECRET_KEY: base.secretKey,
        MIGRATION_DATABASE_URL: '',
        SEED_DEMO: 'false',
        METRICS_PORT: '',
      });
    }
  });

  it('gives each process its own metrics port and each workers process its own SMTP port', () => {
    const plan = planScaleOut({
      ...base,
      baseMetricsPort: 9100,
      baseSmtpPort: 2525,
      args: scaleOutArgs.parse({ apis: '3', 'api-ports': '4000,4005,4010' }),
    });
    expect(plan.map((p) => p.port).filter(Boolean)).toEqual([4000, 4005, 4010]);
    expect(plan.map((p) => p.metricsPort)).toEqual([9100, 9101, 9102, 9103, 9104, 9105, 9106]);
    expect(plan.filter((p) => p.role === 'workers').map((p) => p.env.SMTP_PORT)).toEqual(['2525', '2526']);
  });

  it('starts no shard process without a Discord token', () => {
    const plan = planScaleOut({ ...base, withBot: false, args: scaleOutArgs.parse({}) });
    expect(plan.map((p) => p.role)).toEqual(['api', 'api', 'workers', 'workers']);
  });

  it('refuses port lists that do not match the counts, and unknown flags', () => {
    const wrong = scaleOutArgs.safeParse({ 'api-ports': '3000' });
    expect(wrong.error?.issues.map((i) => i.path.join('.'))).toEqual(['api-ports']);
    expect(scaleOutArgs.safeParse({ 'metrics-ports': '1,2,3' }).success).toBe(false);
    expect(scaleOutArgs.safeParse({ apis: '0' }).success).toBe(false);
    expect(scaleOutArgs.safeParse({ replicas: '2' }).success).toBe(false);
  });
});
