import { randomUUID } from 'node:crypto';
import { afterMinutes, Life, later, slaHistory } from './seed-life.js';
import type { Timeline, TimelineInput } from './seed-rows.js';
import type { Origin, Priority } from './ticket-rules.js';

/**
 * The demo's ticket history, generated in memory: each ticket's life (opened, assigned, answered,
 * followed up, put on hold, solved, closed, rated) laid out over the last 90 days, and the rows
 * that life leaves behind (ticket columns, messages, history, audit, SLA log), consistent with one
 * another and with what db/tickets.ts and db/sla-clocks.ts would have written had it happened live.
 * Pure: db/seed.ts inserts the rows in a few batched statements. The row shapes are in
 * seed-rows.ts, one ticket's life and its SLA log in seed-life.ts.
 */

export type Rng = {
  next: () => number;
  int: (n: number) => number;
  pick: <T>(xs: readonly T[]) => T;
};

/** A small deterministic generator, so every demo workspace looks the same. */
export function prng(seed: number): Rng {
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

function weighted<T>(r: Rng, items: ReadonlyArray<readonly [T, number]>): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = r.next() * total;
  for (const [v, w] of items) {
    x -= w;
    if (x < 0) return v;
  }
  return (items.at(-1) as readonly [T, number])[0];
}

