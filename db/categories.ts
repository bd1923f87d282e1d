import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { type Actor, changedAny, diffChanges, recordChange } from './changes.js';
import { id } from './schemas.js';
import type { Tx } from './tenant.js';
import { parseInput } from './validate.js';

/**
 * Ticket categories and their intake questions. A Discord modal holds at most five inputs, so a
 * category asks at most five questions; labels follow Discord's text input limits.
 */
export const questionSchema = z
  .object({
    /** The modal input's custom id and the answer's key in the ticket's custom fields. */
    key: z
      .string()
      .trim()
      .toLowerCase()
      .regex(/^[a-z0-9][a-z0-9_]{0,39}$/, 'letters, digits and _, at most 40'),
    label: z.string().trim().min(1).max(45),
    style: z.enum(['short', 'paragraph']).default('short'),
    required: z.boolean().default(true),
    placeholder: z.string().trim().max(100).optional(),
    minLength: z.number().int().min(0).max(4000).optional(),
    maxLength: z.number().int().min(1).max(4000).optional(),
  })
  .refine((q) => q.minLength === undefined || q.maxLength === undefined || q.minLength <= q.maxLength, {
    message: 'minLength is above maxLength',
  });
export type Question = z.infer<typeof questionSchema>;

const questions = z
  .array(questionSchema)
  .max(5, 'a Discord form holds at most 5 questions')
  .refine((qs) => new Set(qs.map((q) => q.key)).size === qs.length, {
    message: 'question keys must be unique',
  });

export const createCategoryInput = z.object({
  name: z.string().trim().min(1).max(100),
  description: z.string().trim().max(500).optional(),
  emoji: z.string().trim().min(1).max(64).optional(),
  questions: questions.default([]),
  teamId: id.optional(),
  ticketMode: z.enum(['thread', 'forum', 'channel']).default('thread'),
  position: z.number().int().min(0).max(1000).default(0),
});

export const updateCategoryInput = z
  .object({
    name: z.string().trim().min(1).max(100).optional(),
    description: z.string().trim().max(500).nullable().optional(),
    emoji: z.string().trim().min(1).max(64).nullable().optional(),
    questions: questions.optional(),
    teamId: id.nullable().optional(),
    ticketMode: z.enum(['thread', 'forum', 'channel']).optional(),
    position: z.number().int().min(0).max(1000).optional(),
  })
  .refine((v) => Object.values(v).some((x) => x !== undefined), { message: 'nothing to change' });

/**
 * The outbox event of every category change: what a category offers (name, description, form,
 * whether it is offered at all) shows on the panels the bot posted, which the workers'
 * `discord.panel_sync` edits in place.
 */
export const CATEGORY_CHANGED = 'category.changed';
const changed = (categoryId: string, change: string) => ({
  type: CATEGORY_CHANGED,
  aggregateType: 'category',
  aggregateId: categoryId,
  payload: { categoryId, change },
});

export interface Category {
  id: string;
  name: string;
  description: string | null;
  emoji: string | null;
  questions: Question[];
  teamId: string | null;
  ticketMode: 'thread' | 'forum' | 'channel';
  position: number;
  archivedAt: Date | null;
}

const COLUMNS = `id, name, description, emoji, questions, team_id as "teamId", ticket_mode as "ticketMode", position,
  archived_at as "archivedAt"`;

export async function createCategory(
  tx: Tx,
  raw: z.input<typeof createCategoryInput>,
  actor: Actor,
): Promise<Category> {
  const input = parseInput(createCategoryInput, raw);
  const r = await tx.query<Category>(
    `insert into ticket_categories (org_id, name, description, emoji, questions, team_id, ticket_mode, position)
     values ($1::uuid, $2::text, $3::text, $4::text, $5::jsonb, $6::uuid, $7::text, $8::int) returning ${COLUMNS}`,
    [
      tx.orgId,
      input.name,
      input.description ?? null,
      input.emoji ?? null,
      JSON.stringify(input.questions),
      input.teamId ?? null,
      input.ticketMode,
      input.position,
    ],
  );
  const category = r.rows[0] as Category;
  await recordChange(tx, actor, {
    action: 'category.created',
    target: { type: 'category', id: category.id },
    data: { name: category.name },
    event: changed(category.id, 'created'),
  });
  return category;
}

