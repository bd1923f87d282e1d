import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { DiscordAPIError, type RawFile } from '@discordjs/rest';
import {
  clearDmRefused,
  type RelayFile,
  type RelayPlan,
  recordDmRefused,
  recordRefusalNoticed,
  recordRelay,
  relayPlan,
} from '../db/discord-dm.js';
import { recordRelayedDmMessages } from '../db/dm-routing.js';
import { withTenant } from '../db/tenant.js';
import { openDm } from '../lib/discord/rest.js';
import { t as say } from '../lib/i18n/messages.js';
import { counter } from '../lib/metrics.js';
import { guardedLookup } from '../lib/ssrf.js';
import type { WorkerDeps } from './deps.js';
import { chunks } from './discord-delivery.js';
import { guildLocale } from './guild-locale.js';
import type { JobData } from './jobs.js';
import { permanentError } from './queues.js';

/**
 * Modmail relay (`discord.dm_relay`): a player's DM recorded on a DM ticket is posted into the
 * ticket's staff thread; a staff (or system) message on a DM ticket, wherever it was written
 * (the thread, the panel, the API, email), goes to the player's DM, and so does one on a game,
 * email or API ticket whose player linked Discord when the organization turned that on
 * (`settings.discordDmReplies`). Internal notes are never messages, so never relayed. Each
 * message's outcome is recorded once (`discord_dm_relays`); a DM Discord refuses (50007) is
 * recorded as refused, not retried, and staff are told in the thread once per run of refusals.
 */

const relayed = counter('gamemod_discord_dm_relays_total', 'Messages relayed between DMs and tickets', [
  'target',
  'outcome',
]);

const CANNOT_MESSAGE_USER = 50007;
const GONE = new Set([10003, 50001, 50013, 50083]);
/** Files are forwarded up to Discord's default upload limit (10 MiB a message); larger ones are named. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_TOTAL_BYTES = 10 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 30_000;

const codeOf = (err: unknown) => (err instanceof DiscordAPIError ? Number(err.code) : undefined);

/** Where a message goes, or null when it stays where it is. */
export function relayTarget(p: RelayPlan): 'dm' | 'thread' | null {
  if (p.authorType === 'player') return p.dm && p.origin === 'discord' && p.threadId ? 'thread' : null;
  if (!p.requesterDiscordId) return null;
  // Other bots' and foreign webhooks' posts in the thread are recorded as system: not for the player.
  if (p.authorType === 'system' && p.origin === 'discord') return null;
  if (p.dm) return 'dm';
  return p.repliesToLinkedDm && p.ticketOrigin !== 'discord' ? 'dm' : null;
}

