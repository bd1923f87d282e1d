import { type APIPartialGuild, Routes } from 'discord.js';
import type { BotDeps } from './context.js';

/**
 * The servers this bot is in, by id with their names, whatever shard they are on: the servers a
 * first DM can go to. Discord sends every DM (and the selects in it) to shard 0, so only the
 * process holding shard 0 answers them; when the shards run in several processes, its cache
 * holds only its own shards' servers, and a player whose server is on another shard would be
 * told they share none with the bot. Then the list is asked of Discord (`GET /users/@me/guilds`,
 * 200 a page, each page paced like a member look-up) and kept a minute in the process.
 */

const PAGE = 200;
const KEEP_MS = 60_000;

let kept: { at: number; client: unknown; servers: Map<string, string> } | null = null;

/** Whether this process's client runs every shard, so its cache holds every server. */
function holdsEveryShard(deps: BotDeps): boolean {
  const { shards, shardCount } = deps.client.options;
  return !Array.isArray(shards) || shards.length >= (shardCount ?? 1);
}

export async function botServers(deps: BotDeps, slot: () => Promise<void>): Promise<Map<string, string>> {
  const cache = deps.client.guilds.cache;
  if (holdsEveryShard(deps)) return new Map([...cache.values()].map((g) => [g.id, g.name]));
  if (kept && kept.client === deps.client && Date.now() - kept.at < KEEP_MS) return kept.servers;
  const servers = new Map<string, string>();
  let after = '0';
  for (;;) {
    await slot();
    const page = (await deps.client.rest.get(Routes.userGuilds(), {
      query: new URLSearchParams({ limit: String(PAGE), after }),
    })) as APIPartialGuild[];
    for (const g of page) servers.set(g.id, g.name);
    const last = page.at(-1);
    if (page.length < PAGE || !last) break;
    after = last.id;
  }
  kept = { at: Date.now(), client: deps.client, servers };
  return servers;
}
