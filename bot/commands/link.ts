import { SlashCommandBuilder } from 'discord.js';
import { redeemLinkCode } from '../../db/link-codes.js';
import { withTenant } from '../../db/tenant.js';
import { orgOf } from '../auth.js';
import { type CommandHandler, respond } from '../handler.js';

const data = new SlashCommandBuilder()
  .setName('link')
  .setDescription('Link your game account to your Discord account with the code your game shows')
  .setDMPermission(false)
  .addStringOption((o) =>
    o.setName('code').setDescription('The code from the game').setRequired(true).setMaxLength(20),
  );

/**
 * A player's own command: redeems a code the game's server asked /sdk/v1/link-codes for, so their
 * game, Discord and email tickets become one history. Anyone may run it: the code is the proof,
 * vouched for by the game server that authenticated the player. Each of the studio's games links
 * its own account to the same user. A code that would move a game account linked to someone else,
 * or replace the account this user has in that game, is refused (db/link-codes.ts) in the same
 * ephemeral reply.
 */
export const link: CommandHandler = {
  data: data.toJSON(),
  ack: 'defer',
  async execute(i, ctx) {
    const orgId = await orgOf(ctx.deps, i.guildId);
    const code = i.options.getString('code', true);
    const { merged } = await withTenant(ctx.deps.pool, orgId, (tx) =>
      redeemLinkCode(tx, { code, discordUserId: i.user.id }, { type: 'system', requestId: ctx.requestId }),
    );
    await respond(
      i,
      merged
        ? 'Linked: your game account and your Discord account now share one support history.'
        : 'Linked: your game account is now connected to this Discord account.',
    );
  },
};
