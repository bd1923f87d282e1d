import type { Logger } from '../lib/logger.js';
import { createCannedReply } from './canned-replies.js';
import { createCategory } from './categories.js';
import { type Actor, SYSTEM } from './changes.js';
import { addInboundAddress } from './email-addresses.js';
import { createGame, createGameKey } from './games.js';
import { addMember } from './memberships.js';
import { createOrganization } from './organizations.js';
import type { Pool } from './pool.js';
import { setRetentionPolicy } from './retention.js';
import type { SeedCategory, SeedPlayer, SeedPolicy } from './seed-rows.js';
import { seedRules } from './seed-rules.js';
import { buildTimeline, prng, type Rng } from './seed-timeline.js';
import { DEMO_SLUG, DEMO_STAFF, demoEmail } from './seed-users.js';
import { createCalendar } from './sla-calendars.js';
import { createPolicy } from './sla-policies.js';
import { addTeamMember, createTeam } from './teams.js';
import { type Tx, withTenant } from './tenant.js';
import type { Priority } from './ticket-rules.js';
import { createUser } from './users.js';

export interface DemoSummary {
  orgId: string;
  ownerId: string;
  tickets: number;
}

const PLATFORMS = ['pc', 'pc', 'pc', 'ps5', 'ps5', 'xbox', 'switch', 'ios', 'android', 'android'] as const;
const BUILDS = ['1.8.2', '1.9.0', '1.9.1', '1.9.1', '1.10.0', '1.10.0', '1.10.0'] as const;

const CATEGORIES = [
  {
    name: 'Bug report',
    emoji: '🐞',
    team: 0,
    questions: [
      { key: 'what_happened', label: 'What happened?', style: 'paragraph', required: true },
      { key: 'game_version', label: 'Game version', style: 'short', required: false },
    ],
    subjects: [
      'Game crashes on launch after update',
      'Stuck on the loading screen',
      'Achievement did not unlock',
      'Voice chat not working',
      'Matchmaking takes forever in EU',
    ],
    tags: ['bug', 'crash', 'performance'],
    answers: (r: Rng) => ({ game_version: r.pick(BUILDS) }),
  },
  {
    name: 'Billing',
    emoji: '💳',
    team: 0,
    questions: [{ key: 'order_id', label: 'Order id', style: 'short', required: true }],
    subjects: [
      'Charged twice for the season pass',
      'Refund request for accidental purchase',
      'Gems not delivered',
    ],
    tags: ['billing', 'refund'],
    answers: (r: Rng) => ({ order_id: `SF-${100000 + r.int(900000)}` }),
  },
  {
    name: 'Player report',
    emoji: '🚩',
    team: 1,
    questions: [
      { key: 'player_name', label: 'Player name', style: 'short', required: true },
      { key: 'what_they_did', label: 'What did they do?', style: 'paragraph', required: false },
    ],
    subjects: ['Player using speed hacks in ranked', 'Harassment in global chat', 'Offensive clan name'],
    tags: ['cheating', 'harassment', 'report'],
    answers: (r: Rng) => ({ player_name: `Player${1000 + r.int(60)}` }),
  },
  {
    name: 'Account',
    emoji: '👤',
    team: 0,
    questions: [],
    subjects: [
      'Cannot link my Discord account',
      'Account banned by mistake',
      'Lost my items after server restart',
    ],
    tags: ['account', 'vip'],
    answers: () => ({}),
  },
] as const;

/** Targets in minutes per priority: first (and next) response, resolution. Urgent counts every hour. */
const TARGETS: Array<[Priority, number, number]> = [
  ['urgent', 30, 240],
  ['high', 120, 1440],
  ['normal', 480, 2880],
  ['low', 1440, 10080],
];
const STUDIO_HOURS = {
  timezone: 'Europe/Berlin',
  weeklyHours: {
    mon: [[540, 1080]],
    tue: [[540, 1080]],
    wed: [[540, 1080]],
    thu: [[540, 1080]],
    fri: [[540, 1020]],
  },
  holidays: ['2026-12-25', '2027-01-01'],
} as const;