/** Log-normal around a median: most waits are near it, a long tail is much longer. */
function lognormal(r: Rng, median: number, spread = 0.8): number {
  const u = Math.max(r.next(), 1e-9);
  const v = r.next();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return median * Math.exp(spread * z);
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const BODIES = [
  'It started yesterday evening and happens every time.',
  'I attached a screenshot, can you have a look?',
  'Please help, this is really frustrating.',
  'Steps: open the game, press play, then it freezes.',
  'This happened right after the last patch.',
  'My friends have the same problem on the same server.',
];
const FIRST_REPLIES = [
  'Thanks for the report, we are looking into it.',
  'Could you send us your game log (Settings → Support → Export logs)?',
  'Thanks! Which region were you playing in when this happened?',
  'Sorry about that. Could you tell us roughly when it happened?',
];
const FOLLOW_UPS = [
  'Here is the log file you asked for.',
  'It happened again just now.',
  'EU West, around 21:00.',
  'Any news on this?',
];
const RESOLUTIONS = [
  'This is fixed in the latest patch, please update.',
  'We have restored your items. Happy gaming!',
  'The refund has been issued; it can take 5 days to show up.',
  'We have taken action against the reported player. Thanks for helping keep the game fair.',
  'Your account is unlocked again.',
];
const RATING_COMMENTS = [
  'Quick and friendly, thanks!',
  'Took a while but solved.',
  'Still not fixed for me.',
];

/** More tickets lately (a growing game), fewer on weekends, most in the European afternoon. */
function openedAt(r: Rng, now: Date, days: number): Date {
  for (;;) {
    // Density rises linearly towards today: the newest day is twice as busy as 90 days ago
    // (inverse of the CDF of a density proportional to 2 - x over x in [0, 1]).
    const dayAgo = Math.floor(days * (2 - Math.sqrt(4 - 3 * r.next())));
    const day = new Date(now.getTime() - dayAgo * DAY);
    const weekday = day.getUTCDay();
    if ((weekday === 0 || weekday === 6) && r.next() < 0.4) continue;
    const hour = weighted(r, HOURS_UTC);
    const at = Date.UTC(
      day.getUTCFullYear(),
      day.getUTCMonth(),
      day.getUTCDate(),
      hour,
      r.int(60),
      r.int(60),
    );
    if (at < now.getTime() - 5 * MIN) return new Date(at);
  }
}
// UTC hours: Europe's evening and day, the Americas' evening.
const HOURS_UTC = Array.from({ length: 24 }, (_, h) => {
  const w = h >= 8 && h <= 21 ? 6 + (h >= 15 && h <= 20 ? 4 : 0) : h <= 3 ? 3 : 1;
  return [h, w] as const;
});

/** How long staff take to answer, in working minutes, by priority (medians of about 1–3 hours). */
const RESPONSE_MEDIAN: Record<Priority, number> = { urgent: 20, high: 60, normal: 120, low: 180 };

/**
 * Half the tickets of the last 10 days are still being worked: their story stops somewhere
 * between their opening and now (some untouched, some waiting on the player or the dev team).
 */
function horizon(r: Rng, createdAt: Date, now: Date): Date {
  const age = now.getTime() - createdAt.getTime();
  if (age > BACKLOG_DAYS * DAY || r.next() >= 0.5) return now;
  return new Date(createdAt.getTime() + r.next() * age * 0.7);
}
const BACKLOG_DAYS = 10;

export function buildTimeline(r: Rng, input: TimelineInput): Timeline {
  const out: Timeline = { tickets: [], messages: [], events: [], notes: [], assignments: [], sla: [] };
  const opened = Array.from({ length: input.count }, () => openedAt(r, input.now, input.days)).sort(
    (a, b) => a.getTime() - b.getTime(),
  );
  for (const [i, createdAt] of opened.entries()) {
    const category = r.pick(input.categories);
    const player = r.pick(input.players);
    const priority = weighted<Priority>(r, [
      ['low', 15],
      ['normal', 55],
      ['high', 22],
      ['urgent', 8],
    ]);
    const origin = weighted<Origin>(r, [
      [player.hasDiscord ? 'discord' : 'game', 45],
      ['game', 25],
      [player.hasEmail ? 'email' : 'game', 12],
      ['panel', 8],
      ['api', 10],
    ]);
    const policy = input.policies[priority];
    const cal = policy.calendar;
    const staff = input.staffByTeam[category.teamId] ?? [];
    const agent = r.pick(staff);
    const life = new Life(randomUUID(), createdAt, horizon(r, createdAt, input.now));
    const me = { type: 'player' as const, id: player.id };
    const them = { type: 'user' as const, id: agent };
    const replyOrigin: Origin = origin === 'discord' ? 'discord' : 'panel';
    const opener = origin === 'panel' ? them : origin === 'api' ? { type: 'system' as const, id: null } : me;
    const subject = r.pick(category.subjects);
    life.event('ticket.created', opener, { number: i + 1, origin, subject }, createdAt);
    life.message(opener.type === 'user' ? them : me, origin, r.pick(BODIES), createdAt);
    // lastPlayerMessageAt only counts what the player wrote.
    if (opener.type === 'user') life.lastStaffAt = null;
    if (opener.type === 'user') life.firstResponseAt = null;

    let assignee: string | null = null;
    const assignAt = afterMinutes(createdAt, lognormal(r, 15, 1));
    if (r.next() < 0.85 && life.fits(assignAt)) {
      assignee = agent;
      life.assignments.push({ ticketId: life.id, userId: agent, assignedBy: agent, assignedAt: assignAt });
      life.event('ticket.assigned', them, { from: null, to: agent }, assignAt);
    }

    // The first answer: working minutes, a long tail; about one in eight misses the target badly.
    const slow = r.next() < 0.12 ? 3 + r.next() * 5 : 1;
    // Community moderators answer Discord tickets in the evening too (calendar time).
    const wait = lognormal(r, RESPONSE_MEDIAN[priority]) * slow;
    const firstAt =
      origin === 'discord' && r.next() < 0.4 ? afterMinutes(createdAt, wait) : later(createdAt, wait, cal);
    const tags = new Set(r.next() < 0.5 ? [r.pick(category.tags)] : []);
    if (life.fits(firstAt)) {
      const waitForPlayer = r.next() < 0.55;
      life.message(them, replyOrigin, r.pick(waitForPlayer ? FIRST_REPLIES : RESOLUTIONS), firstAt);
      let cursor = firstAt;
      let done = !waitForPlayer;
      if (waitForPlayer) {
        life.setStatus('pending', them, cursor);
        // The player answers (or not) hours later; staff answer again in working time.
        for (let round = 0; round < 2 && !done; round++) {
          const backAt = afterMinutes(cursor, lognormal(r, 240, 1));
          if (r.next() < 0.2 || !life.fits(backAt)) break;
          life.message(
            me,
            origin === 'panel' || origin === 'api' ? 'discord' : origin,
            r.pick(FOLLOW_UPS),
            backAt,
          );
          life.setStatus('open', me, backAt);
          const againAt = later(backAt, lognormal(r, RESPONSE_MEDIAN[priority] * 0.8), cal);
          if (!life.fits(againAt)) break;
          if (r.next() < 0.12) {
            const noteId = randomUUID();
            life.notes.push({
              id: noteId,
              ticketId: life.id,
              authorUserId: agent,
              body: 'Escalated to the dev team.',
              createdAt: againAt,
            });
            life.event('note.created', them, { noteId }, againAt);
            life.setStatus('on_hold', them, againAt);
            tags.add('escalated');
            cursor = afterMinutes(againAt, lognormal(r, 2 * 24 * 60, 0.6));
            if (!life.fits(cursor)) break;
            life.setStatus('open', them, cursor);
          } else cursor = againAt;
          const solves = r.next() < 0.7;
          life.message(them, replyOrigin, r.pick(solves ? RESOLUTIONS : FIRST_REPLIES), cursor);
          if (solves) done = true;
          else life.setStatus('pending', them, cursor);
        }
      }
      if (done) {
        // Staff mark it solved once the fix is confirmed: minutes to a day or two later.
        const solvedAt = afterMinutes(cursor, lognormal(r, 8 * 60, 1.2));
        if (life.fits(solvedAt)) {
          life.setStatus('solved', them, solvedAt);
          // Most solved tickets close by themselves a few days later (or the player closes them).
          const closeAt = afterMinutes(solvedAt, lognormal(r, 3 * 24 * 60, 0.4));
          if (r.next() < 0.85 && life.fits(closeAt)) {
            const byPlayer = r.next() < 0.3;
            life.setStatus(
              'closed',
              byPlayer ? me : { type: 'system', id: null },
              closeAt,
              byPlayer ? 'closed by the player' : 'solved and inactive for 3 days',
            );
          }
        }
      }
    }
    // A pending ticket the player never came back to: closed for inactivity after a week.
    if (life.status === 'pending' && life.pendingSince) {
      const closeAt = afterMinutes(life.pendingSince, 7 * 24 * 60);
      if (life.fits(closeAt))
        life.setStatus('closed', { type: 'system', id: null }, closeAt, 'no reply for 7 days');
    }
    let rating: number | null = null;
    let ratingComment: string | null = null;
    let ratedAt: Date | null = null;
    const finishedAt = life.solvedAt ?? life.closedAt;
    if (finishedAt && r.next() < 0.45) {
      const at = afterMinutes(finishedAt, lognormal(r, 90, 1));
      const fits = life.fits(at) && (!life.closedAt || at <= life.closedAt || life.status === 'closed');
      if (fits) {
        const slowFirst =
          life.firstResponseAt && life.firstResponseAt.getTime() - createdAt.getTime() > 8 * HOUR;
        rating = weighted(r, [
          [5, slowFirst ? 20 : 48],
          [4, 28],
          [3, 12],
          [2, slowFirst ? 14 : 5],
          [1, slowFirst ? 12 : 7],
        ]);
        ratingComment =
          r.next() < 0.3 ? ((rating >= 4 ? RATING_COMMENTS[0] : r.pick(RATING_COMMENTS)) ?? null) : null;
        ratedAt = at;
        life.event('ticket.rated', me, { rating }, at);
      }
    }

    const sla = slaHistory(life, policy, input.now);
    life.events.push(...sla.events);
    out.sla.push(...sla.rows);
    const answers = category.answers(r);
    out.tickets.push({
      id: life.id,
      number: i + 1,
      subject,
      status: life.status,
      priority,
      origin,
      requesterId: player.id,
      categoryId: category.id,
      teamId: category.teamId,
      assigneeId: assignee,
      gameId: input.gameId,
      tags: [...tags, player.platform].sort(),
      customFields: { platform: player.platform, buildVersion: player.buildVersion, ...answers },
      discordGuildId: origin === 'discord' ? input.guildId : null,
      rating,
      ratingComment,
      ratedAt,
      firstResponseAt: life.firstResponseAt,
      lastPlayerMessageAt: life.lastPlayerAt,
      lastStaffMessageAt: life.lastStaffAt,
      statusChangedAt: life.statusChangedAt,
      reopenCount: life.reopenCount,
      slaDueAt: sla.dueAt,
      slaBreachedAt: sla.breachedAt,
      solvedAt: life.solvedAt,
      closedAt: life.closedAt,
      closeReason: life.closeReason,
      pendingSince: life.pendingSince,
      createdAt,
      updatedAt: new Date(Math.max(life.last.getTime(), ...life.events.map((e) => e.createdAt.getTime()))),
    });
    out.messages.push(...life.messages);
    out.events.push(...life.events);
    out.notes.push(...life.notes);
    out.assignments.push(...life.assignments);
  }
  out.events.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  return out;
}
