import { afterAll } from 'vitest';

// A deprecation is a bug waiting for the next major version of a dependency (pg@9 turns queries
// queued on a busy client into errors): in tests it throws where it happens, so a test fails.
process.throwDeprecation = true;

// Files share their worker's process (vitest.config.ts), so what one leaves in process.env the
// next inherits, and passes on to every process it starts: discord.js's ShardingManager sets
// DISCORD_TOKEN there (test/bot/sharding.test.ts), and a later `npm start` tried to log in to
// Discord with it. Each file gets back the environment it started with.
const envAtStart = { ...process.env };
afterAll(() => {
  for (const key of Object.keys(process.env)) if (!(key in envAtStart)) delete process.env[key];
  Object.assign(process.env, envAtStart);
});
