import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { id, tag } from './schemas.js';
import type { Tx } from './tenant.js';
import { ORIGINS, PRIORITIES, STATUSES, type Status } from './ticket-rules.js';
import { TICKET_COLUMNS, type Ticket } from './tickets.js';
import { parseInput } from './validate.js';

/**
 * The inbox query behind the panel and the REST API: every filter, Postgres full-text search
 * over subjects and messages, four sort orders and keyset cursors (stable under inserts, no
 * OFFSET scans). The cursor carries the sort key as Postgres text so no precision is lost.
 */
export const SLA_STATES = ['breached', 'due_soon', 'on_track', 'none'] as const;
export const SORTS = ['updated', 'created', 'number', 'priority'] as const;

const csv = <T extends z.ZodType>(item: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' ? v.split(',').filter(Boolean) : v),
    z.array(item).min(1).max(20),
  );
const when = z.coerce.date();

export const searchInput = z.object({
  q: z.string().trim().min(1).max(200).optional(),
  status: csv(z.enum(STATUSES)).optional(),
  priority: csv(z.enum(PRIORITIES)).optional(),
  /** A user id, or `none` for unassigned tickets. */
  assignee: z.union([id, z.literal('none')]).optional(),
  team: id.optional(),
  tag: tag.optional(),
  category: id.optional(),
  source: csv(z.enum(ORIGINS)).optional(),
  game: id.optional(),
  requester: id.optional(),
  createdFrom: when.optional(),
  createdTo: when.optional(),
  updatedFrom: when.optional(),
  updatedTo: when.optional(),
  sla: z.enum(SLA_STATES).optional(),
  sort: z.enum(SORTS).default('updated'),
  order: z.enum(['asc', 'desc']).default('desc'),
  after: z.string().max(300).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(25),
});
export type SearchInput = z.input<typeof searchInput>;

// The sort key as an expression and its SQL type, for the keyset comparison.
const SORT_KEYS: Record<(typeof SORTS)[number], { expr: string; type: string }> = {
  updated: { expr: 't.updated_at', type: 'timestamptz' },
  created: { expr: 't.created_at', type: 'timestamptz' },
  number: { expr: 't.number', type: 'bigint' },
  priority: {
    expr: `(case t.priority when 'urgent' then 4 when 'high' then 3 when 'normal' then 2 else 1 end)`,
    type: 'int',
  },
};
/** How close to its due time an SLA counts as "due soon". */
const DUE_SOON = '1 hour';

const badCursor = () =>
  new AppError('validation_failed', 'invalid cursor', {
    details: [{ path: 'after', message: 'invalid cursor' }],
  });

function decodeCursor(c: string, sort: string): [string, string] {
  const [s, key, tid] = Buffer.from(c, 'base64url').toString().split('|');
  if (s !== sort || !key || key.length > 60 || !tid || !id.safeParse(tid).success) throw badCursor();
  return [key, tid];
}

/** A ticket as the inbox lists it: with the names a list shows, so it needs no second fetch. */
export type TicketListItem = Ticket & { requesterName: string | null; assigneeName: string | null };

