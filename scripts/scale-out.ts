import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { migrate } from '../db/migrate.js';
import { createPool } from '../db/pool.js';
import { seedDemoIfEmpty } from '../db/seed.js';
import { type Config, loadConfig } from '../lib/config.js';
import { AppError, isAppError, issuesToDetails } from '../lib/errors.js';
import { ensureLocalStack, type Stack } from '../lib/local-stack/index.js';
import { createLogger, type Logger } from '../lib/logger.js';
import { loadOrCreateDevSecretKey } from '../lib/secret-key.js';
import { planScaleOut, type ScaleOutArgs, scaleOutArgs } from './scale-out/plan.js';
import { type RunningChild, startProcesses, stopProcesses } from './scale-out/supervise.js';

/**
 * `npm run scale-out [-- --apis 2 --workers 2 --shards 2 --api-ports 3000,3001]`: the scaled-out
 * deployment on one machine, every role in its own processes on one PostgreSQL and one Redis.
 * Without DATABASE_URL / REDIS_URL it starts the same private servers under DATA_DIR as
 * `npm start`. The services are prepared once here (migrations, demo seed, development secret
 * key), then the processes start; Ctrl-C stops them all, then the servers this script started.
 */

const MAIN = fileURLToPath(new URL('../main.ts', import.meta.url));

function readArgs(argv: string[]): ScaleOutArgs {
  const { values } = parseArgs({
    args: argv,
    options: {
      apis: { type: 'string' },
      workers: { type: 'string' },
      shards: { type: 'string' },
      'api-ports': { type: 'string' },
      'metrics-ports': { type: 'string' },
    },
    strict: true,
  });
  const parsed = scaleOutArgs.safeParse(values);
  if (!parsed.success) {
    const lines = issuesToDetails(parsed.error.issues).map((d) => `  --${d.path}: ${d.message}`);
    throw new AppError('config_invalid', `Invalid arguments:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

async function secretKeyFor(config: Config): Promise<string> {
  if (config.secretKey) return config.secretKey;
  // loadConfig already refused production without SECRET_KEY.
  return (await loadOrCreateDevSecretKey(config.embedded.dataDir)).key;
}

/** Migrations and the demo seed, once, before any process starts (they would race otherwise). */
async function prepare(config: Config, stack: Stack, logger: Logger): Promise<void> {
  if (stack.migrationUrl) {
    const ran = await migrate(stack.migrationUrl, 'up', { log: (m) => logger.debug(m) });
    if (ran.length) logger.info({ ran }, 'applied database migrations');
  }
  if (!config.seedDemo) return;
  const pool = createPool({
    url: stack.databaseUrl,
    max: 2,
    statementTimeoutMs: config.database.statementTimeoutMs,
    connectTimeoutMs: config.database.connectTimeoutMs,
    applicationName: 'gamemod-scale-out',
  });
  try {
    await seedDemoIfEmpty(pool, logger);
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  let config: Config;
  let args: ScaleOutArgs;
  try {
    args = readArgs(process.argv.slice(2));
    config = loadConfig();
  } catch (err) {
    console.error(isAppError(err) ? err.message : err);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, { role: 'scale-out' });
  const stopping = new AbortController();
  let children: RunningChild[] = [];
  let stack: Stack | undefined;
  const stopAll = async (code: number) => {
    // A child's own shutdown may take SHUTDOWN_TIMEOUT_MS; after that it is killed.
    await stopProcesses(children, config.shutdownTimeoutMs + 2_000);
    await stack?.stop();
    logger.info('scale-out stopped');
    process.exit(code);
  };
  const onSignal = (signal: string) => {
    if (stopping.signal.aborted) return;
    logger.info({ signal }, 'stopping every process');
    stopping.abort();
    // Before the start finished, the start itself stops what it began and main() exits.
    if (children.length) void stopAll(0);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  try {
    const secretKey = await secretKeyFor(config);
    stack = await ensureLocalStack(config, logger);
    await prepare(config, stack, logger);
    const withBot = config.discord.token !== undefined;
    if (!withBot) logger.warn('no DISCORD_TOKEN: the bot shard processes are not started');
    const specs = planScaleOut({
      args,
      databaseUrl: stack.databaseUrl,
      redisUrl: stack.redisUrl,
      secretKey,
      basePort: config.http.port,
      baseMetricsPort: config.metrics.port,
      baseSmtpPort: config.email.smtpPort || undefined,
      withBot,
    });
    if (stopping.signal.aborted) return void (await stopAll(0));
    const host = ['0.0.0.0', '::'].includes(config.http.host) ? '127.0.0.1' : config.http.host;
    const started = await startProcesses(specs, {
      main: MAIN,
      execArgv: ['--import', 'tsx'],
      baseEnv: process.env,
      host,
      readyTimeoutMs: 120_000,
      out: (line) => process.stdout.write(`${line}\n`),
      signal: stopping.signal,
    });
    children = started;
    if (stopping.signal.aborted) return void (await stopAll(0));
    for (const c of children) {
      void c.exited.then((code) => {
        if (stopping.signal.aborted) return;
        logger.error({ process: c.spec.name, code }, `${c.spec.name} exited; the others keep running`);
        if (children.every((o) => o.child.exitCode !== null || o.child.signalCode !== null)) void stopAll(1);
      });
    }
    logger.info(
      {
        processes: children.map((c) => ({
          name: c.spec.name,
          pid: c.child.pid,
          ...(c.spec.port ? { port: c.spec.port } : {}),
          ...(c.spec.metricsPort ? { metricsPort: c.spec.metricsPort } : {}),
        })),
      },
      `scale-out ready: ${children.map((c) => c.spec.name).join(', ')}; APIs at ${specs
        .filter((s) => s.port)
        .map((s) => `http://${host}:${s.port}`)
        .join(' ')}; Ctrl-C stops everything`,
    );
  } catch (err) {
    if (!stopping.signal.aborted) {
      if (isAppError(err)) logger.fatal({ code: err.code }, err.message);
      else logger.fatal({ err }, 'scale-out failed to start');
    }
    await stopAll(stopping.signal.aborted ? 0 : 1);
  }
}

await main();
