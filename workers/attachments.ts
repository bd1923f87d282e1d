import http from 'node:http';
import https from 'node:https';
import {
  type Attachment,
  type CopyMark,
  linkedOnlyPerList,
  MAX_ATTACHMENT_BYTES,
  markCopies,
} from '../db/attachments.js';
import { withTenant } from '../db/tenant.js';
import { isAppError } from '../lib/errors.js';
import { counter } from '../lib/metrics.js';
import { guardedLookup } from '../lib/ssrf.js';
import type { Storage } from '../lib/storage/index.js';
import { batcher, perGroup } from './batcher.js';
import type { WorkerDeps } from './deps.js';
import type { JobData } from './jobs.js';

/**
 * Copies files that players and staff attached on Discord into our storage. The bot records
 * them with Discord's CDN link only (answering Discord comes first), and those links expire
 * about a day later: after the copy, the API (and so the panel) serves our copy.
 *
 * Only links on Discord's file hosts are fetched (`discordFileHosts`: its CDN, plus the host of a
 * configured DISCORD_API_URL such as a proxy), through the outgoing-address guard. A copy is
 * stored under a key derived from the attachment id, so a job that runs twice writes the same
 * object and the row is updated once.
 *
 * Jobs running at once share their database work per organization (`batcher.ts`): their reads of
 * the rows go in one transaction, and so do the marks of the files they copied, instead of two
 * transactions per file. A failed batch fails the jobs in it, which BullMQ retries.
 */

/** Discord's own file hosts; `discordFileHosts` adds the host of a non-default API URL. */
const DISCORD_FILE_HOSTS = ['cdn.discordapp.com', 'media.discordapp.net'];

export function discordFileHosts(apiUrl: string): ReadonlySet<string> {
  const host = new URL(apiUrl).host;
  return new Set(host === 'discord.com' ? DISCORD_FILE_HOSTS : [...DISCORD_FILE_HOSTS, host]);
}

export const attachmentKey = (orgId: string, attachmentId: string) =>
  `orgs/${orgId}/attachments/${attachmentId}`;

const copies = counter('gamemod_attachment_copies_total', 'Discord attachments copied into storage', [
  'outcome',
]);

const FETCH_TIMEOUT_MS = 60_000;

type Outcome = 'copied' | 'already' | 'gone' | 'refused' | 'too_large';

/** A failure that retrying won't fix: the job records it and moves on. */
class Permanent extends Error {
  constructor(
    readonly outcome: Exclude<Outcome, 'copied' | 'already'>,
    message: string,
  ) {
    super(message);
  }
}

type Copy = { orgId: string; attachmentId: string; storageKey: string; sizeBytes: number; sha256: string };

interface CopyBatchers {
  read: (job: { orgId: string; attachmentIds: readonly string[] }) => Promise<Attachment[]>;
  mark: (copy: Copy) => Promise<CopyMark>;
}

const batchers = new WeakMap<WorkerDeps, CopyBatchers>();

function batchersFor(deps: WorkerDeps): CopyBatchers {
  let b = batchers.get(deps);
  if (!b) {
    b = {
      read: batcher((jobs: Array<{ orgId: string; attachmentIds: readonly string[] }>) =>
        perGroup(
          jobs,
          (j) => j.orgId,
          (orgId, js) =>
            withTenant(deps.pool, orgId, (tx) =>
              linkedOnlyPerList(
                tx,
                js.map((j) => j.attachmentIds),
              ),
            ),
        ),
      ),
      mark: batcher((copies: Copy[]) =>
        perGroup(
          copies,
          (c) => c.orgId,
          (orgId, cs) => withTenant(deps.pool, orgId, (tx) => markCopies(tx, cs)),
        ),
      ),
    };
    batchers.set(deps, b);
  }
  return b;
}

export async function copyAttachments(
  deps: WorkerDeps,
  data: JobData<'attachment.copy'>,
): Promise<Record<string, Outcome>> {
  const { storage } = deps;
  const out: Record<string, Outcome> = {};
  if (!storage) return out;
  const { read, mark } = batchersFor(deps);
  const pending = await read({ orgId: data.orgId, attachmentIds: data.attachmentIds });
  for (const a of pending) {
    try {
      const stored = await fetchInto(deps, storage, data.orgId, a);
      const marked = await mark({ orgId: data.orgId, attachmentId: a.id, ...stored });
      // Its row was erased or purged while the file came: the copy would outlive it.
      if (marked === 'gone') await storage.delete(stored.storageKey);
      out[a.id] = marked;
    } catch (err) {
      if (!(err instanceof Permanent)) throw err;
      out[a.id] = err.outcome;
      deps.logger.warn(
        { orgId: data.orgId, attachmentId: a.id, outcome: err.outcome },
        `Discord attachment not copied: ${err.message}`,
      );
    }
    copies.inc({ outcome: out[a.id] });
  }
  return out;
}

/** Streams one linked file into storage; throws `Permanent` for what retrying can't fix. */
async function fetchInto(
  deps: WorkerDeps,
  storage: Storage,
  orgId: string,
  a: Attachment,
): Promise<{ storageKey: string; sizeBytes: number; sha256: string }> {
  let url: URL;
  try {
    url = new URL(a.externalUrl ?? '');
  } catch {
    throw new Permanent('refused', 'the link is not a URL');
  }
  if (!deps.discordFileHosts.has(url.host) || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    throw new Permanent('refused', `${url.protocol}//${url.host} is not one of Discord's file hosts`);
  }
  const res = await get(url, deps);
  const status = res.statusCode ?? 0;
  if (status !== 200) {
    res.resume();
    // Deleted on Discord, or the signed link expired before we got to it: nothing to wait for.
    if (status === 403 || status === 404 || status === 410) {
      throw new Permanent('gone', `Discord answered ${status}`);
    }
    throw new Error(`Discord's file host answered ${status}`);
  }
  const declared = Number(res.headers['content-length']);
  const key = attachmentKey(orgId, a.id);
  try {
    const stored = await storage.put(key, res, {
      contentType: a.contentType,
      maxBytes: MAX_ATTACHMENT_BYTES,
      ...(Number.isSafeInteger(declared) && declared >= 0 ? { contentLength: declared } : {}),
    });
    return { storageKey: key, sizeBytes: stored.size, sha256: stored.sha256 };
  } catch (err) {
    res.destroy();
    if (isAppError(err) && err.code === 'payload_too_large') throw new Permanent('too_large', err.message);
    throw err;
  }
}

function get(url: URL, deps: WorkerDeps): Promise<http.IncomingMessage> {
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.get(
      url,
      {
        headers: { 'user-agent': 'GameMod-Attachments/1' },
        lookup: guardedLookup(deps.webhookTargets) as never,
        ...(deps.shutdown ? { signal: deps.shutdown } : {}),
      },
      resolve,
    );
    req.setTimeout(FETCH_TIMEOUT_MS, () => req.destroy(new Error('Discord file host timed out')));
    req.on('error', reject);
  });
}
