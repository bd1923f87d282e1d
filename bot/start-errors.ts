/**
 * Why the bot could not connect, in words an operator can act on. `fatal` errors (a wrong token,
 * a refused intent) do not go away by retrying: retrying only burns session starts.
 */
export class BotStartError extends Error {
  constructor(
    message: string,
    readonly fatal: boolean,
    readonly closeCode: number | null = null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BotStartError';
  }
}

/** Gateway close codes that retrying cannot fix, with what to do about each. */
const FATAL_CLOSE: Record<number, string> = {
  4004: 'Discord refused the bot token (close 4004): set DISCORD_TOKEN to the token of your bot (developer portal → Bot → Reset Token) and restart.',
  4010: 'Discord refused the shard (close 4010): check SHARD_COUNT and SHARD_IDS.',
  4011: 'Discord requires sharding for this bot (close 4011): set SHARD_COUNT (and run the shard manager).',
  4012: 'Discord refused the gateway version (close 4012): update the bot.',
  4013: 'Discord refused the intents the bot asked for (close 4013): update the bot.',
  4014:
    'Discord refused the privileged Message Content intent (close 4014): either enable it in the developer portal ' +
    '(Bot → Privileged Gateway Intents → Message Content) or set DISCORD_MESSAGE_CONTENT=false, and restart.',
};

export function closeCodeError(code: number, shardId?: number): BotStartError {
  const what = FATAL_CLOSE[code];
  if (what) return new BotStartError(what, true, code);
  return new BotStartError(
    `the gateway closed shard ${shardId ?? '?'} with code ${code} and it will not reconnect`,
    false,
    code,
  );
}

/** Maps what client.login() threw; a wrong token shows up there as a 401 from /gateway/bot. */
export function loginError(err: unknown): BotStartError {
  if (err instanceof BotStartError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const status = (err as { status?: unknown } | null)?.status;
  if (code === 'TokenInvalid' || code === 'TokenMissing' || status === 401)
    return new BotStartError(FATAL_CLOSE[4004] as string, true, 4004, { cause: err });
  if (code === 'DisallowedIntents')
    return new BotStartError(FATAL_CLOSE[4014] as string, true, 4014, { cause: err });
  return new BotStartError(
    `could not connect to Discord: ${err instanceof Error ? err.message : String(err)}`,
    false,
    null,
    { cause: err },
  );
}

/**
 * Whether and when to start again a bot (a shard process, or the bot role of the all-in-one
 * process) that died or failed to start. A fatal start error (wrong token,
 * refused intent) fails the same way every time, so it is not retried; other deaths are retried
 * with a delay that doubles with each recent death (1 s up to 5 min), so a crash loop cannot
 * burn the day's session starts.
 */
export function restartDecision(d: {
  fatal: boolean;
  recentDeaths: number;
}): { restart: false } | { restart: true; delayMs: number } {
  if (d.fatal) return { restart: false };
  return { restart: true, delayMs: Math.min(1000 * 2 ** Math.min(d.recentDeaths, 20), 5 * 60_000) };
}
