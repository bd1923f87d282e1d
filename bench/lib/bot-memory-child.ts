import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, Events } from 'discord.js';
import type * as ClientModule from '../../bot/client.js';
import type * as GatewayModule from '../../bot/gateway.js';
import type { GatewayThreadStrategy } from '../../bot/gateway.js';
import type * as RegistryModule from '../../bot/registry.js';

/**
 * One measurement of bench/bot-memory.ts, in its own process so neither cache setting sees the
 * other's garbage: logs in to the fake Discord, waits for every guild, collects garbage, and
 * prints the heap before login and after ready as one JSON line.
 */
async function main(): Promise<void> {
  const [mode, apiUrl, token, expected, expectedMessages, build] = process.argv.slice(2);
  // The bot's modules from the compiled build, as the image runs them: the gateway thread then
  // runs compiled JavaScript too (from the sources it would carry a TypeScript loader's heap).
  const compiled = (path: string) => import(pathToFileURL(join(build ?? '', 'dist', path)).href);
  const { botIntents, leanCache } = (await compiled('bot/client.js')) as typeof ClientModule;
  const { gatewayThreadStrategy } = (await compiled('bot/gateway.js')) as typeof GatewayModule;
  const { ackTable } = (await compiled('bot/registry.js')) as typeof RegistryModule;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // The bot as it runs ('lean'): its cache settings and its shards in the gateway thread, whose
  // heap is counted with the main thread's; against discord.js's defaults in one thread.
  let thread: GatewayThreadStrategy | undefined;
  const client = new Client({
    intents: botIntents(true),
    rest: { api: apiUrl ?? '' },
    ...(mode === 'lean'
      ? {
          ...leanCache(),
          ws: {
            buildStrategy: (m) => {
              thread = gatewayThreadStrategy(m, apiUrl ?? '', ackTable);
              return thread;
            },
          },
        }
      : {}),
  });
  /** The main thread's heap plus the gateway thread's (none before login), after collecting. */
  const heapUsed = async () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed + ((await thread?.threadHeapUsed(true)) ?? 0);
  };
  const before = await heapUsed();
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(token);
  await ready;
  // GUILD_CREATEs keep arriving after ready for guilds that were slow; wait until all are in.
  while (client.guilds.cache.size < Number(expected)) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 500));
  const after = await heapUsed();
  const counts = {
    guilds: client.guilds.cache.size,
    channels: client.channels.cache.size,
    roles: client.guilds.cache.reduce((n, g) => n + g.roles.cache.size, 0),
    members: client.guilds.cache.reduce((n, g) => n + g.members.cache.size, 0),
    users: client.users.cache.size,
  };
  let seen = 0;
  const allSeen = new Promise<void>((resolve) => {
    if (Number(expectedMessages) === 0) return resolve();
    client.on(Events.MessageCreate, () => {
      seen += 1;
      if (seen >= Number(expectedMessages)) resolve();
    });
  });
  const threadBytes = (await thread?.threadHeapUsed(true)) ?? 0;
  console.log(JSON.stringify({ phase: 'idle', mode, before, after, threadBytes, counts }));
  // Then the parent plays conversation traffic; the heap is measured again once all of it arrived.
  await allSeen;
  await new Promise((r) => setTimeout(r, 500));
  const busy = await heapUsed();
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
