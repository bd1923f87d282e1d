import { loadConfig } from './lib/config.js';
import { isAppError } from './lib/errors.js';
import { createLogger } from './lib/logger.js';
import { startTelemetry, type Telemetry, telemetrySettings } from './lib/telemetry.js';
import type { RunningSystem } from './system.js';

// The process: read config once, start the roles (argv[2] overrides ROLES), stop on a signal.
let config: ReturnType<typeof loadConfig>;
let telemetry: Telemetry;
try {
  const env = process.argv[2] ? { ...process.env, ROLES: process.argv[2] } : process.env;
  config = loadConfig(env);
  // Before the roles' modules are imported (below): lib/telemetry-sdk.ts says why.
  telemetry = await startTelemetry(telemetrySettings(env, `gamemod-${config.roles.join('-')}`));
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
  // Spans of the shutdown itself are flushed too, inside the same time limit.
  running.stop().then(
    () => telemetry.shutdown().finally(() => process.exit(0)),
    (err: unknown) => {
      logger.error({ err }, 'shutdown failed');
      telemetry.shutdown().finally(() => process.exit(1));
    },
  );
}

try {
  const { startSystem } = await import('./system.js');
  system = await startSystem(config, logger);
  if (stopRequested) stopAndExit(system);
} catch (err) {
  if (isAppError(err)) logger.fatal({ code: err.code, details: err.details }, err.message);
  else logger.fatal({ err }, 'failed to start');
  await telemetry.shutdown().catch(() => {});
  process.exit(1);
}
