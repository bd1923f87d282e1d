import { REST, Routes } from 'discord.js';
import { loadConfig } from '../lib/config.js';
import { isAppError } from '../lib/errors.js';
import { commandData } from './registry.js';

/**
 * Registers the bot's application commands: globally (what players see, may take a moment to
 * show up everywhere) or in one guild (immediate, for development). A PUT replaces the whole set,
 * so removed commands disappear too. Never run at startup: Discord limits command creation.
 */
export async function deployCommands(
  rest: REST,
  applicationId: string,
  guildId?: string,
): Promise<{ name: string; id: string }[]> {
  const route = guildId
    ? Routes.applicationGuildCommands(applicationId, guildId)
    : Routes.applicationCommands(applicationId);
  return (await rest.put(route, { body: commandData() })) as { name: string; id: string }[];
}

async function main(argv: string[]): Promise<void> {
  const config = loadConfig();
  const { token, applicationId, apiUrl } = config.discord;
  if (!token || !applicationId) {
    throw new Error('set DISCORD_TOKEN and DISCORD_APPLICATION_ID to register the commands');
  }
  const g = argv.indexOf('--guild');
  const guildId = g >= 0 ? argv[g + 1] : undefined;
  if (g >= 0 && !/^\d{17,20}$/.test(guildId ?? '')) throw new Error('--guild needs a guild id');
  const rest = new REST({ api: apiUrl }).setToken(token);
  const done = await deployCommands(rest, applicationId, guildId);
  console.log(
    `registered ${done.length} commands ${guildId ? `in guild ${guildId}` : 'globally'}: ${done.map((c) => c.name).join(', ')}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(isAppError(err) || err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
