import { createHash, randomBytes } from 'node:crypto';
import type { Logger } from '../lib/logger.js';
import { type Actor, SYSTEM } from './changes.js';
import { addMember } from './memberships.js';
import { createOrganization } from './organizations.js';
import { upsertPlayer } from './players.js';
import type { Pool } from './pool.js';
import { addTeamMember, createTeam } from './teams.js';
import { type Tx, withTenant } from './tenant.js';
import type { Priority } from './ticket-rules.js';
import * as tickets from './tickets.js';
import { createUser } from './users.js';

/** A small deterministic generator, so every demo workspace looks the same. */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
  };
}

const SUBJECTS = [
  'Game crashes on launch after update',
  'Lost my items after server restart',
  'Charged twice for the season pass',
  'Player using speed hacks in ranked',
  'Cannot link my Discord account',
  'Matchmaking takes forever in EU',
  'Harassment in global chat',
  'Refund request for accidental purchase',
  'Stuck on the loading screen',
  'Achievement did not unlock',
  'Account banned by mistake',
  'Voice chat not working on PS5',
];
const BODIES = [
  'It started yesterday evening and happens every time.',
  'I attached a screenshot, can you have a look?',
  'Please help, this is really frustrating.',
  'Steps: open the game, press play, then it freezes.',
];
const STAFF_REPLIES = [
  'Thanks for the report, we are looking into it.',
  'Could you send us your game version and platform?',
  'This is fixed in the latest patch, please update.',
  'We have restored your items.',
];

export interface DemoSummary {
  orgId: string;
  ownerId: string;
  tickets: number;
}

/** Rows for the settings tables that have no db/ module of their own yet. */
async function seedSettings(tx: Tx, ownerId: string, teamIds: string[]) {
  const game = await tx.query<{ id: string }>(
    `insert into games (org_id, name, slug) values ($1::uuid, 'Skyward Tactics', 'skyward-tactics') returning id`,
    [tx.orgId],
  );
  const gameId = (game.rows[0] as { id: string }).id;
  // The demo key is never shown: only its hash is stored, as for every key.
  await tx.query(
    `insert into game_keys (org_id, game_id, name, prefix, key_hash, scopes, created_by)
     values ($1::uuid, $2::uuid, 'Demo client key', 'gmk_demo', $3::bytea, '{tickets.create,reports.create}', $4::uuid)`,
    [tx.orgId, gameId, createHash('sha256').update(randomBytes(32)).digest(), ownerId],
  );
  const categories = [
    [
      'Bug report',
      '🐞',
      [
        { label: 'What happened?', style: 'paragraph', required: true },
        { label: 'Game version', style: 'short' },
      ],
    ],
    ['Billing', '💳', [{ label: 'Order id', style: 'short', required: true }]],
    [
      'Player report',
      '🚩',
      [
        { label: 'Player name', style: 'short', required: true },
        { label: 'What did they do?', style: 'paragraph' },
      ],
    ],
    ['Account', '👤', []],
  ] as const;
  const categoryIds: string[] = [];
  for (const [i, [name, emoji, questions]] of categories.entries()) {
    const c = await tx.query<{ id: string }>(
      `insert into ticket_categories (org_id, name, emoji, questions, team_id, position)
       values ($1::uuid, $2::text, $3::text, $4::jsonb, $5::uuid, $6::int) returning id`,
      [
        tx.orgId,
        name,
        emoji,
        JSON.stringify(questions),
        name === 'Player report' ? teamIds[1] : teamIds[0],
        i,
      ],
    );
    categoryIds.push((c.rows[0] as { id: string }).id);
  }
  const cal = await tx.query<{ id: string }>(
    `insert into business_calendars (org_id, name, timezone, weekly_hours, holidays)
     values ($1::uuid, 'Studio hours', 'Europe/Berlin', $2::jsonb, '{2026-12-25,2027-01-01}') returning id`,
    [
      tx.orgId,
      JSON.stringify({
        mon: [[540, 1080]],
        tue: [[540, 1080]],
        wed: [[540, 1080]],
        thu: [[540, 1080]],
        fri: [[540, 1020]],
      }),
    ],
  );
  const calendarId = (cal.rows[0] as { id: string }).id;
  const targets: Array<[Priority, number, number]> = [
    ['urgent', 30, 240],
    ['high', 120, 1440],
    ['normal', 480, 2880],
    ['low', 1440, 10080],
  ];
  for (const [i, [priority, first, resolution]] of targets.entries()) {
    await tx.query(
      `insert into sla_policies (org_id, name, priority, first_response_minutes, next_response_minutes,
         resolution_minutes, business_calendar_id, warn_before_minutes, position)
       values ($1::uuid, $2::text, $3::text, $4::int, $4::int, $5::int, $6::uuid, $7::int, $8::int)`,
      [
        tx.orgId,
        `${priority} priority`,
        priority,
        first,
        resolution,
        priority === 'urgent' ? null : calendarId,
        Math.ceil(first / 4),
        i,
      ],
    );
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
  ]) {
    await tx.query(
      `insert into canned_replies (org_id, shortcut, title, body, created_by) values ($1::uuid, $2::text, $3::text, $4::text, $5::uuid)`,
      [tx.orgId, shortcut, title, body, ownerId],
    );
  }
  await tx.query(
    `insert into retention_policies (org_id, target, days, action) values
       ($1::uuid, 'tickets', 730, 'anonymise'), ($1::uuid, 'player_sessions', 90, 'purge')`,
    [tx.orgId],
  );
  return { gameId, categoryIds };
}