export async function searchTickets(
  tx: Tx,
  raw: SearchInput = {},
): Promise<{ tickets: TicketListItem[]; next: string | null }> {
  const f = parseInput(searchInput, raw);
  const key = SORT_KEYS[f.sort];
  const [afterKey, afterId] = f.after ? decodeCursor(f.after, f.sort) : [null, null];
  const cmp = f.order === 'desc' ? '<' : '>';
  const r = await tx
    .query<TicketListItem & { cursorKey: string }>(
      `select ${TICKET_COLUMNS}, ${key.expr}::text as "cursorKey",
       (select p.display_name from player_profiles p where p.org_id = t.org_id and p.id = t.requester_id) as "requesterName",
       (select u.display_name from users u where u.id = t.assignee_id) as "assigneeName"
     from tickets t
     where t.org_id = $1::uuid
       and ($2::text[] is null or t.status = any($2::text[]))
       and ($3::text[] is null or t.priority = any($3::text[]))
       and ($4::text is null or ($4::text = 'none' and t.assignee_id is null) or t.assignee_id::text = $4::text)
       and ($5::uuid is null or t.team_id = $5::uuid)
       and ($6::text is null or t.tags @> array[$6::text])
       and ($7::uuid is null or t.category_id = $7::uuid)
       and ($8::text[] is null or t.origin = any($8::text[]))
       and ($9::uuid is null or t.game_id = $9::uuid)
       and ($10::uuid is null or t.requester_id = $10::uuid)
       and ($11::timestamptz is null or t.created_at >= $11::timestamptz)
       and ($12::timestamptz is null or t.created_at < $12::timestamptz)
       and ($13::timestamptz is null or t.updated_at >= $13::timestamptz)
       and ($14::timestamptz is null or t.updated_at < $14::timestamptz)
       and (case $15::text
              when 'breached' then t.sla_breached_at is not null
              when 'due_soon' then t.sla_breached_at is null and t.sla_due_at < now() + interval '${DUE_SOON}'
              when 'on_track' then t.sla_breached_at is null and t.sla_due_at >= now() + interval '${DUE_SOON}'
              when 'none' then t.sla_due_at is null and t.sla_breached_at is null
              else true end)
       and ($16::text is null
            or t.search @@ websearch_to_tsquery('simple', $16::text)
            or exists (select 1 from messages m
                       where m.org_id = t.org_id and m.ticket_id = t.id and m.deleted_at is null
                         and m.search @@ websearch_to_tsquery('simple', $16::text)))
       and ($17::text is null or (${key.expr}, t.id) ${cmp} ($17::${key.type}, $18::uuid))
     order by ${key.expr} ${f.order}, t.id ${f.order}
     limit $19::int`,
      [
        tx.orgId,
        f.status ?? null,
        f.priority ?? null,
        f.assignee ?? null,
        f.team ?? null,
        f.tag ?? null,
        f.category ?? null,
        f.source ?? null,
        f.game ?? null,
        f.requester ?? null,
        f.createdFrom ?? null,
        f.createdTo ?? null,
        f.updatedFrom ?? null,
        f.updatedTo ?? null,
        f.sla ?? null,
        f.q ?? null,
        afterKey,
        afterId,
        f.limit + 1,
      ],
    )
    .catch((err: { code?: string }) => {
      // 22P02/22007/22008: the cursor's key did not parse as the sort key's type.
      if (err.code === '22P02' || err.code === '22007' || err.code === '22008') throw badCursor();
      throw err;
    });
  const page = r.rows.slice(0, f.limit);
  const last = page.at(-1);
  const tickets = page.map(({ cursorKey: _, ...t }) => t);
  const next =
    r.rows.length > f.limit && last
      ? Buffer.from(`${f.sort}|${last.cursorKey}|${last.id}`).toString('base64url')
      : null;
  return { tickets, next };
}

export interface TicketCounts {
  /** Every status, zero included. */
  byStatus: Record<Status, number>;
  unassigned: number;
  mine: number;
  breached: number;
}

/** The inbox sidebar's numbers: tickets per status, unassigned and mine among the unsolved, SLA breaches. */
export async function ticketCounts(tx: Tx, userId: string | null): Promise<TicketCounts> {
  const r = await tx.query<{ status: string; n: number; unassigned: number; mine: number; breached: number }>(
    `select status, count(*)::int as n,
       count(*) filter (where assignee_id is null)::int as unassigned,
       count(*) filter (where assignee_id = $2::uuid)::int as mine,
       count(*) filter (where sla_breached_at is not null)::int as breached
     from tickets where org_id = $1::uuid and merged_into_id is null group by status`,
    [tx.orgId, userId],
  );
  const working = r.rows.filter((x) => x.status !== 'solved' && x.status !== 'closed');
  const sum = (k: 'unassigned' | 'mine' | 'breached') => working.reduce((a, x) => a + x[k], 0);
  return {
    byStatus: Object.fromEntries(
      STATUSES.map((st) => [st, r.rows.find((x) => x.status === st)?.n ?? 0]),
    ) as Record<Status, number>,
    unassigned: sum('unassigned'),
    mine: sum('mine'),
    breached: sum('breached'),
  };
}
