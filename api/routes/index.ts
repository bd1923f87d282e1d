import type { FastifyInstance } from 'fastify';
import { attachmentRoutes } from './attachments.js';
import { authRoutes } from './auth.js';
import { healthRoutes } from './health.js';
import { meRoutes } from './me.js';
import { ticketRoutes } from './tickets.js';
import { totpRoutes } from './totp.js';

/** Every route family; each file declares its routes' access and schemas. */
export async function registerRoutes(app: FastifyInstance) {
  await app.register(healthRoutes);
  await app.register(authRoutes);
  await app.register(totpRoutes);
  await app.register(meRoutes);
  await app.register(ticketRoutes);
  await app.register(attachmentRoutes);
}
