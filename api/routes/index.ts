import type { FastifyInstance } from 'fastify';
import { attachmentRoutes } from './attachments.js';
import { authRoutes } from './auth.js';
import { cannedReplyRoutes } from './canned-replies.js';
import { categoryRoutes } from './categories.js';
import { gameSupportRoutes } from './game-support.js';
import { gameRoutes } from './games.js';
import { guildRoutes } from './guilds.js';
import { healthRoutes } from './health.js';
import { inboxRoutes } from './inbox.js';
import { liveRoutes } from './live.js';
import { meRoutes } from './me.js';
import { memberRoutes } from './members.js';
import { orgRoutes } from './org.js';
import { panelRoutes } from './panel.js';
import { playerRoutes } from './players.js';
import { ratingRoutes } from './rating.js';
import { retentionRoutes } from './retention.js';
import { roleRoutes } from './roles.js';
import { sdkRoutes } from './sdk.js';
import { slaRoutes } from './sla.js';
import { teamRoutes } from './teams.js';
import { ticketRoutes } from './tickets.js';
import { tokenRoutes } from './tokens.js';
import { totpRoutes } from './totp.js';
import { viewRoutes } from './views.js';
import { webhookRoutes } from './webhooks.js';

/** Every route family; each file declares its routes' access and schemas. */
export async function registerRoutes(app: FastifyInstance) {
  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(totpRoutes);
  await app.register(meRoutes);
  await app.register(orgRoutes);
  await app.register(memberRoutes);
  await app.register(roleRoutes);
  await app.register(teamRoutes);
  await app.register(ticketRoutes);
  await app.register(attachmentRoutes);
  await app.register(inboxRoutes);
  await app.register(playerRoutes);
  await app.register(tokenRoutes);
  await app.register(gameRoutes);
  await app.register(gameSupportRoutes);
  await app.register(retentionRoutes);
  await app.register(guildRoutes);
  await app.register(categoryRoutes);
  await app.register(cannedReplyRoutes);
  await app.register(slaRoutes);
  await app.register(webhookRoutes);
  await app.register(viewRoutes);
  await app.register(liveRoutes);
  await app.register(sdkRoutes);
  await app.register(ratingRoutes);
  // Last: its catch-all serves the panel for client-side routes no other route claims.
  await app.register(panelRoutes);
}
