import { loadConfig } from '../lib/config.js';
import { ensureLocalStack } from '../lib/local-stack/index.js';
import { createLogger } from '../lib/logger.js';
import { migrate } from './migrate.js';

// `npm run migrate [up|down] [count]`: against MIGRATION_DATABASE_URL, or the embedded cluster.
const config = loadConfig();
const logger = createLogger(config.logLevel, { role: 'migrate' });
const direction = process.argv[2] === 'down' ? 'down' : 'up';
const count = process.argv[3] ? Number(process.argv[3]) : undefined;
const stack = await ensureLocalStack(config, logger);
try {
  if (!stack.migrationUrl) throw new Error('set MIGRATION_DATABASE_URL (the owner role) to run migrations');
  const ran = await migrate(stack.migrationUrl, direction, { count, log: (m) => logger.debug(m) });
  logger.info({ ran }, ran.length ? `migrated ${direction}: ${ran.join(', ')}` : 'nothing to migrate');
} finally {
  await stack.stop();
}
