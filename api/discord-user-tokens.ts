import type { FastifyInstance } from 'fastify';
import { withDiscordTokens } from '../db/discord-tokens.js';
import { discordStaffAccess, endMembershipOfLeaver } from '../db/guild-roles.js';
import { listGuilds } from '../db/guilds.js';
import { orgsOfUser } from '../db/memberships.js';
import { withTenant } from '../db/tenant.js';
import { createSecretBox } from '../lib/secret-box.js';
import { type DiscordGrant, fetchMemberRoles, refreshGrant } from './discord-oauth.js';

/**
 * A linked account's Discord access token, kept fresh: used as stored while it has more than a
 * minute left, otherwise refreshed (Discord rotates the refresh token, and the new pair is
 * sealed and stored in the same locked transaction); dropped when Discord refuses the refresh
 * token (the person removed the app), so it is not tried again. Null without usable tokens.
 */
export async function discordAccessToken(app: FastifyInstance, userId: string): Promise<string | null> {
  const { clientId, clientSecret, apiUrl } = app.settings.discord;
  if (!clientId || !clientSecret) return null;
  const box = createSecretBox(app.settings.secretKey);
  const now = app.settings.now();
  return withDiscordTokens<string | null>(app.deps.pool, box, userId, async (current) => {
    if (!current) return { keep: null };
    if (current.expiresAt.getTime() - now > 60_000) return { keep: current.accessToken };
    const fresh = await refreshGrant({ apiUrl, clientId, clientSecret }, current.refreshToken);
    if (fresh === 'refused') return { drop: true, result: null };
    return { rotate: storedFrom(fresh, now, current.refreshToken), result: fresh.accessToken };
  });
}

/** What is stored of a grant; a grant without a new refresh token keeps the one it had. */
export const storedFrom = (g: DiscordGrant, nowMs: number, previousRefresh: string) => ({
  accessToken: g.accessToken,
  refreshToken: g.refreshToken ?? previousRefresh,
  scopes: g.scopes,
  expiresAt: new Date(nowMs + g.expiresInSeconds * 1000),
});

/**
 * Role sync: reads the person's current roles in every server linked to their organizations
 * with their own Discord token, and brings the memberships that follow Discord role mappings
 * up to date (db/guild-roles.ts: a removed role takes its derived membership away, a changed
 * one changes it, and leaving the server ends it). What the bot learns from the gateway, for when it was not there to see it.
 * Returns the servers read, or null when the account has no usable Discord token.
 */
export async function syncDiscordRoles(app: FastifyInstance, userId: string): Promise<number | null> {
  const token = await discordAccessToken(app, userId);
  if (!token) return null;
  let read = 0;
  for (const org of await orgsOfUser(app.deps.pool, userId)) {
    const guilds = await withTenant(app.deps.pool, org.id, (tx) => listGuilds(tx));
    for (const guild of guilds) {
      const roles = await fetchMemberRoles(app.settings.discord.apiUrl, token, guild.guildId);
      // Unreadable (the token refused there, no access): nothing is known, so nothing is taken away.
      if (roles === null) continue;
      read++;
      // Gone from the server (left, kicked, banned): the bot is never told (that needs the
      // privileged GuildMembers intent), so this is where a membership that server made ends.
      await withTenant(app.deps.pool, org.id, async (tx) => {
        if (roles === 'not_member') await endMembershipOfLeaver(tx, guild.guildId, userId);
        else await discordStaffAccess(tx, guild.guildId, userId, roles, false);
      });
    }
  }
  // Each membership it changed is audited by db/guild-roles.ts in its own transaction.
  return read;
}
