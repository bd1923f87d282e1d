/** Discord's epoch (2015-01-01T00:00:00.000Z) in milliseconds. */
export const DISCORD_EPOCH = 1_420_070_400_000n;

let increment = 0n;
let lastTimestamp = 0n;

/**
 * A real-looking snowflake: 42 bits of milliseconds since Discord's epoch, then worker, process and
 * a 12-bit increment. Timestamps never go backwards, so ids sort by creation like Discord's.
 */
export function snowflake(at: number = Date.now()): string {
  let ts = BigInt(at) - DISCORD_EPOCH;
  if (ts <= lastTimestamp) ts = lastTimestamp;
  if (ts === lastTimestamp) {
    increment = (increment + 1n) & 0xfffn;
    if (increment === 0n) ts += 1n;
  } else {
    increment = 0n;
  }
  lastTimestamp = ts;
  return ((ts << 22n) | (1n << 17n) | (1n << 12n) | increment).toString();
}

/** A snowflake whose guild routes to `shardId` of `shardCount` (`(id >> 22) % count`). */
export function snowflakeOnShard(shardId: number, shardCount: number): string {
  for (;;) {
    const id = snowflake();
    if (shardOf(id, shardCount) === shardId) return id;
    // Move the clock on by exactly one millisecond so the next id lands on the next shard.
    lastTimestamp += 1n;
    increment = 0xffen;
  }
}

/** Discord's routing rule: `shard_id = (guild_id >> 22) % shard_count`. */
export function shardOf(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(shardCount));
}

/** The creation time a snowflake carries, as an ISO string. */
export function snowflakeTime(id: string): string {
  return new Date(Number((BigInt(id) >> 22n) + DISCORD_EPOCH)).toISOString();
}

/** A random token-like string (interaction tokens, webhook tokens, OAuth2 codes). */
export function randomToken(bytes = 32): string {
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let out = '';
  const buf = crypto.getRandomValues(new Uint8Array(bytes * 2));
  for (const b of buf) out += chars[b & 63];
  return out;
}
