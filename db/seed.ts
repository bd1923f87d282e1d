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
import { insertTimeline } from './seed-timeline-insert.js';
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
