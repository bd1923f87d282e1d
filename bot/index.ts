import { Client, Events, GatewayIntentBits } from 'discord.js';
import type { Config } from '../lib/config.js';
import type { RoleContext, RunningRole } from '../role.js';

/**
 * The bot role. Without Discord credentials it says how to enable it and stays idle, so a
 * newcomer's `npm start` still brings the rest of the system up.
 */
export async function startBot(config: Config, ctx: RoleContext): Promise<RunningRole> {
  const log = ctx.logger.child({ role: 'bot' });
  if (!config.discord.token) {
    log.warn(
      'the Discord bot is not enabled: set DISCORD_TOKEN and DISCORD_APPLICATION_ID (a bot from the Discord developer ' +
        'portal) and restart; everything else runs without it',
    );
    return { name: 'bot', stop: async () => {} };
  }
  const client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: config.discord.apiUrl },
  });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(config.discord.token);
  await ready;
  log.info({ user: client.user?.tag, guilds: client.guilds.cache.size }, 'connected to the Discord gateway');
  return {
    name: 'bot',
    async stop() {
      await client.destroy();
    },
  };
}
