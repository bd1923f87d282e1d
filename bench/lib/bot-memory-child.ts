import { Client, Events } from 'discord.js';
import { botIntents, leanCache } from '../../bot/client.js';

/**
 * One measurement of bench/bot-memory.ts, in its own process so neither cache setting sees the
 * other's garbage: logs in to the fake Discord, waits for every guild, collects garbage, and
 * prints the heap before login and after ready as one JSON line.
 */
async function main(): Promise<void> {
  const [mode, apiUrl, token, expected, expectedMessages] = process.argv.slice(2);
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const client = new Client({
    intents: botIntents(true),
    rest: { api: apiUrl ?? '' },
    ...(mode === 'lean' ? leanCache() : {}),
  });
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
  // GUILD_CREATEs keep arriving after ready for guilds that were slow; wait until all are in.
  while (client.guilds.cache.size < Number(expected)) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  const counts = {
    guilds: client.guilds.cache.size,
    channels: client.channels.cache.size,
    roles: client.guilds.cache.reduce((n, g) => n + g.roles.cache.size, 0),
    members: client.guilds.cache.reduce((n, g) => n + g.members.cache.size, 0),
    users: client.users.cache.size,
  };
  let seen = 0;
  const allSeen = new Promise<void>((resolve) =>
    client.on(Events.MessageCreate, () => {
      seen += 1;
      if (seen >= Number(expectedMessages)) resolve();
    }),
  );
  console.log(JSON.stringify({ phase: 'idle', mode, before, after, counts }));
  // Then the parent plays conversation traffic; the heap is measured again once all of it arrived.
  await allSeen;
  await new Promise((r) => setTimeout(r, 500));
  gc();
  gc();
  const busy = process.memoryUsage().heapUsed;
  const counts2 = {
    ...counts,
    members: client.guilds.cache.reduce((n, g) => n + g.members.cache.size, 0),
    users: client.users.cache.size,
    messages: client.channels.cache.reduce((n, c) => n + ('messages' in c ? c.messages.cache.size : 0), 0),
  };
  console.log(JSON.stringify({ phase: 'busy', mode, before, after: busy, counts: counts2 }));
  await client.destroy();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
