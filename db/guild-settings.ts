import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import type { Actor } from './changes.js';
import { categorySettingsSchema, type Guild, guildSettingsSchema, writeGuildSettings } from './guilds.js';
import { id, snowflake } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * A change to a server's settings as a JSON merge patch (RFC 7396): a value sets, `null` clears
 * (a channel set back to none, a category's entry or one of its fields removed), an absent key
 * stays. The merged result is validated whole, so a bad patch changes nothing.
 */
const nullable = <T extends z.ZodRawShape>(shape: T) =>
  Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, (v as z.ZodType).nullable()])) as unknown as {
    [K in keyof T]: z.ZodNullable<T[K]>;
  };

export const categorySettingsPatchSchema = z.object(nullable(categorySettingsSchema.shape)).strict();

export const guildSettingsPatchSchema = z
  .object({
    ...nullable(guildSettingsSchema.omit({ categories: true }).shape),
    categories: z.record(id, categorySettingsPatchSchema.nullable()).optional(),
  })
  .strict();
export type GuildSettingsPatch = z.infer<typeof guildSettingsPatchSchema>;

/** `patch` merged into `target`: null deletes the key, anything else replaces it. */
function merge(target: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (v !== undefined) out[k] = v;
  }
  return out;
}

const COLUMNS = `guild_id as "guildId", org_id as "orgId", name, settings, linked_at as "linkedAt"`;

export async function patchGuildSettings(
  tx: Tx,
  guildId: string,
  rawPatch: GuildSettingsPatch,
  actor: Actor,
): Promise<Guild> {
  const patch = parseInput(guildSettingsPatchSchema, rawPatch);
  const r = await tx.query<Guild>(
    `select ${COLUMNS} from discord_guilds where org_id = $1::uuid and guild_id = $2::text for update`,
    [tx.orgId, parseInput(snowflake, guildId)],
  );
  const before = r.rows[0];
  if (!before) throw new AppError('not_found', 'this server is not linked to the organization');
  const { categories: categoryPatch, ...top } = patch;
  const categories: Record<string, Record<string, unknown>> = { ...(before.settings.categories ?? {}) };
  for (const [cid, c] of Object.entries(categoryPatch ?? {})) {
    const next = c === null ? {} : merge(categories[cid] ?? {}, c);
    if (Object.keys(next).length === 0) delete categories[cid];
    else categories[cid] = next;
  }
  const { categories: _old, ...rest } = before.settings;
  const merged = parseInput(guildSettingsSchema, {
    ...merge(rest, top),
    ...(Object.keys(categories).length ? { categories } : {}),
  });
  return writeGuildSettings(tx, before, merged, actor);
}