/** The settings, through the same db/ modules the API uses, so every row passes their checks. */
async function seedSettings(tx: Tx, owner: Actor, teamIds: string[]) {
  const game = await createGame(tx, { name: 'Skyward Tactics', slug: 'skyward-tactics' }, owner);
  await createGameKey(
    tx,
    { gameId: game.id, name: 'Demo client key', scopes: ['tickets:create', 'reports:create'] },
    owner,
  );
  const categories: SeedCategory[] = [];
  for (const [i, c] of CATEGORIES.entries()) {
    const teamId = teamIds[c.team] as string;
    const created = await createCategory(
      tx,
      { name: c.name, emoji: c.emoji, questions: [...c.questions], teamId, position: i },
      owner,
    );
    categories.push({ id: created.id, teamId, subjects: c.subjects, tags: c.tags, answers: c.answers });
  }
  const calendar = await createCalendar(
    tx,
    {
      name: 'Studio hours',
      ...STUDIO_HOURS,
      weeklyHours: STUDIO_HOURS.weeklyHours as never,
      holidays: [...STUDIO_HOURS.holidays],
    },
    owner,
  );
  const policies = {} as Record<Priority, SeedPolicy>;
  for (const [i, [priority, first, resolution]] of TARGETS.entries()) {
    const urgent = priority === 'urgent';
    const p = await createPolicy(
      tx,
      {
        name: `${priority[0]?.toUpperCase()}${priority.slice(1)} priority`,
        priority,
        firstResponseMinutes: first,
        nextResponseMinutes: first,
        resolutionMinutes: resolution,
        // Urgent tickets are answered around the clock: no calendar, and the org has no default.
        businessCalendarId: urgent ? null : calendar.id,
        warnBeforeMinutes: Math.ceil(first / 4),
        position: i,
      },
      owner,
    );
    policies[priority] = {
      id: p.id,
      firstResponseMinutes: first,
      nextResponseMinutes: first,
      resolutionMinutes: resolution,
      calendar: urgent ? null : calendar,
    };
  }
  for (const [shortcut, title, body] of [
    [
      'thanks',
      'Thanks for reaching out',
      'Hi {player}, thanks for reaching out about ticket #{ticket}. We are on it.',
    ],
    [
      'update',
      'Please update',
      'Hi {player}, this is fixed in the latest version. Please update and tell us if it persists.',
    ],
    ['logs', 'Ask for logs', 'Could you attach your game log (Settings → Support → Export logs)?'],
  ] as const) {
    await createCannedReply(tx, { shortcut, title, body }, owner);
  }
  await setRetentionPolicy(tx, { target: 'tickets', days: 730, action: 'anonymise' }, owner);
  await setRetentionPolicy(tx, { target: 'player_sessions', days: 90, action: 'purge' }, owner);
  return { gameId: game.id, categories, policies };
}

