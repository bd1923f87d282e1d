import { messageSentiment, sentimentValues } from './message-sentiment.js';
import type { buildTimeline } from './seed-timeline.js';
import type { Tx } from './tenant.js';

/**
 * Writes the demo's laid-out history (`seed-timeline.ts`), apart from `seed.ts`, which makes the
 * workspace's settings through the same db/ modules the API uses.
 */

/** A handful of statements for the whole history (unnest), so the seed stays well under a second. */
export async function insertTimeline(tx: Tx, t: ReturnType<typeof buildTimeline>): Promise<void> {
  const T = t.tickets;
  // Scored as db/tickets.ts scores them, so the demo's tickets show and match sentiment rules.
  const scored = t.messages.map((m) => messageSentiment(m.authorType, m.body));
  const latest = new Map<string, { at: Date; s: NonNullable<(typeof scored)[number]> }>();
  t.messages.forEach((m, i) => {
    const s = scored[i];
    const prev = latest.get(m.ticketId);
    if (s && (!prev || m.createdAt >= prev.at)) latest.set(m.ticketId, { at: m.createdAt, s });
  });
  await tx.query(
    `insert into tickets (id, org_id, number, subject, status, priority, origin, requester_id, category_id, team_id,
       assignee_id, game_id, tags, custom_fields, discord_guild_id, rating, rating_comment, rated_at, first_response_at,
       last_player_message_at, last_staff_message_at, status_changed_at, reopen_count, sla_due_at, sla_breached_at,
       solved_at, closed_at, close_reason, pending_since, created_at, updated_at, player_sentiment_label,
       player_sentiment_score)
     select u.id, $1::uuid, u.number, u.subject, u.status, u.priority, u.origin, u.requester, u.category, u.team,
       u.assignee, u.game, array(select jsonb_array_elements_text(u.tags)), u.fields, u.guild, u.rating, u.comment,
       u.rated, u.first, u.lastp, u.lasts, u.changed, u.reopens, u.due, u.breached, u.solved, u.closed, u.reason,
       u.pending, u.created, u.updated, u.mood, u.mood_score
     from unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::uuid[],
       $10::uuid[], $11::uuid[], $12::uuid[], $13::jsonb[], $14::jsonb[], $15::text[], $16::smallint[], $17::text[],
       $18::timestamptz[], $19::timestamptz[], $20::timestamptz[], $21::timestamptz[], $22::timestamptz[], $23::int[],
       $24::timestamptz[], $25::timestamptz[], $26::timestamptz[], $27::timestamptz[], $28::text[], $29::timestamptz[],
       $30::timestamptz[], $31::timestamptz[], $32::text[], $33::int[])
       as u(id, number, subject, status, priority, origin, requester, category, team, assignee, game, tags, fields,
         guild, rating, comment, rated, first, lastp, lasts, changed, reopens, due, breached, solved, closed, reason,
         pending, created, updated, mood, mood_score)`,
    [
      tx.orgId,
      T.map((x) => x.id),
      T.map((x) => x.number),
      T.map((x) => x.subject),
      T.map((x) => x.status),
      T.map((x) => x.priority),
      T.map((x) => x.origin),
      T.map((x) => x.requesterId),
      T.map((x) => x.categoryId),
      T.map((x) => x.teamId),
      T.map((x) => x.assigneeId),
      T.map((x) => x.gameId),
      T.map((x) => JSON.stringify(x.tags)),
      T.map((x) => JSON.stringify(x.customFields)),
      T.map((x) => x.discordGuildId),
      T.map((x) => x.rating),
      T.map((x) => x.ratingComment),
      T.map((x) => x.ratedAt),
      T.map((x) => x.firstResponseAt),
      T.map((x) => x.lastPlayerMessageAt),
      T.map((x) => x.lastStaffMessageAt),
      T.map((x) => x.statusChangedAt),
      T.map((x) => x.reopenCount),
      T.map((x) => x.slaDueAt),
      T.map((x) => x.slaBreachedAt),
      T.map((x) => x.solvedAt),
      T.map((x) => x.closedAt),
      T.map((x) => x.closeReason),
      T.map((x) => x.pendingSince),
      T.map((x) => x.createdAt),
      T.map((x) => x.updatedAt),
      T.map((x) => latest.get(x.id)?.s.label ?? null),
      T.map((x) => latest.get(x.id)?.s.score ?? null),
    ],
  );
  await tx.query('update organizations set ticket_seq = $2::bigint where id = $1::uuid', [
    tx.orgId,
    T.length,
  ]);
  const lastMessage = new Map<string, Date>();
  for (const m of t.messages) {
    const prev = lastMessage.get(m.ticketId);
    if (!prev || m.createdAt > prev) lastMessage.set(m.ticketId, m.createdAt);
  }
  await tx.query(
    `with ch as (
       insert into message_channels (org_id, kind, ticket_id, last_message_at, created_at)
       select $1::uuid, 'ticket', u.ticket, u.last, u.created
       from unnest($2::uuid[], $3::timestamptz[], $4::timestamptz[]) as u(ticket, last, created)
       returning id, ticket_id
     )
     insert into messages (id, org_id, channel_id, ticket_id, author_type, author_user_id, author_player_id, origin,
       body, created_at, delivered_at, sentiment_score, sentiment_comparative, sentiment_label, sentiment_language)
     select u.id, $1::uuid, ch.id, u.ticket, u.type, u.uid, u.pid, u.origin, u.body, u.at, u.at, u.score, u.comp,
       u.label, u.lang
     from unnest($5::uuid[], $6::uuid[], $7::text[], $8::uuid[], $9::uuid[], $10::text[], $11::text[], $12::timestamptz[],
       $13::int[], $14::real[], $15::text[], $16::text[])
       as u(id, ticket, type, uid, pid, origin, body, at, score, comp, label, lang)
     join ch on ch.ticket_id = u.ticket`,
    [
      tx.orgId,
      T.map((x) => x.id),
      T.map((x) => lastMessage.get(x.id) ?? x.createdAt),
      T.map((x) => x.createdAt),
      t.messages.map((m) => m.id),
      t.messages.map((m) => m.ticketId),
      t.messages.map((m) => m.authorType),
      t.messages.map((m) => m.authorUserId),
      t.messages.map((m) => m.authorPlayerId),
      t.messages.map((m) => m.origin),
      t.messages.map((m) => m.body),
      t.messages.map((m) => m.createdAt),
      ...[0, 1, 2, 3].map((k) => scored.map((x) => sentimentValues(x)[k])),
    ],
  );
  // History, and the audit rows recordChange writes for staff and system actions, at the same times.
  const E = t.events;
  await tx.query(
    `with ev as (
       select * from unnest($2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::jsonb[], $7::timestamptz[])
         with ordinality as u(ticket, type, actor_type, actor_id, data, at, n)
     ), history as (
       insert into ticket_events (org_id, ticket_id, type, actor_type, actor_id, data, created_at)
       select $1::uuid, ticket, type, actor_type, actor_id, data, at from ev order by n
     )
     insert into audit_logs (org_id, actor_type, actor_id, action, target_type, target_id, data, created_at)
     select $1::uuid, actor_type, actor_id, type, 'ticket', ticket::text, data, at from ev
     where actor_type <> 'player' order by n`,
    [
      tx.orgId,
      E.map((e) => e.ticketId),
      E.map((e) => e.type),
      E.map((e) => e.actorType),
      E.map((e) => e.actorId),
      E.map((e) => JSON.stringify(e.data)),
      E.map((e) => e.createdAt),
    ],
  );
  await tx.query(
    `insert into ticket_notes (id, org_id, ticket_id, author_user_id, body, created_at)
     select u.id, $1::uuid, u.ticket, u.author, u.body, u.at
     from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::timestamptz[]) as u(id, ticket, author, body, at)`,
    [
      tx.orgId,
      t.notes.map((n) => n.id),
      t.notes.map((n) => n.ticketId),
      t.notes.map((n) => n.authorUserId),
      t.notes.map((n) => n.body),
      t.notes.map((n) => n.createdAt),
    ],
  );
  await tx.query(
    `insert into ticket_assignments (org_id, ticket_id, user_id, assigned_by, assigned_at)
     select $1::uuid, u.ticket, u.usr, u.by, u.at
     from unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[]) as u(ticket, usr, by, at)`,
    [
      tx.orgId,
      t.assignments.map((a) => a.ticketId),
      t.assignments.map((a) => a.userId),
      t.assignments.map((a) => a.assignedBy),
      t.assignments.map((a) => a.assignedAt),
    ],
  );
  await tx.query(
    `insert into ticket_sla_events (org_id, ticket_id, policy_id, metric, kind, due_at, created_at)
     select $1::uuid, u.ticket, u.policy, u.metric, u.kind, u.due, u.at
     from unnest($2::uuid[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[])
       with ordinality as u(ticket, policy, metric, kind, due, at, n)
     order by n`,
    [
      tx.orgId,
      t.sla.map((s) => s.ticketId),
      t.sla.map((s) => s.policyId),
      t.sla.map((s) => s.metric),
      t.sla.map((s) => s.kind),
      t.sla.map((s) => s.dueAt),
      t.sla.map((s) => s.createdAt),
    ],
  );
  // The history trigger sets pending_since as pending entries land, and that update touches
  // updated_at: put it back to the last activity.
  await tx.query(
    `update tickets t set updated_at = u.updated
     from unnest($2::uuid[], $3::timestamptz[]) as u(id, updated)
     where t.org_id = $1::uuid and t.id = u.id and t.updated_at is distinct from u.updated`,
    [tx.orgId, T.map((x) => x.id), T.map((x) => x.updatedAt)],
  );
}
