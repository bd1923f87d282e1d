import { loadConfig } from './lib/config.js';
import { isAppError } from './lib/errors.js';
import { createLogger } from './lib/logger.js';
import { startSystem } from './system.js';

// The process: read config once, start the roles (argv[2] overrides ROLES), stop on a signal.
let config: ReturnType<typeof loadConfig>;
try {
  const env = process.argv[2] ? { ...process.env, ROLES: process.argv[2] } : process.env;
  config = loadConfig(env);
} catch (err) {
  console.error(isAppError(err) ? err.message : err);
  process.exit(1);
}
const logger = createLogger(config.logLevel, { roles: config.roles.join(',') });

try {
  const system = await startSystem(config, logger);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs);
    timer.unref();
    system.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (err) {
  if (isAppError(err)) logger.fatal({ code: err.code, details: err.details }, err.message);
  else logger.fatal({ err }, 'failed to start');
  process.exit(1);
}
