import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { refuse } from '../lib/i18n/refusal.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/** Canned replies ("macros"): a shortcut, a title and a body with `{variables}`. */
export interface CannedReply {
  id: string;
  shortcut: string;
  title: string;
  body: string;
  teamId: string | null;
}

const COLUMNS = `id, shortcut, title, body, team_id as "teamId"`;

const shortcut = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9][a-z0-9_-]{0,49}$/, 'letters, digits, - and _, at most 50');

export const createCannedInput = z.object({
  shortcut,
  title: z.string().trim().min(1).max(100),
  body: z.string().trim().min(1).max(2000),
  teamId: id.optional(),
});

export const updateCannedInput = z
  .object({
    title: z.string().trim().min(1).max(100).optional(),
    body: z.string().trim().min(1).max(2000).optional(),
    teamId: id.nullable().optional(),
  })
  .refine((v) => v.title !== undefined || v.body !== undefined || v.teamId !== undefined, {
    message: 'nothing to change',
  });

export async function createCannedReply(
  tx: Tx,
  raw: z.input<typeof createCannedInput>,
  actor: Actor,
): Promise<CannedReply> {
  const input = parseInput(createCannedInput, raw);
  const r = await tx
    .query<CannedReply>(
      `insert into canned_replies (org_id, shortcut, title, body, team_id, created_by)
     values ($1::uuid, $2::text, $3::text, $4::text, $5::uuid, $6::uuid) returning ${COLUMNS}`,
      [
        tx.orgId,
        input.shortcut,
        input.title,
        input.body,
        input.teamId ?? null,
        actor.type === 'user' ? actor.id : null,
      ],
    )
    .catch((err: unknown) => {
      if ((err as { constraint?: string }).constraint === 'canned_replies_org_id_shortcut_key')
        throw new AppError('conflict', `a canned reply with the shortcut "${input.shortcut}" already exists`);
      throw err;
    });
  const reply = r.rows[0] as CannedReply;
  await recordChange(tx, actor, {
    action: 'canned_reply.created',
    target: { type: 'canned_reply', id: reply.id },
    data: { shortcut: reply.shortcut },
  });
  return reply;
}

export async function updateCannedReply(
  tx: Tx,
  replyId: string,
  raw: z.input<typeof updateCannedInput>,
  actor: Actor,
): Promise<CannedReply> {
  const input = parseInput(updateCannedInput, raw);
  const b = await tx.query<CannedReply>(
    `select ${COLUMNS} from canned_replies where id = $1::uuid for update`,
    [parseInput(id, replyId)],
  );
  const before = b.rows[0];
  if (!before) throw new AppError('not_found', 'canned reply not found');
  const r = await tx.query<CannedReply>(
    `update canned_replies set title = coalesce($2::text, title), body = coalesce($3::text, body),
       team_id = case when $4::boolean then $5::uuid else team_id end
     where id = $1::uuid returning ${COLUMNS}`,
    [
      parseInput(id, replyId),
      input.title ?? null,
      input.body ?? null,
      input.teamId !== undefined,
      input.teamId ?? null,
    ],
  );
  const reply = r.rows[0] as CannedReply;
  const changes = diffChanges(before, reply, ['title', 'body', 'teamId']);
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'canned_reply.updated',
      target: { type: 'canned_reply', id: reply.id },
      data: { shortcut: reply.shortcut, changes },
    });
  }
  return reply;
}

export async function deleteCannedReply(tx: Tx, replyId: string, actor: Actor): Promise<void> {
  const r = await tx.query('delete from canned_replies where id = $1::uuid', [parseInput(id, replyId)]);
  if (!r.rowCount) throw new AppError('not_found', 'canned reply not found');
  await recordChange(tx, actor, {
    action: 'canned_reply.deleted',
    target: { type: 'canned_reply', id: replyId },
  });
}

export async function listCannedReplies(tx: Tx, opts: { search?: string } = {}): Promise<CannedReply[]> {
  const r = await tx.query<CannedReply>(
    `select ${COLUMNS} from canned_replies where org_id = $1::uuid
     and ($2::text is null or shortcut like $2::text || '%' or title ilike '%' || $2::text || '%')
     order by shortcut limit 25`,
    [tx.orgId, opts.search?.trim().toLowerCase() || null],
  );
  return r.rows;
}

export async function getCannedReply(tx: Tx, shortcutOrId: string): Promise<CannedReply> {
  const isId = id.safeParse(shortcutOrId).success;
  const r = await tx.query<CannedReply>(
    `select ${COLUMNS} from canned_replies where org_id = $1::uuid and ${isId ? 'id = $2::uuid' : 'shortcut = $2::text'}`,
    [tx.orgId, isId ? shortcutOrId : shortcutOrId.trim().toLowerCase()],
  );
  if (!r.rows[0]) throw refuse('not_found', 'deny.cannedUnknown', { name: shortcutOrId });
  return r.rows[0];
}

/** The values a canned reply can use, e.g. "Hi {player}, about ticket #{ticket}". */
export interface CannedVariables {
  player?: string;
  ticket?: number | string;
  subject?: string;
  agent?: string;
  category?: string;
}

/**
 * Fills `{player}`, `{ticket}`, `{subject}`, `{agent}` and `{category}`. Unknown or missing
 * variables stay as written, so a typo is visible instead of silently blank.
 */
export function renderCannedReply(body: string, vars: CannedVariables): string {
  return body.replace(/\{(player|ticket|subject|agent|category)\}/g, (whole, name: keyof CannedVariables) => {
    const v = vars[name];
    return v === undefined || v === '' ? whole : String(v);
  });
}
