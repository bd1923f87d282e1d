// A game server: refuse banned players on join, hand out Discord link codes, and keep trying to
// send queued reports.
import { GameMod } from '../src/index.js';
import { fileStorage } from '../src/node-storage.js';

const gm = new GameMod({
  baseUrl: process.env.GAMEMOD_URL ?? 'http://127.0.0.1:3000',
  key: process.env.GAMEMOD_SERVER_SECRET ?? '',
  storage: fileStorage('./gamemod-queue.json'),
});

export async function onPlayerJoin(accountId) {
  const s = await gm.moderationStatus(accountId);
  // banned and muted hold now by the server's clock; an ended ban stays in bannedUntil.
  if (s.banned) return { allow: false, reason: s.reason };
  return { allow: true, muted: s.muted };
}

// Only for the player this connection authenticated: whoever redeems the code takes on the account.
export async function linkCodeFor(authenticatedPlayer) {
  const { code, expiresAt } = await gm.linkCode(authenticatedPlayer);
  return { message: `Type /link code:${code} in our Discord`, expiresAt };
}

setInterval(() => gm.flushQueue().catch(() => {}), 60_000);