export async function relayDm(deps: WorkerDeps, data: JobData<'discord.dm_relay'>): Promise<void> {
  const rest = deps.discord;
  if (!rest) return;
  const p = await withTenant(deps.pool, data.orgId, (tx) => relayPlan(tx, data.messageId));
  if (!p || p.relayed || p.deleted) return;
  const target = relayTarget(p);
  if (!target) return;
  const record = (outcome: 'posted' | 'refused' | 'skipped', id: string | null) =>
    withTenant(deps.pool, data.orgId, (tx) => recordRelay(tx, p.messageId, target, outcome, id));
  const x = deps.shutdown ? { signal: deps.shutdown } : {};
  const { files, named } = await gatherFiles(deps, data.orgId, p.files);
  const head =
    target === 'thread'
      ? `**${p.author}** (by direct message):`
      : `**${p.author}** · ${p.orgName}, ticket #${p.number}:`;
  const text = [
    p.body,
    named.length ? `📎 Not forwarded (too large or unavailable): ${named.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  const parts = chunks(`${head}\n${text}`);
  try {
    const channelId =
      target === 'thread'
        ? (p.threadId as string)
        : (await openDm(rest, p.requesterDiscordId as string, x)).id;
    const posted: string[] = [];
    for (const [i, content] of parts.entries()) {
      const last = i === parts.length - 1;
      const withFiles = last && files.length > 0;
      const res = (await rest.post(`/channels/${channelId}/messages`, {
        body: {
          content,
          allowed_mentions: { parse: [] },
          // A job that crashed after posting and runs again does not post twice (Discord keeps
          // a nonce for a few minutes).
          nonce: `dr${p.messageId.replace(/-/g, '').slice(0, 20)}${i}`,
          enforce_nonce: true,
          ...(withFiles ? { attachments: files.map((f, n) => ({ id: n, filename: f.name })) } : {}),
        },
        ...(withFiles ? { files } : {}),
        ...x,
      })) as { id: string };
      posted.push(res.id);
    }
    await withTenant(deps.pool, data.orgId, async (tx) => {
      await recordRelay(tx, p.messageId, target, 'posted', posted.at(-1) ?? null);
      // One bot talks for every organization in a player's DM: a Discord reply to any part of
      // this message is how the bot knows which ticket the answer is for.
      if (target === 'dm')
        await recordRelayedDmMessages(tx, {
          ticketId: p.ticketId,
          discordUserId: p.requesterDiscordId as string,
          discordMessageIds: posted,
        });
    });
    if (target === 'dm' && p.dm?.refusedAt)
      await withTenant(deps.pool, data.orgId, (tx) => clearDmRefused(tx, p.ticketId));
    relayed.inc({ target, outcome: 'posted' });
  } catch (err) {
    const code = codeOf(err);
    if (target === 'dm' && code === CANNOT_MESSAGE_USER) {
      await refused(deps, data.orgId, p);
      await record('refused', null);
      relayed.inc({ target, outcome: 'refused' });
      return;
    }
    if (code !== undefined && GONE.has(code)) {
      await record('skipped', null);
      relayed.inc({ target, outcome: 'gone' });
      throw permanentError(
        `the ${target === 'dm' ? 'DM' : 'ticket thread'} is out of reach (Discord ${code})`,
      );
    }
    throw err;
  }
}

/**
 * The player takes no DMs from the bot (they closed them, or share no server with it any more).
 * On a DM ticket staff are told once in the thread, so they know replies are not arriving.
 */
async function refused(deps: WorkerDeps, orgId: string, p: RelayPlan): Promise<void> {
  if (!p.dm) return;
  const first = await withTenant(deps.pool, orgId, (tx) => recordDmRefused(tx, p.ticketId));
  if (!first || !p.threadId || !deps.discord) return;
  // Staff read it in the ticket's thread: the server's language.
  const locale = await guildLocale(deps.discord, p.guildId);
  await deps.discord
    .post(`/channels/${p.threadId}/messages`, {
      body: {
        content: say(locale, 'relay.dmRefused', { player: `<@${p.requesterDiscordId}>` }),
        allowed_mentions: { parse: [] },
      },
    })
    .then(() => withTenant(deps.pool, orgId, (tx) => recordRefusalNoticed(tx, p.ticketId)))
    .catch((err: unknown) =>
      deps.logger.warn({ err, ticketId: p.ticketId }, 'could not tell staff the DM was refused'),
    );
}

/**
 * The message's files to forward: our stored copy when there is one, else Discord's link (only on
 * Discord's file hosts, through the outgoing-address guard). What can't be had, or is too large,
 * is named in the text instead.
 */
async function gatherFiles(
  deps: WorkerDeps,
  orgId: string,
  list: readonly RelayFile[],
): Promise<{ files: RawFile[]; named: string[] }> {
  const files: RawFile[] = [];
  const named: string[] = [];
  let total = 0;
  for (const f of list) {
    if (f.sizeBytes > MAX_FILE_BYTES || total + f.sizeBytes > MAX_TOTAL_BYTES) {
      named.push(f.filename);
      continue;
    }
    const data = await readFile(deps, f).catch((err: unknown) => {
      deps.logger.warn({ err, orgId, attachmentId: f.id }, 'could not read a file to forward');
      return null;
    });
    if (!data || data.length > MAX_FILE_BYTES || total + data.length > MAX_TOTAL_BYTES) {
      named.push(f.filename);
      continue;
    }
    total += data.length;
    files.push({ name: f.filename, data, contentType: f.contentType });
  }
  return { files, named };
}

async function readFile(deps: WorkerDeps, f: RelayFile): Promise<Buffer | null> {
  if (f.storageKey && deps.storage) return collect((await deps.storage.get(f.storageKey)).body);
  if (!f.externalUrl) return null;
  const url = new URL(f.externalUrl);
  if (!deps.discordFileHosts.has(url.host) || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    return null;
  const lib = url.protocol === 'https:' ? https : http;
  const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
    const req = lib.get(
      url,
      {
        headers: { 'user-agent': 'GameMod-Relay/1' },
        lookup: guardedLookup(deps.webhookTargets) as never,
        ...(deps.shutdown ? { signal: deps.shutdown } : {}),
      },
      resolve,
    );
    req.setTimeout(FETCH_TIMEOUT_MS, () => req.destroy(new Error('Discord file host timed out')));
    req.on('error', reject);
  });
  if (res.statusCode !== 200) {
    res.resume();
    return null;
  }
  return collect(res);
}

async function collect(body: Readable): Promise<Buffer | null> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += b.length;
    if (size > MAX_FILE_BYTES) {
      body.destroy();
      return null;
    }
    parts.push(b);
  }
  return Buffer.concat(parts);
}
