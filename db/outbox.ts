import type pg from 'pg';
import { allOrgIds } from './organizations.js';
import type { Pool } from './pool.js';
import { isUuid, type Tx, withTenant } from './tenant.js';
import { withTransaction } from './transaction.js';

/** A committed domain event as the relay sees it. */
export interface OutboxRow {
  id: number;
  orgId: string;
  eventType: string;
  aggregateType: string;
  aggregateId: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
  /** When it was relayed (null while it waits); read by the relay's look-back. */
  relayedAt?: Date | null;
  /** The W3C trace context of what wrote it (null untraced): the relay continues that trace. */
  traceparent?: string | null;
}

const COLUMNS = `id, org_id as "orgId", event_type as "eventType", aggregate_type as "aggregateType",
  aggregate_id as "aggregateId", payload, created_at as "createdAt", relayed_at as "relayedAt", traceparent`;

/** An outbox row's id and organization: all a cross-tenant function hands out about it. */
export interface OutboxRef {
  id: number;
  orgId: string;
}

/**
 * Claims up to `batch` unrelayed rows, oldest first, skipping rows another relay holds. Must run
 * inside a transaction on `client`; the row locks last until it ends, so read the rows with
 * `readOutbox` and mark them with `markRelayed` in the same transaction.
 */
export async function claimOutbox(client: pg.ClientBase, batch: number): Promise<OutboxRef[]> {
  const r = await client.query<OutboxRef>({
    text: 'select id, org_id as "orgId" from gm_claim_outbox($1::int)',
    values: [batch],
  });
  return r.rows;
}

/**
 * The rows behind `refs`, read organization by organization with each one's tenant set, so
 * row-level security (not a cross-tenant function) decides what comes back. Runs inside the
 * caller's transaction on `client` and leaves no tenant set behind. Ordered by id.
 */
export async function readOutbox(client: pg.ClientBase, refs: readonly OutboxRef[]): Promise<OutboxRow[]> {
  if (!refs.length) return [];
  const byOrg = new Map<string, number[]>();
  for (const { id, orgId } of refs) {
    if (!isUuid(orgId) || !Number.isSafeInteger(id)) throw new Error(`bad outbox reference ${id} ${orgId}`);
    byOrg.set(orgId, [...(byOrg.get(orgId) ?? []), id]);
  }
  // One round trip for the whole batch: each statement of a multi-statement query is planned
  // after the one before it ran, so each select sees the tenant its set_config just set. The
  // values are checked uuids and integers (as withTenant inlines its org id), since a
  // multi-statement query takes no parameters.
  const statements = [...byOrg].map(
    ([orgId, ids]) =>
      `select set_config('app.org_id', '${orgId}', true);
       select ${COLUMNS} from outbox where org_id = '${orgId}'::uuid and id = any('{${ids.join(',')}}'::bigint[])`,
  );
  const results = (await client.query(
    `${statements.join(';\n')}; select set_config('app.org_id', '', true)`,
  )) as unknown as pg.QueryResult<OutboxRow>[];
  const rows = results.filter((_, i) => i % 2 === 1 && i < results.length - 1).flatMap((r) => r.rows);
  return rows.sort((x, y) => x.id - y.id);
}

/**
 * Of the claimed ids, those with an earlier unrelayed row of the same organization outside the
 * claim (another relay holds it): publishing them now would put them ahead of it.
 */
export async function blockedByEarlier(client: pg.ClientBase, ids: readonly number[]): Promise<Set<number>> {
  if (!ids.length) return new Set();
  const r = await client.query<{ id: number }>({
    text: 'select id from gm_outbox_blocked($1::bigint[]) as id',
    values: [ids],
  });
  return new Set(r.rows.map((x) => Number(x.id)));
}

export async function markRelayed(client: pg.ClientBase, ids: readonly number[]): Promise<number> {
  const r = await client.query<{ n: number }>({
    text: 'select gm_mark_outbox_relayed($1::bigint[]) as n',
    values: [ids],
  });
  return r.rows[0]?.n ?? 0;
}

/** Which of these organizations have enabled webhook subscriptions, SLA policies and rules. */
export interface OrgFeatures {
  webhooks: boolean;
  sla: boolean;
  rules: boolean;
}

export async function orgFeatures(
  client: Pick<pg.ClientBase, 'query'>,
  orgIds: readonly string[],
): Promise<Map<string, OrgFeatures>> {
  const r = await client.query<{ org_id: string; webhooks: boolean; sla: boolean; rules: boolean }>({
    text: 'select org_id, webhooks, sla, rules from gm_outbox_org_features($1::uuid[])',
    values: [[...new Set(orgIds)]],
  });
  return new Map(r.rows.map((x) => [x.org_id, { webhooks: x.webhooks, sla: x.sla, rules: x.rules }]));
}

/**
 * Rows relayed in [since, until], keyset-paged by id: the relay's look-back after a Redis outage.
 * The cross-tenant function gives ids; the rows are read with their tenants set.
 */
export async function relayedBetween(
  pool: Pool,
  since: Date,
  until: Date,
  afterId: number,
  batch: number,
): Promise<OutboxRow[]> {
  return withTransaction(pool, async (client) => {
    const refs = await client.query<OutboxRef>({
      text: `select id, org_id as "orgId"
               from gm_outbox_relayed_between($1::timestamptz, $2::timestamptz, $3::bigint, $4::int)`,
      values: [since, until, afterId, batch],
    });
    return readOutbox(client, refs.rows);
  });
}

/** One org's outbox row, read with its tenant set (processors load the event they work on). */
export async function getOutboxRow(tx: Tx, id: number): Promise<OutboxRow | undefined> {
  const r = await tx.query<OutboxRow>(`select ${COLUMNS} from outbox where id = $1::bigint`, [id]);
  return r.rows[0];
}

/**
 * Deletes every organization's relayed rows older than `before`, a batch at a time per org
 * (their delivery log goes with them, by the foreign key), except events with a webhook retry
 * still to come. Returns how many were deleted.
 */
export async function pruneRelayed(pool: Pool, before: Date, batch = 5_000): Promise<number> {
  let total = 0;
  for await (const org_id of allOrgIds(pool)) {
    for (;;) {
      const n = await withTenant(pool, org_id, async (tx) => {
        // An event whose delivery still has an automatic retry coming stays: the retry needs
        // it, and deleting it would take its delivery log along (cascade).
        const r = await tx.query(
          `delete from outbox where id in (
             select o.id from outbox o where o.org_id = $1::uuid and o.relayed_at is not null
               and o.relayed_at < $2::timestamptz
               and not exists (select 1 from webhook_deliveries d where d.org_id = o.org_id and d.outbox_id = o.id
                 and d.status = 'failed' and not d.replay and d.next_attempt_at is not null
                 and exists (select 1 from webhook_subscriptions s where s.org_id = d.org_id
                   and s.id = d.subscription_id and s.enabled)
                 and not exists (select 1 from webhook_deliveries n where n.org_id = d.org_id
                   and n.subscription_id = d.subscription_id and n.outbox_id = d.outbox_id
                   and ((n.attempt > d.attempt and not n.replay) or n.status = 'succeeded')))
             limit $3::int)`,
          [tx.orgId, before, batch],
        );
        return r.rowCount ?? 0;
      });
      total += n;
      if (n < batch) break;
    }
  }
  return total;
}
