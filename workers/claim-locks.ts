import type { REST } from '@discordjs/rest';
import { type APIOverwrite, OverwriteType, PermissionFlagsBits, Routes } from 'discord.js';
import { claimLockState, recordClaimLock } from '../db/claim-locks.js';
import type { DiscordTicket } from '../db/discord-sync.js';
import { withTenant } from '../db/tenant.js';
import type { RequestExtras } from '../lib/discord/rest.js';
import type { WorkerDeps } from './deps.js';

/**
 * Claim locks in channel mode, for `discord.ticket_sync`: while the ticket is claimed (and its
 * guild or category asks for it), every overwrite that lets someone see the channel, other than
 * the player's, the claimer's and the bot's own, has Send Messages denied; the claimer gets a
 * member overwrite that allows it (a member overwrite wins over role overwrites). An unclaim or
 * a transfer puts back exactly the overwrites this changed, from what was recorded. Run after
 * the claim's commit, so a crash loses nothing: the next run compares and finishes.
 */

const SEND = PermissionFlagsBits.SendMessages;
const VIEW = PermissionFlagsBits.ViewChannel;
const CLAIMER_ALLOW =
  VIEW |
  SEND |
  PermissionFlagsBits.ReadMessageHistory |
  PermissionFlagsBits.AttachFiles |
  PermissionFlagsBits.EmbedLinks;

type Overwrite = { id: string; type: number; allow: bigint; deny: bigint };

const botUsers = new WeakMap<REST, string>();
async function botUserId(rest: REST, x: RequestExtras): Promise<string> {
  const known = botUsers.get(rest);
  if (known) return known;
  const me = (await rest.get(Routes.user('@me'), x)) as { id: string };
  botUsers.set(rest, me.id);
  return me.id;
}

export async function syncClaimLock(
  deps: WorkerDeps,
  rest: REST,
  orgId: string,
  t: DiscordTicket,
  claim: string,
  x: RequestExtras,
): Promise<void> {
  if (t.discordMode !== 'channel' || !t.discordChannelId || !t.discordGuildId) return;
  const state = await withTenant(deps.pool, orgId, (tx) => claimLockState(tx, t.id));
  if (!state) return;
  const wantLocked = state.enabled && !!t.assigneeId;
  const wantHolder = wantLocked ? state.assigneeDiscordId : null;
  const a = state.applied;
  if (a.locked === wantLocked && a.holder === wantHolder) return;

  const channelId = t.discordChannelId;
  const channel = (await rest.get(Routes.channel(channelId), x)) as {
    permission_overwrites?: APIOverwrite[];
  };
  const current = new Map<string, Overwrite>(
    (channel.permission_overwrites ?? []).map((o) => [
      o.id,
      { id: o.id, type: o.type, allow: BigInt(o.allow), deny: BigInt(o.deny) },
    ]),
  );
  // What the channel would be without the lock applied last time.
  const base = new Map<string, Overwrite>([...current].map(([k, o]) => [k, { ...o }]));
  if (a.locked) {
    for (const oid of a.restricted) {
      const o = base.get(oid);
      if (o) base.set(oid, { ...o, allow: o.allow | SEND, deny: o.deny & ~SEND });
    }
    if (a.addedMember) base.delete(a.addedMember);
  }
  // What it should be now.
  const target = new Map<string, Overwrite>([...base].map(([k, o]) => [k, { ...o }]));
  const restricted: string[] = [];
  let addedMember: string | null = null;
  if (wantLocked) {
    const me = await botUserId(rest, x);
    const keep = new Set([t.discordGuildId, me, t.requesterDiscordId, wantHolder].filter(Boolean));
    for (const o of target.values()) {
      if (keep.has(o.id) || (o.allow & VIEW) === 0n || (o.deny & SEND) !== 0n) continue;
      target.set(o.id, { ...o, allow: o.allow & ~SEND, deny: o.deny | SEND });
      restricted.push(o.id);
    }
    if (wantHolder) {
      const own = target.get(wantHolder);
      if (own)
        target.set(wantHolder, { ...own, allow: own.allow | SEND | VIEW, deny: own.deny & ~(SEND | VIEW) });
      else {
        target.set(wantHolder, {
          id: wantHolder,
          type: OverwriteType.Member,
          allow: CLAIMER_ALLOW,
          deny: 0n,
        });
        addedMember = wantHolder;
      }
    }
  }
  const reason = (
    wantLocked
      ? `GameMod: ticket #${t.number} claimed; only the claimer and the player write`
      : `GameMod: ticket #${t.number} no longer claimed; staff write again`
  ).slice(0, 512);
  // The claimer's own overwrite first, so the claimer is never locked out between two calls.
  const order = [...target].sort(([a], [b]) => Number(b === wantHolder) - Number(a === wantHolder));
  for (const [oid, o] of order) {
    const was = current.get(oid);
    if (was && was.allow === o.allow && was.deny === o.deny) continue;
    await rest.put(Routes.channelPermission(channelId, oid), {
      body: { type: o.type, allow: String(o.allow), deny: String(o.deny) },
      reason,
      ...x,
    });
  }
  for (const oid of current.keys()) {
    if (!target.has(oid)) await rest.delete(Routes.channelPermission(channelId, oid), { reason, ...x });
  }
  await withTenant(deps.pool, orgId, (tx) =>
    recordClaimLock(tx, t.id, claim, { locked: wantLocked, holder: wantHolder, restricted, addedMember }),
  );
}
