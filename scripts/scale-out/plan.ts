import { z } from 'zod';
import type { RoleName } from '../../lib/config.js';

/**
 * What `npm run scale-out` runs: N API processes (each on its own port), N workers processes and
 * N bot processes (one shard each), all on the same PostgreSQL and Redis. Pure, so the test and
 * the script agree on every process's environment.
 */

const count = z.coerce.number().int().min(1).max(16);
const portList = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'ports like "3000,3001"')
  .transform((s) => s.split(',').map(Number))
  .pipe(z.array(z.number().int().min(1).max(65535)));

/** The command line, checked once (`--apis 2 --workers 2 --shards 2 --api-ports 3000,3001`). */
export const scaleOutArgs = z
  .object({
    apis: count.default(2),
    workers: count.default(2),
    shards: count.default(2),
    /** One per API process; default: PORT, PORT+1, ... */
    'api-ports': portList.optional(),
    /** One per process in launch order (APIs, workers, shards); default: METRICS_PORT+i when set. */
    'metrics-ports': portList.optional(),
  })
  .strict()
  .superRefine((a, ctx) => {
    const apiPorts = a['api-ports'];
    if (apiPorts && apiPorts.length !== a.apis)
      ctx.addIssue({ code: 'custom', path: ['api-ports'], message: `give ${a.apis} ports, one per API` });
    const metricsPorts = a['metrics-ports'];
    const total = a.apis + a.workers + a.shards;
    if (metricsPorts && metricsPorts.length !== total)
      ctx.addIssue({
        code: 'custom',
        path: ['metrics-ports'],
        message: `give ${total} ports, one per process`,
      });
  });
export type ScaleOutArgs = z.infer<typeof scaleOutArgs>;

export interface PlanInput {
  args: ScaleOutArgs;
  databaseUrl: string;
  redisUrl: string;
  /** Every process must seal and open secrets with the same key (webhook secrets, TOTP seeds). */
  secretKey: string;
  basePort: number;
  baseMetricsPort: number | undefined;
  baseSmtpPort: number | undefined;
  /** False without DISCORD_TOKEN: a shard process would only idle, so none is started. */
  withBot: boolean;
}

export interface ProcessSpec {
  /** `api-1`, `workers-2`, `shard-0` (shards by their shard id). */
  name: string;
  role: RoleName;
  /** Set on top of the inherited environment; an empty value unsets (lib/config.ts). */
  env: Record<string, string>;
  port?: number;
  metricsPort?: number;
}

export function planScaleOut(input: PlanInput): ProcessSpec[] {
  const { args } = input;
  const apiPorts = args['api-ports'] ?? Array.from({ length: args.apis }, (_, i) => input.basePort + i);
  const specs: ProcessSpec[] = [];
  const common = {
    DATABASE_URL: input.databaseUrl,
    REDIS_URL: input.redisUrl,
    SECRET_KEY: input.secretKey,
    // The script migrated and seeded once; six processes doing it at once would race.
    MIGRATION_DATABASE_URL: '',
    SEED_DEMO: 'false',
  };
  for (let i = 0; i < args.apis; i++) {
    const port = apiPorts[i] as number;
    specs.push({ name: `api-${i + 1}`, role: 'api', port, env: { ROLES: 'api', PORT: String(port) } });
  }
  for (let i = 0; i < args.workers; i++) {
    // A fixed SMTP port can be bound once: each workers process takes the next one.
    const smtp: Record<string, string> = input.baseSmtpPort
      ? { SMTP_PORT: String(input.baseSmtpPort + i) }
      : {};
    specs.push({ name: `workers-${i + 1}`, role: 'workers', env: { ROLES: 'workers', ...smtp } });
  }
  if (input.withBot) {
    for (let shard = 0; shard < args.shards; shard++) {
      specs.push({
        name: `shard-${shard}`,
        role: 'bot',
        // Each process identifies as one shard of the total; Discord routes each guild to
        // shard (guild_id >> 22) % SHARD_COUNT, so the processes split the guilds.
        env: { ROLES: 'bot', SHARD_COUNT: String(args.shards), SHARD_IDS: String(shard) },
      });
    }
  }
  return specs.map((spec, i) => {
    const metricsPort =
      args['metrics-ports']?.[i] ??
      (input.baseMetricsPort !== undefined ? input.baseMetricsPort + i : undefined);
    return {
      ...spec,
      env: { ...common, ...spec.env, METRICS_PORT: metricsPort === undefined ? '' : String(metricsPort) },
      ...(metricsPort === undefined ? {} : { metricsPort }),
    };
  });
}
