import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, recordChange } from './changes.js';
import { mapDbError } from './errors.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/** News a studio shows inside its game (fetched by the SDKs with an ETag). */
export interface Announcement {
  id: string;
  gameId: string;
  title: string;
  body: string;
  publishedAt: Date;
  expiresAt: Date | null;
}

const COLUMNS = `id, game_id as "gameId", title, body, published_at as "publishedAt", expires_at as "expiresAt"`;

export const announcementInput = z.object({
  title: z.string().trim().min(1).max(200),
  body: z.string().trim().min(1).max(4000),
  expiresAt: z.coerce
    .date()
    .refine((d) => d.getTime() > Date.now(), 'must be in the future')
    .optional(),
});

/**
 * Publishes an announcement. Staff are audited like any settings change; a game server's
 * secret (`keyId`) is recorded on the row and in the audit as the system acting for it.
 */
export async function publishAnnouncement(
  tx: Tx,
  gameId: string,
  raw: z.input<typeof announcementInput>,
  actor: Actor,
  keyId?: string,
): Promise<Announcement> {
  const input = parseInput(announcementInput, raw);
  const r = await tx
    .query<Announcement>(
      `insert into game_announcements (org_id, game_id, title, body, expires_at, created_by, created_by_key)
       values ($1::uuid, $2::uuid, $3::text, $4::text, $5::timestamptz, $6::uuid, $7::uuid) returning ${COLUMNS}`,
      [
        tx.orgId,
        parseInput(id, gameId),
        input.title,
        input.body,
        input.expiresAt ?? null,
        actor.type === 'user' ? actor.id : null,
        keyId ?? null,
      ],
    )
    .catch((err) => {
      const e = mapDbError(err);
      throw e.code === 'not_found' ? new AppError('not_found', 'game not found') : e;
    });
  const a = r.rows[0] as Announcement;
  await recordChange(tx, actor, {
    action: 'announcement.published',
    target: { type: 'game', id: a.gameId },
    data: { announcementId: a.id, title: a.title, ...(keyId ? { keyId } : {}) },
  });
  return a;
}

/** The game's announcements not yet expired, newest first (at most 20). */
export async function currentAnnouncements(tx: Tx, gameId: string): Promise<Announcement[]> {
  const r = await tx.query<Announcement>(
    `select ${COLUMNS} from game_announcements
      where org_id = $1::uuid and game_id = $2::uuid and published_at <= now()
        and (expires_at is null or expires_at > now())
      order by published_at desc, id limit 20`,
    [tx.orgId, parseInput(id, gameId)],
  );
  return r.rows;
}

/** Takes an announcement down at once. */
export async function deleteAnnouncement(tx: Tx, gameId: string, announcementId: string, actor: Actor) {
  const r = await tx.query<{ title: string }>(
    `delete from game_announcements where org_id = $1::uuid and game_id = $2::uuid and id = $3::uuid
     returning title`,
    [tx.orgId, parseInput(id, gameId), parseInput(id, announcementId)],
  );
  if (!r.rows[0]) throw new AppError('not_found', 'announcement not found');
  await recordChange(tx, actor, {
    action: 'announcement.deleted',
    target: { type: 'game', id: gameId },
    data: { announcementId, title: r.rows[0].title },
  });
}
