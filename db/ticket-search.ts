import { z } from 'zod';
import { AppError } from '../lib/errors.js';
import { id, tag } from './schemas.js';
import type { SlaMetric } from './sla-clocks.js';
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
  /** The ticket with this number (the panel's merge looks a target up by the number people quote). */
  number: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
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

/**
 * The SLA clock a badge counts down to: the earliest due time among the metrics still running
 * (first response, next response, resolution), and whether it has breached. Null when no clock
 * runs (no policy, paused while pending, fulfilled, or the ticket is solved or closed).
 */
export interface TicketSla {
  metric: SlaMetric;
  dueAt: Date;
  breached: boolean;
}

/**
 * The next SLA clock of ticket `t`, as a lateral join yielding "slaMetric", "slaDueAt" and
 * "slaBreached". Derived from ticket_sla_events (the source of truth) rather than
 * tickets.sla_due_at, which leaves breached metrics out (so the sweep reaches the next timer) and
 * does not say which metric it is. A metric runs when its last event is not fulfil or pause; its
 * due time is on that event (warn and breach repeat it). It counts as breached when a breach was
 * recorded since its last fulfil, or when its due time has passed and the timer has not fired yet.
 */
const NEXT_SLA = `left join lateral (
    select s.metric as "slaMetric", s.due_at as "slaDueAt", (s.breached or s.due_at <= now()) as "slaBreached"
    from (select distinct on (e.metric) e.metric, e.kind, e.due_at,
            exists (select 1 from ticket_sla_events b
                    where b.org_id = e.org_id and b.ticket_id = e.ticket_id and b.metric = e.metric
                      and b.kind = 'breach'
                      and b.id > coalesce((select max(f.id) from ticket_sla_events f
                                           where f.org_id = e.org_id and f.ticket_id = e.ticket_id
                                             and f.metric = e.metric and f.kind = 'fulfil'), 0)) as breached
          from ticket_sla_events e
          where e.org_id = t.org_id and e.ticket_id = t.id
          order by e.metric, e.id desc) s
    where s.kind not in ('fulfil', 'pause') and s.due_at is not null
      and t.status not in ('solved', 'closed')
    order by s.due_at
    limit 1
  ) sla on true`;

interface SlaColumns {
  slaMetric: SlaMetric | null;
  slaDueAt: Date | null;
  slaBreached: boolean | null;
}

const slaOf = (r: SlaColumns): TicketSla | null =>
  r.slaMetric && r.slaDueAt ? { metric: r.slaMetric, dueAt: r.slaDueAt, breached: !!r.slaBreached } : null;

/** The next SLA clock of one ticket (for the ticket view); null when none runs. */
export async function ticketSla(tx: Tx, ticketId: string): Promise<TicketSla | null> {
  const r = await tx.query<SlaColumns>(
    `select sla.* from tickets t ${NEXT_SLA} where t.org_id = $1::uuid and t.id = $2::uuid`,
    [tx.orgId, ticketId],
  );
  return r.rows[0] ? slaOf(r.rows[0]) : null;
}

/** A ticket as the inbox lists it: with the names and SLA clock a list shows, so it needs no second fetch. */
export type TicketListItem = Ticket & {
  requesterName: string | null;
  assigneeName: string | null;
  sla: TicketSla | null;
};

export async function searchTickets(
  tx: Tx,
  raw: SearchInput = {},
): Promise<{ tickets: TicketListItem[]; next: string | null }> {
  const f = parseInput(searchInput, raw);
  const key = SORT_KEYS[f.sort];
  const [afterKey, afterId] = f.after ? decodeCursor(f.after, f.sort) : [null, null];
  const cmp = f.order === 'desc' ? '<' : '>';
  const r = await tx
    .query<Omit<TicketListItem, 'sla'> & SlaColumns & { cursorKey: string }>(
      `select ${TICKET_COLUMNS}, ${key.expr}::text as "cursorKey",
       (select p.display_name from player_profiles p where p.org_id = t.org_id and p.id = t.requester_id) as "requesterName",
       (select u.display_name from users u where u.id = t.assignee_id) as "assigneeName",
       sla."slaMetric", sla."slaDueAt", sla."slaBreached"
     from tickets t
     ${NEXT_SLA}
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
       and ($20::bigint is null or t.number = $20::bigint)
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
        f.number ?? null,
      ],
    )
    .catch((err: { code?: string }) => {
      // 22P02/22007/22008: the cursor's key did not parse as the sort key's type.
      if (err.code === '22P02' || err.code === '22007' || err.code === '22008') throw badCursor();
      throw err;
    });
  const page = r.rows.slice(0, f.limit);
  const last = page.at(-1);
  const tickets = page.map(({ cursorKey: _, slaMetric, slaDueAt, slaBreached, ...t }) => ({
    ...t,
    sla: slaOf({ slaMetric, slaDueAt, slaBreached }),
  }));
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

/** The org's tags in use, most used first: what the panel offers when tagging a ticket. */
export async function ticketTags(tx: Tx, limit = 200): Promise<Array<{ tag: string; count: number }>> {
  const r = await tx.query<{ tag: string; count: number }>(
    `select x.tag, count(*)::int as count from tickets t, unnest(t.tags) as x(tag)
     where t.org_id = $1::uuid group by x.tag order by count(*) desc, x.tag limit $2::int`,
    [tx.orgId, limit],
  );
  return r.rows;
}