/** 60 players with their game context (platform, build) and one play session each. */
async function seedPlayers(tx: Tx, r: Rng, gameId: string, now: Date): Promise<SeedPlayer[]> {
  const n = 60;
  const spec = Array.from({ length: n }, (_, i) => ({
    name: `Player${1000 + i}`,
    discord: i % 3 !== 2 ? `12000000000000${String(1000 + i).padStart(5, '0')}` : null,
    account: `acct-${1000 + i}`,
    email: i % 4 === 0 ? `player${1000 + i}@mail.example` : null,
    platform: r.pick(PLATFORMS),
    build: r.pick(BUILDS),
    locale: r.pick(['en-US', 'en-GB', 'de-DE', 'fr-FR', 'pt-BR', 'es-ES']),
    firstSeen: new Date(now.getTime() - (100 + r.int(200)) * 86_400_000),
  }));
  const ids = await tx.query<{ id: string; account: string }>(
    `insert into player_profiles (org_id, display_name, discord_user_id, game_id, game_account_id, email, locale,
       metadata, created_at, updated_at)
     select $1::uuid, u.name, u.discord, $2::uuid, u.account, u.email, u.locale,
       jsonb_build_object('platform', u.platform, 'buildVersion', u.build), u.seen, u.seen
     from unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
       as u(name, discord, account, email, locale, platform, build, seen)
     returning id, game_account_id as account`,
    [
      tx.orgId,
      gameId,
      spec.map((p) => p.name),
      spec.map((p) => p.discord),
      spec.map((p) => p.account),
      spec.map((p) => p.email),
      spec.map((p) => p.locale),
      spec.map((p) => p.platform),
      spec.map((p) => p.build),
      spec.map((p) => p.firstSeen),
    ],
  );
  const byAccount = new Map(ids.rows.map((x) => [x.account, x.id]));
  const players = spec.map((p) => ({
    id: byAccount.get(p.account) as string,
    platform: p.platform,
    buildVersion: p.build,
    hasDiscord: p.discord !== null,
    hasEmail: p.email !== null,
  }));
  // The game reports sessions: the last one carries the platform and client build support sees.
  await tx.query(
    `insert into player_sessions (org_id, player_id, game_id, started_at, ended_at, platform, client_version)
     select $1::uuid, u.player, $2::uuid, u.started, u.started + make_interval(mins => u.mins), u.platform, u.build
     from unnest($3::uuid[], $4::timestamptz[], $5::int[], $6::text[], $7::text[]) as u(player, started, mins, platform, build)`,
    [
      tx.orgId,
      gameId,
      players.map((p) => p.id),
      players.map(() => new Date(now.getTime() - (1 + r.int(72)) * 3_600_000)),
      players.map(() => 15 + r.int(180)),
      players.map((p) => p.platform),
      players.map((p) => p.buildVersion),
    ],
  );
  return players;
}

/**
 * Loads the demo workspace: a studio (slug `demo`), staff in two teams, a game with its key,
 * categories with intake questions, SLA policies on a business calendar, canned replies, a linked
 * Discord guild, 60 players and, by default, 300 tickets with 90 days of history. Used by
 * `npm start` on an empty database. Deterministic for a given `seed` and `now`.
 */
export async function seedDemo(
  pool: Pool,
  opts: { ticketCount?: number; slug?: string; seed?: number; now?: Date } = {},
): Promise<DemoSummary> {
  const r = prng(opts.seed ?? 42);
  const now = opts.now ?? new Date();
  const slug = opts.slug ?? DEMO_SLUG;
  const users: string[] = [];
  for (const s of DEMO_STAFF)
    users.push((await createUser(pool, { displayName: s.name, email: demoEmail(s.handle, slug) })).id);
  const ownerId = users[0] as string;
  const org = await createOrganization(pool, { name: 'Starforge Games', slug, ownerUserId: ownerId }, SYSTEM);
  const owner: Actor = { type: 'user', id: ownerId };
  const guildId = String(1100000000000000000n + BigInt(opts.seed ?? 42));
  const count = opts.ticketCount ?? 300;

  await withTenant(pool, org.id, async (tx) => {
    // Where players write in development (the SMTP intake takes mail for it on loopback).
    await addInboundAddress(
      tx,
      { address: `support@${slug}.localhost`, senderName: 'Starforge Games Support' },
      owner,
    );
    for (const [i, s] of DEMO_STAFF.entries()) {
      if (s.role !== 'owner') await addMember(tx, { userId: users[i] as string, role: s.role }, owner);
    }
    const support = await createTeam(
      tx,
      { name: 'Player Support', description: 'Bugs, billing, accounts' },
      owner,
    );
    const safety = await createTeam(
      tx,
      { name: 'Trust & Safety', description: 'Reports and moderation' },
      owner,
    );
    // Sam and Kai work support, Mia and Leo safety (indexes into DEMO_STAFF).
    for (const i of [1, 4])
      await addTeamMember(tx, { teamId: support.id, userId: users[i] as string }, owner);
    for (const i of [2, 3]) await addTeamMember(tx, { teamId: safety.id, userId: users[i] as string }, owner);
    const settings = await seedSettings(tx, owner, [support.id, safety.id]);
    await seedRules(tx, owner, { support: support.id, safety: safety.id });
    await tx.query(
      `insert into discord_guilds (org_id, guild_id, name, settings) values ($1::uuid, $2::text, 'Starforge Community', $3::jsonb)`,
      [tx.orgId, guildId, JSON.stringify({ maxOpenPerPlayer: 3, cooldownSeconds: 60 })],
    );
    const players = await seedPlayers(tx, r, settings.gameId, now);
    const timeline = buildTimeline(r, {
      now,
      count,
      days: 90,
      players,
      staffByTeam: {
        [support.id]: [users[1], users[4]] as string[],
        [safety.id]: [users[2], users[3]] as string[],
      },
      categories: settings.categories,
      policies: settings.policies,
      gameId: settings.gameId,
      guildId,
    });
    await insertTimeline(tx, timeline);
  });
  return { orgId: org.id, ownerId, tickets: count };
}

