import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { DiscordAPIError } from '@discordjs/rest';
import {
  claimPendingExports,
  finishPlayerExport,
  orgsWithPrivacyWork,
  pendingDiscordErasures,
  pendingStorageErasures,
  playerDossier,
  playerFiles,
  settleDiscordErasure,
  settleStorageErasure,
} from '../db/player-privacy.js';
import { withTenant } from '../db/tenant.js';
import { deleteMessage } from '../lib/discord/rest.js';
import type { Storage } from '../lib/storage/index.js';
import type { WorkerDeps } from './deps.js';
import { tarEntries } from './tar.js';

/** How often the sweep looks for exports to build, and Discord messages and stored files to delete. */
export const PRIVACY_SWEEP_EVERY_MS = 30_000;
/** Attempts before an export is marked failed or a Discord deletion given up. */
export const PRIVACY_ATTEMPTS = 5;

export const exportKey = (orgId: string, exportId: string) => `exports/${orgId}/${exportId}.tar.gz`;

/**
 * Builds one player's archive into storage: `player.json` (every table's rows about them, as
 * db/player-privacy.ts reads them) and `files/<id>-<name>` for each stored file, as a gzipped tar,
 * streamed so a player with many files never sits in memory whole.
 */
export async function buildPlayerArchive(
  deps: Pick<WorkerDeps, 'pool'> & { storage: Storage },
  orgId: string,
  exp: { id: string; playerId: string },
): Promise<{ storageKey: string; sizeBytes: number }> {
  const { dossier, files } = await withTenant(deps.pool, orgId, async (tx) => ({
    dossier: await playerDossier(tx, exp.playerId),
    files: await playerFiles(tx, exp.playerId),
  }));
  const storage = deps.storage;
  async function* entries() {
    const json = Buffer.from(
      JSON.stringify({ exportId: exp.id, playerId: exp.playerId, tables: dossier }, null, 2),
    );
    yield { name: 'player.json', size: json.length, body: Readable.from([json]) };
    for (const f of files) {
      try {
        const obj = await storage.get(f.storageKey);
        yield { name: `files/${f.id}-${f.filename}`, size: obj.size, body: obj.body };
      } catch {
        // A file whose object is gone (a retention run raced the export): listed in player.json only.
      }
    }
  }
  const key = exportKey(orgId, exp.id);
  const put = await storage.put(key, Readable.from(tarEntries(entries())).pipe(createGzip()), {
    contentType: 'application/gzip',
  });
  return { storageKey: key, sizeBytes: put.size };
}

const discordCode = (err: unknown) => (err instanceof DiscordAPIError ? Number(err.code) : undefined);
// Unknown message or channel: already gone. Missing access or permissions: Discord won't allow it.
const GONE = new Set([10003, 10008]);
const REFUSED = new Set([50001, 50013]);

/** One organization's pending privacy work: exports first (a person waits on them), then stored files, then Discord. */
export async function privacyWorkForOrg(
  deps: WorkerDeps,
  orgId: string,
): Promise<{ exports: number; discord: number; files: number }> {
  let exports = 0;
  let discord = 0;
  const claimed = await withTenant(deps.pool, orgId, (tx) => claimPendingExports(tx));
  for (const exp of claimed as Array<(typeof claimed)[number] & { attempts?: number }>) {
    let outcome: { storageKey: string; sizeBytes: number } | { error: string } | null;
    if (!deps.storage) outcome = { error: 'no storage is configured for exports' };
    else {
      try {
        outcome = await buildPlayerArchive({ pool: deps.pool, storage: deps.storage }, orgId, exp);
      } catch (err) {
        deps.logger.warn({ orgId, exportId: exp.id, err: (err as Error).message }, 'player export failed');
        outcome = (exp.attempts ?? 0) >= PRIVACY_ATTEMPTS ? { error: (err as Error).message } : null;
      }
    }
    if (outcome) {
      const done = outcome;
      await withTenant(deps.pool, orgId, (tx) => finishPlayerExport(tx, exp.id, done));
      exports++;
    }
  }
  const files = await eraseStoredFiles(deps, orgId);
  if (!deps.discord) return { exports, discord, files };
  const rest = deps.discord;
  // Locked for the length of the batch: a second sweep skips these rows instead of deleting twice.
  await withTenant(deps.pool, orgId, async (tx) => {
    for (const e of await pendingDiscordErasures(tx)) {
      try {
        await deleteMessage(rest, e.channelId, e.messageId, 'GameMod: player data erased', {
          ...(deps.shutdown ? { signal: deps.shutdown } : {}),
        });
        await settleDiscordErasure(tx, e.id, 'deleted');
        discord++;
      } catch (err) {
        const code = discordCode(err);
        if (code !== undefined && GONE.has(code)) await settleDiscordErasure(tx, e.id, 'deleted');
        else if ((code !== undefined && REFUSED.has(code)) || e.attempts + 1 >= PRIVACY_ATTEMPTS) {
          await settleDiscordErasure(tx, e.id, 'refused');
        } else await settleDiscordErasure(tx, e.id, { retry: (err as Error).message });
      }
    }
  });
  return { exports, discord, files };
}

/**
 * Deletes the stored objects of erased players (queued by the erase's transaction). Locked for
 * the batch, retried on a later sweep when storage fails, given up after PRIVACY_ATTEMPTS with the
 * error kept for an operator; a delete of an object already gone succeeds.
 */
async function eraseStoredFiles(deps: WorkerDeps, orgId: string): Promise<number> {
  const storage = deps.storage;
  if (!storage) return 0;
  return withTenant(deps.pool, orgId, async (tx) => {
    let n = 0;
    for (const e of await pendingStorageErasures(tx)) {
      try {
        await storage.delete(e.storageKey);
        await settleStorageErasure(tx, e.id, 'deleted');
        n++;
      } catch (err) {
        const message = (err as Error).message;
        deps.logger.warn(
          { orgId, key: e.storageKey, err: message },
          'erase could not delete a stored object',
        );
        await settleStorageErasure(tx, e.id, { error: message, final: e.attempts + 1 >= PRIVACY_ATTEMPTS });
      }
    }
    return n;
  });
}

/** The scheduled sweep over the organizations that have privacy work waiting. */
export async function privacySweep(
  deps: WorkerDeps,
): Promise<{ exports: number; discord: number; files: number }> {
  const total = { exports: 0, discord: 0, files: 0 };
  for await (const orgId of orgsWithPrivacyWork(deps.pool)) {
    if (deps.shutdown?.aborted) break;
    const n = await privacyWorkForOrg(deps, orgId);
    total.exports += n.exports;
    total.discord += n.discord;
    total.files += n.files;
  }
  if (total.exports || total.discord || total.files) deps.logger.info(total, 'privacy work done');
  return total;
}
