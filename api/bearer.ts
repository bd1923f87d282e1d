import type { FastifyInstance } from 'fastify';
import { resolveApiToken } from '../db/api-tokens.js';
import { isOAuthAccessToken, resolveOAuthToken } from '../db/oauth-grants.js';
import type { CachedToken } from './token-cache.js';

/**
 * A bearer credential to its organization and scopes: an OAuth access token (`gmo_…`, issued by
 * `POST /v1/oauth/token`) or a personal access token (`gm_…`, `POST .../api-tokens`). Null when
 * it is neither, or unknown, revoked or expired. OAuth expiry is read against the app's clock.
 */
export async function resolveBearer(app: FastifyInstance, value: string): Promise<CachedToken | null> {
  if (isOAuthAccessToken(value)) {
    const t = await resolveOAuthToken(app.deps.pool, value, app.settings.now());
    return t && { ...t, via: 'oauth' };
  }
  return resolveApiToken(app.deps.pool, value);
}
