import { loadConfig } from './lib/config.js';
import { isAppError } from './lib/errors.js';
import { createLogger } from './lib/logger.js';
import { type RunningSystem, startSystem } from './system.js';

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

// Signals are handled from the first moment: one that arrives while roles are still starting
// waits for the start to finish, then stops everything, so no embedded server is orphaned.
let system: RunningSystem | undefined;
let stopRequested: string | undefined;
const shutdown = (signal: string) => {
  if (stopRequested) return;
  stopRequested = signal;
  logger.info({ signal }, 'shutting down');
  if (system) stopAndExit(system);
};
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGTERM', () => shutdown('SIGTERM'));

function stopAndExit(running: RunningSystem) {
  const timer = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, config.shutdownTimeoutMs);
  timer.unref();
  running.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
}

try {
  system = await startSystem(config, logger);
  if (stopRequested) stopAndExit(system);
} catch (err) {
  if (isAppError(err)) logger.fatal({ code: err.code, details: err.details }, err.message);
  else logger.fatal({ err }, 'failed to start');
  process.exit(1);
}