export async function updateCategory(
  tx: Tx,
  categoryId: string,
  raw: z.input<typeof updateCategoryInput>,
  actor: Actor,
): Promise<Category> {
  const input = parseInput(updateCategoryInput, raw);
  const b = await tx.query<Category>(
    `select ${COLUMNS} from ticket_categories where id = $1::uuid for update`,
    [parseInput(id, categoryId)],
  );
  const before = b.rows[0];
  if (!before) throw new AppError('not_found', 'category not found');
  const r = await tx.query<Category>(
    `update ticket_categories set
       name = coalesce($2::text, name),
       description = case when $3::boolean then $4::text else description end,
       emoji = case when $5::boolean then $6::text else emoji end,
       questions = coalesce($7::jsonb, questions),
       team_id = case when $8::boolean then $9::uuid else team_id end,
       ticket_mode = coalesce($10::text, ticket_mode),
       position = coalesce($11::int, position)
     where id = $1::uuid returning ${COLUMNS}`,
    [
      parseInput(id, categoryId),
      input.name ?? null,
      input.description !== undefined,
      input.description ?? null,
      input.emoji !== undefined,
      input.emoji ?? null,
      input.questions ? JSON.stringify(input.questions) : null,
      input.teamId !== undefined,
      input.teamId ?? null,
      input.ticketMode ?? null,
      input.position ?? null,
    ],
  );
  const category = r.rows[0] as Category;
  const changes = diffChanges(before, category, [
    'name',
    'description',
    'emoji',
    'questions',
    'teamId',
    'ticketMode',
    'position',
  ]);
  // Nothing changed: no entry, and no panel to bring up to date.
  if (changedAny(changes)) {
    await recordChange(tx, actor, {
      action: 'category.updated',
      target: { type: 'category', id: category.id },
      data: { changes },
      event: changed(category.id, 'updated'),
    });
  }
  return category;
}

/** Archived categories keep their tickets but are no longer offered. */
export async function archiveCategory(tx: Tx, categoryId: string, actor: Actor): Promise<void> {
  const r = await tx.query(
    'update ticket_categories set archived_at = coalesce(archived_at, now()) where id = $1::uuid',
    [parseInput(id, categoryId)],
  );
  if (!r.rowCount) throw new AppError('not_found', 'category not found');
  await recordChange(tx, actor, {
    action: 'category.archived',
    target: { type: 'category', id: categoryId },
    event: changed(categoryId, 'archived'),
  });
}

/**
 * Rows written before today's checks (the first demo seed stored questions without a key) are
 * read as the form needs them: a missing or malformed key comes from the label, unique within the
 * category, so listing categories never fails on old data.
 */
function readable(c: Category): Category {
  const seen = new Set<string>();
  const questions = (Array.isArray(c.questions) ? c.questions : []).map((q, i) => {
    const valid = typeof q.key === 'string' && /^[a-z0-9][a-z0-9_]{0,39}$/.test(q.key);
    let key = valid
      ? q.key
      : String(q.label ?? '')
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '_')
          .replace(/^_+|_+$/g, '')
          .slice(0, 36) || `q${i + 1}`;
    if (!/^[a-z0-9]/.test(key)) key = `q${key}`.slice(0, 40);
    while (seen.has(key)) key = `${key.slice(0, 36)}_${i + 1}`;
    seen.add(key);
    return { ...q, key, style: q.style ?? 'short', required: q.required ?? true };
  });
  return { ...c, questions };
}

export async function getCategory(tx: Tx, categoryId: string): Promise<Category> {
  const r = await tx.query<Category>(`select ${COLUMNS} from ticket_categories where id = $1::uuid`, [
    parseInput(id, categoryId),
  ]);
  if (!r.rows[0]) throw new AppError('not_found', 'category not found');
  return readable(r.rows[0]);
}

export async function listCategories(tx: Tx, opts: { includeArchived?: boolean } = {}): Promise<Category[]> {
  const r = await tx.query<Category>(
    `select ${COLUMNS} from ticket_categories where org_id = $1::uuid and ($2::boolean or archived_at is null)
     order by position, name`,
    [tx.orgId, opts.includeArchived ?? false],
  );
  return r.rows.map(readable);
}

/** Finds an active category by exact (case-insensitive) name: what a slash command option carries. */
export async function findCategoryByName(tx: Tx, name: string): Promise<Category | undefined> {
  const r = await tx.query<Category>(
    `select ${COLUMNS} from ticket_categories where org_id = $1::uuid and archived_at is null
     and lower(name) = lower($2::text) order by position limit 1`,
    [tx.orgId, name.trim()],
  );
  return r.rows[0] && readable(r.rows[0]);
}