/** A handful of statements for the whole history (unnest), so the seed stays well under a second. */
async function insertTimeline(tx: Tx, t: ReturnType<typeof buildTimeline>): Promise<void> {
  const T = t.tickets;
  await tx.query(
    `insert into tickets (id, org_id, number, subject, status, priority, origin, requester_id, category_id, team_id,
       assignee_id, game_id, tags, custom_fields, discord_guild_id, rating, rating_comment, rated_at, first_response_at,
       last_player_message_at, last_staff_message_at, status_changed_at, reopen_count, sla_due_at, sla_breached_at,
       solved_at, closed_at, close_reason, pending_since, created_at, updated_at)
     select u.id, $1::uuid, u.number, u.subject, u.status, u.priority, u.origin, u.requester, u.category, u.team,
       u.assignee, u.game, array(select jsonb_array_elements_text(u.tags)), u.fields, u.guild, u.rating, u.comment,
       u.rated, u.first, u.lastp, u.lasts, u.changed, u.reopens, u.due, u.breached, u.solved, u.closed, u.reason,
       u.pending, u.created, u.updated
     from unnest($2::uuid[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::uuid[],
       $10::uuid[], $11::uuid[], $12::uuid[], $13::jsonb[], $14::jsonb[], $15::text[], $16::smallint[], $17::text[],
       $18::timestamptz[], $19::timestamptz[], $20::timestamptz[], $21::timestamptz[], $22::timestamptz[], $23::int[],
       $24::timestamptz[], $25::timestamptz[], $26::timestamptz[], $27::timestamptz[], $28::text[], $29::timestamptz[],
       $30::timestamptz[], $31::timestamptz[])
       as u(id, number, subject, status, priority, origin, requester, category, team, assignee, game, tags, fields,
         guild, rating, comment, rated, first, lastp, lasts, changed, reopens, due, breached, solved, closed, reason,
         pending, created, updated)`,
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
       body, created_at, delivered_at)
     select u.id, $1::uuid, ch.id, u.ticket, u.type, u.uid, u.pid, u.origin, u.body, u.at, u.at
     from unnest($5::uuid[], $6::uuid[], $7::text[], $8::uuid[], $9::uuid[], $10::text[], $11::text[], $12::timestamptz[])
       as u(id, ticket, type, uid, pid, origin, body, at)
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

/** Seeds the demo only into an empty database (no users at all), so restarts never duplicate it. */
export async function seedDemoIfEmpty(pool: Pool, logger: Logger): Promise<void> {
  const r = await pool.query<{ any: boolean }>('select exists (select 1 from users) as any');
  if (r.rows[0]?.any) return;
  const t = Date.now();
  const s = await seedDemo(pool);
  logger.info(
    { orgId: s.orgId, slug: DEMO_SLUG, tickets: s.tickets, ms: Date.now() - t },
    'loaded the demo workspace "Starforge Games" (slug demo)',
  );
}