/**
 * Loads the demo workspace: a studio, staff in two teams, a game, categories, SLA policies and a
 * few hundred tickets across sources and states. Used by `npm start` on an empty database.
 */
export async function seedDemo(
  pool: Pool,
  opts: { ticketCount?: number; slug?: string; seed?: number } = {},
): Promise<DemoSummary> {
  const r = prng(opts.seed ?? 42);
  const owner = await createUser(pool, {
    displayName: 'Ava Owner',
    email: `owner+${randomBytes(3).toString('hex')}@starforge.example`,
  });
  const org = await createOrganization(
    pool,
    { name: 'Starforge Games', slug: opts.slug ?? 'starforge', ownerUserId: owner.id },
    SYSTEM,
  );
  const ownerActor: Actor = { type: 'user', id: owner.id };
  const staffSpec = [
    ['Sam Admin', 'admin'],
    ['Mia Moderator', 'moderator'],
    ['Leo Moderator', 'moderator'],
    ['Kai Agent', 'agent'],
    ['Vic Viewer', 'viewer'],
  ] as const;
  const staff: string[] = [];
  for (const [name] of staffSpec) staff.push((await createUser(pool, { displayName: name })).id);
  const count = opts.ticketCount ?? 300;

  const { teamIds, gameId, categoryIds, players } = await withTenant(pool, org.id, async (tx) => {
    for (const [i, [, role]] of staffSpec.entries())
      await addMember(tx, { userId: staff[i] as string, role }, ownerActor);
    const support = await createTeam(
      tx,
      { name: 'Player Support', description: 'Bugs, billing, accounts' },
      ownerActor,
    );
    const safety = await createTeam(
      tx,
      { name: 'Trust & Safety', description: 'Reports and moderation' },
      ownerActor,
    );
    for (const uid of [staff[0], staff[3]])
      await addTeamMember(tx, { teamId: support.id, userId: uid as string }, ownerActor);
    for (const uid of [staff[1], staff[2]])
      await addTeamMember(tx, { teamId: safety.id, userId: uid as string }, ownerActor);
    const settings = await seedSettings(tx, owner.id, [support.id, safety.id]);
    await tx.query(
      `insert into discord_guilds (org_id, guild_id, name, settings) values ($1::uuid, $2::text, 'Starforge Community', $3::jsonb)`,
      [
        tx.orgId,
        String(1100000000000000000n + BigInt(opts.seed ?? 42)),
        JSON.stringify({ ticketMode: 'thread', limits: { openPerPlayer: 3, cooldownSeconds: 60 } }),
      ],
    );
    const players = [];
    for (let i = 0; i < 60; i++) {
      players.push(
        await upsertPlayer(tx, {
          displayName: `Player${1000 + i}`,
          discordUserId: i % 3 !== 2 ? `12000000000000${String(1000 + i).padStart(5, '0')}` : undefined,
          gameId: settings.gameId,
          gameAccountId: `acct-${1000 + i}`,
          email: i % 4 === 0 ? `player${1000 + i}@mail.example` : undefined,
        }),
      );
    }
    return { teamIds: [support.id, safety.id], ...settings, players };
  });

  const origins = ['discord', 'discord', 'discord', 'game', 'game', 'email', 'panel', 'api'] as const;
  const priorities: Priority[] = ['low', 'normal', 'normal', 'normal', 'high', 'urgent'];
  const batch = 25;
  for (let start = 0; start < count; start += batch) {
    await withTenant(pool, org.id, async (tx) => {
      for (let i = start; i < Math.min(count, start + batch); i++) {
        const player = r.pick(players);
        const playerActor: Actor = { type: 'player', id: player.id };
        const staffActor: Actor = { type: 'user', id: r.pick(staff.slice(0, 4)) };
        const { ticket } = await tickets.openTicket(
          tx,
          {
            subject: r.pick(SUBJECTS),
            body: r.pick(BODIES),
            origin: r.pick(origins),
            requesterId: player.id,
            priority: r.pick(priorities),
            categoryId: r.pick(categoryIds),
            teamId: r.pick(teamIds),
            gameId,
            tags: r.next() < 0.3 ? [r.pick(['bug', 'billing', 'vip', 'crash', 'report'])] : [],
          },
          playerActor,
        );
        const fate = r.next();
        if (fate < 0.75) {
          if (staffActor.type === 'user' && r.next() < 0.8)
            await tickets.assign(tx, { ticketId: ticket.id, assigneeId: staffActor.id }, staffActor);
          await tickets.reply(
            tx,
            { ticketId: ticket.id, body: r.pick(STAFF_REPLIES), origin: 'panel' },
            staffActor,
          );
        }
        if (fate < 0.15)
          await tickets.addNote(tx, { ticketId: ticket.id, body: 'Escalated to the dev team.' }, staffActor);
        if (fate < 0.55) {
          const solved = await tickets.setStatus(
            tx,
            { ticketId: ticket.id, status: r.next() < 0.5 ? 'solved' : 'closed' },
            staffActor,
          );
          if (r.next() < 0.6)
            await tickets.rate(tx, { ticketId: solved.id, rating: 1 + r.int(5) }, playerActor);
        } else if (fate < 0.65) {
          await tickets.setStatus(tx, { ticketId: ticket.id, status: 'pending' }, staffActor);
        } else if (fate < 0.7) {
          await tickets.setStatus(tx, { ticketId: ticket.id, status: 'on_hold' }, staffActor);
        }
        // Spread creation over the last 30 days so the analytics have a history to draw.
        const ageMinutes = r.int(30 * 24 * 60);
        await tx.query(
          `update tickets set created_at = now() - make_interval(mins => $2::int),
             updated_at = now() - make_interval(mins => greatest($2::int - 90, 0))
           where id = $1::uuid`,
          [ticket.id, ageMinutes],
        );
      }
    });
  }
  return { orgId: org.id, ownerId: owner.id, tickets: count };
}

/** Seeds the demo only into an empty database (no users at all), so restarts never duplicate it. */
export async function seedDemoIfEmpty(pool: Pool, logger: Logger): Promise<void> {
  const r = await pool.query<{ any: boolean }>('select exists (select 1 from users) as any');
  if (r.rows[0]?.any) return;
  const t = Date.now();
  const s = await seedDemo(pool);
  logger.info(
    { orgId: s.orgId, tickets: s.tickets, ms: Date.now() - t },
    'loaded the demo workspace "Starforge Games"',
  );
}
