import { z } from 'zod';

/** Shapes shared by the settings route families (tokens, games, guilds, webhooks...). */

export const at = z.date();

/** Path parameters: the org plus one named id. */
export const orgAnd = <K extends string>(key: K) =>
  z.object({ orgId: z.uuid() }).extend({ [key]: z.uuid() } as Record<K, z.ZodUUID>);

/**
 * A secret returned by the call that made it and never again: only a hash (tokens, keys, link
 * codes) or a sealed copy (webhook secrets) is kept.
 */
export const secretOnce = (what: string) =>
  z.string().meta({ description: `${what}; shown only in this response, store it now` });
