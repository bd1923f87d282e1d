import type { Pool } from './db/pool.js';
import type { RoleName } from './lib/config.js';
import type { Logger } from './lib/logger.js';

/** What every role gets from the entry point. */
export interface RoleContext {
  pool: Pool;
  redisUrl: string;
  logger: Logger;
  /** SECRET_KEY, or the development key the entry point generated (lib/secret-key.ts). */
  secretKey: string;
}

/** A started role; `stop` finishes or hands back in-flight work and closes its connections. */
export interface RunningRole {
  name: RoleName;
  stop(): Promise<void>;
}
