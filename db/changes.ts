import { z } from 'zod';
import { currentTraceparent } from '../lib/trace-context.js';
import type { Tx } from './tenant.js';

/**
 * Who did something. Staff (`user`), studio automation (`token`), automation rules (`rule`) and
 * the system itself are audited; players are not staff, so their actions are history only. A
 * rule's `depth` is how many rule runs led to this one: the rules worker stops a chain with it.
 */
export const actorSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('user'),
    id: z.uuid(),
    ip: z.string().optional(),
    requestId: z.string().optional(),
  }),
  z.object({
    type: z.literal('token'),
    id: z.uuid(),
    ip: z.string().optional(),
    requestId: z.string().optional(),
  }),
  z.object({ type: z.literal('player'), id: z.uuid() }),
  z.object({ type: z.literal('rule'), id: z.uuid(), depth: z.number().int().min(1).max(100) }),
  z.object({ type: z.literal('system'), requestId: z.string().optional() }),
]);
export type Actor = z.infer<typeof actorSchema>;

export const SYSTEM: Actor = { type: 'system' };
export const isStaff = (a: Actor) =>
  a.type === 'user' || a.type === 'token' || a.type === 'system' || a.type === 'rule';
const actorId = (a: Actor) => ('id' in a ? a.id : null);
/** The actor as events carry it; a rule's depth goes along so the chain it starts is bounded. */
const eventActor = (a: Actor) =>
  a.type === 'rule' ? { type: a.type, id: a.id, depth: a.depth } : { type: a.type, id: actorId(a) };

export interface Change {
  /** History entry on the ticket (omit for changes that are not about one ticket). */
  ticketId?: string;
  /** ticket_events.type and, for staff, audit_logs.action. */
  action: string;
  data?: Record<string, unknown>;
  /** Domain event for the outbox; omit when nothing outside needs to hear about it. */
  event?: { type: string; aggregateType: string; aggregateId: string; payload: Record<string, unknown> };
  /** Audit target when there is no ticket (a team, a membership...). */
  target?: { type: string; id: string };
}

/**
 * Writes the history, audit and outbox rows of one change in a single statement (one round
 * trip), inside the caller's transaction: they commit or vanish together with the change. The
 * event keeps the active trace context, so its relay and jobs join the trace that caused it.
 */
export async function recordChange(tx: Tx, actor: Actor, change: Change): Promise<void> {
  const staff = isStaff(actor);
  const target = change.target ?? (change.ticketId ? { type: 'ticket', id: change.ticketId } : undefined);
  const data = change.data ?? {};
  await tx.query(
    `with ev as (
       insert into ticket_events (org_id, ticket_id, type, actor_type, actor_id, data)
       select $1::uuid, $2::uuid, $3::text, $4::text, $5::uuid, $6::jsonb where $2::uuid is not null
     ), au as (
       insert into audit_logs (org_id, actor_type, actor_id, action, target_type, target_id, data, ip, request_id)
       select $1::uuid, $4::text, $5::uuid, $3::text, $7::text, $8::text, $6::jsonb, $9::inet, $10::text where $11::boolean
     )
     insert into outbox (org_id, event_type, aggregate_type, aggregate_id, payload, traceparent)
     select $1::uuid, $12::text, $13::text, $14::uuid, $15::jsonb, $16::text where $12::text is not null`,
    [
      tx.orgId,
      change.ticketId ?? null,
      change.action,
      actor.type,
      actorId(actor),
      JSON.stringify(data),
      target?.type ?? null,
      target?.id ?? null,
      'ip' in actor ? (actor.ip ?? null) : null,
      'requestId' in actor ? (actor.requestId ?? null) : null,
      staff,
      change.event?.type ?? null,
      change.event?.aggregateType ?? null,
      change.event?.aggregateId ?? null,
      change.event ? JSON.stringify({ ...change.event.payload, actor: eventActor(actor) }) : null,
      change.event ? currentTraceparent() : null,
    ],
  );
}

/**
 * Writes only an outbox event, for work that needs no history or audit row of its own (the
 * change that carries it already wrote them): the relay turns it into jobs.
 */
export async function emitEvent(tx: Tx, event: NonNullable<Change['event']>): Promise<void> {
  await tx.query(
    `insert into outbox (org_id, event_type, aggregate_type, aggregate_id, payload, traceparent)
     values ($1::uuid, $2::text, $3::text, $4::uuid, $5::jsonb, $6::text)`,
    [
      tx.orgId,
      event.type,
      event.aggregateType,
      event.aggregateId,
      JSON.stringify(event.payload),
      currentTraceparent(),
    ],
  );
}

/** A field's value before and after a change, as settings audit entries record it. */
export type FieldChanges = Record<string, { from: unknown; to: unknown }>;

/** JSON with object keys sorted, so two equal values read from different places compare equal. */
function canonical(v: unknown): string {
  return JSON.stringify(v ?? null, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );
}

/**
 * The named fields whose value differs between `before` (null: the row is new) and `after`,
 * each as `{from, to}` (absent is null), keyed `prefix + field`; `fields` defaults to every key
 * of either. What an update records as `data.changes`, so an admin reading the audit log sees
 * what a setting was before it changed, and an update that changes nothing records no entry.
 * Only pass fields that may be shown to whoever reads the audit log: never a secret (sealed
 * tokens, keys, webhook URLs).
 */
export function diffChanges(
  before: object | null | undefined,
  after: object,
  fields?: readonly string[],
  prefix = '',
): FieldChanges {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  const keys = fields ?? [...new Set([...Object.keys(b), ...Object.keys(a)])];
  const out: FieldChanges = {};
  for (const k of keys) {
    if (canonical(b[k]) !== canonical(a[k])) out[prefix + k] = { from: b[k] ?? null, to: a[k] ?? null };
  }
  return out;
}

/** Whether a diff found anything: an update that changed nothing writes no audit entry. */
export const changedAny = (changes: FieldChanges) => Object.keys(changes).length > 0;
