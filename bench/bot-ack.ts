import { PerformanceObserver } from 'node:perf_hooks';
import { Events, type Interaction, MessageFlags } from 'discord.js';
import pino from 'pino';
import { EARLY_ACK, type EarlyAck } from '../bot/acks.js';
import { createBot } from '../bot/bot.js';
import { SYSTEM } from '../db/changes.js';
import { createGuildLinkCode, redeemGuildLinkCode } from '../db/guild-links.js';
import { setRoleMapping } from '../db/guild-roles.js';
import { updateGuildSettings } from '../db/guilds.js';
import { createOrganization } from '../db/organizations.js';
import { createPool } from '../db/pool.js';
import { withTenant } from '../db/tenant.js';
import { createUser } from '../db/users.js';
import { configDefaults } from '../lib/config.js';
import { lowerMainThreadPriority } from '../lib/priority.js';
import { createSecretBox } from '../lib/secret-box.js';
import { randomSecretKey } from '../lib/secret-key.js';
import { createTicketPages } from '../lib/ticket-links.js';
import { startFakeDiscordProcess } from '../test/support/fake-discord/process-driver.js';
import type { Benchmark } from './lib/benchmark.js';
import { withCluster } from './lib/cluster.js';
import { median, quantile } from './lib/load.js';

const RATES = [50, 200] as const;
/** The bot's ack p99 over the no-I/O baseline's, at each rate, in the same run. */
const TARGET = 1.5;
const ROUNDS = 3;
const ROUND_MS = 4_000;
const WARMUP_MS = 1_500;

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s.at(-1) ?? Number.NaN };
}

const fmt = (s: Stats) =>
  `n=${String(s.n).padStart(4)}  p50 ${s.p50.toFixed(1).padStart(6)} ms  p99 ${s.p99.toFixed(1).padStart(6)} ms  max ${s.max.toFixed(0).padStart(4)} ms`;

/**
 * Interaction acknowledgement latency, measured by the fake Discord (in its own process) from
 * dispatching INTERACTION_CREATE to receiving the callback. Real: staff running `/ticket info` in a
 * ticket thread through the bot's full stack (ephemeral defer by the wrapper, then the guild and
 * role look-ups, RBAC and the ticket read in Postgres, and the answer), the answers' work
 * overlapping later acks. Baseline: the same client, gateway and process with a handler that
 * defers and does nothing else. Rounds alternate at a fixed arrival rate.
 */
export const botAck: Benchmark = {
  name: 'bot-ack',
  description: 'interaction ack p99 at 50 and 200/s, the bot vs a no-I/O acking handler (≤ 1.5×)',
  async run(log) {
    await withCluster(log, async (pgh) => {
      const pool = createPool({
        url: pgh.urlFor('app'),
        max: 10,
        statementTimeoutMs: 10_000,
        connectTimeoutMs: 5_000,
      });
      const fake = await startFakeDiscordProcess();
      const { ready } = fake;
      let stopBot = async () => {};
      try {
        const owner = await createUser(pool, { displayName: 'owner' });
        const org = await createOrganization(
          pool,
          { name: 'Bench', slug: 'bench-ack', ownerUserId: owner.id },
          SYSTEM,
        );
        const { code } = await withTenant(pool, org.id, (tx) => createGuildLinkCode(tx, SYSTEM));
        await redeemGuildLinkCode(pool, { code, guildId: ready.guildId, guildName: 'Bench' });
        await withTenant(pool, org.id, async (tx) => {
          await updateGuildSettings(
            tx,
            ready.guildId,
            { supportChannelId: ready.supportId, maxOpenPerPlayer: 50, cooldownSeconds: 0 },
            SYSTEM,
          );
          await setRoleMapping(
            tx,
            { guildId: ready.guildId, discordRoleId: ready.moderatorRoleId, roleKey: 'moderator' },
            SYSTEM,
          );
        });
        const box = createSecretBox(randomSecretKey());
        const bot = createBot({
          pool,
          logger: pino({ level: 'silent' }),
          apiUrl: `${ready.url}/api`,
          messageContent: true,
          box,
          ticketPages: createTicketPages(randomSecretKey(), 'http://127.0.0.1'),
        });
        stopBot = () => bot.stop(10_000);
        await bot.start(ready.token);
        // As a bot-only process does once started (bot/index.ts); BENCH_BOT_NICE=0 to compare.
        lowerMainThreadPriority(
          Number(process.env['BENCH_BOT_NICE'] ?? configDefaults().discord.handlersNice),
          pino({ level: 'silent' }),
          'bot handlers run below the gateway thread (nice)',
        );
        const client = bot.client;
        const real = client.listeners(Events.InteractionCreate) as ((i: Interaction) => void)[];
        // Acknowledged by the gateway thread already (`bot/gateway.ts`): nothing left to do.
        const acked = new Set<string>();
        const baseline = (i: Interaction) => {
          if (acked.delete(i.id)) return;
          if (i.isRepliable()) i.deferReply({ flags: MessageFlags.Ephemeral }).catch(() => {});
        };
        // When the gateway thread sent each acknowledgement: an ack's latency as the fake measures
        // it is then split into the bot's part (dispatch → the request sent) and the rest (the
        // request's way to the fake, and the fake's own loop, which also handles the answers).
        const sentBy = new Map<string, number>();
        client.on(Events.Raw, (p: { t?: string; d?: { id?: string; [EARLY_ACK]?: EarlyAck } }) => {
          const ack = p.t === 'INTERACTION_CREATE' && p.d?.id ? p.d[EARLY_ACK] : undefined;
          if (!ack || !p.d?.id) return;
          acked.add(p.d.id);
          if ('sent' in ack) sentBy.set(p.d.id, ack.sent);
        });
        const use = (side: 'real' | 'baseline') => {
          acked.clear();
          client.removeAllListeners(Events.InteractionCreate);
          for (const l of side === 'real' ? real : [baseline]) client.on(Events.InteractionCreate, l);
        };
        // One ticket whose thread the staff work in.
        use('real');
        const opened = await fake.play({
          rate: 1,
          ms: 1,
          waitForAnswers: true,
          userIds: 'players',
          sub: 'open',
          subject: 'Bench',
        });
        const threadId = /<#(\d+)>/.exec(opened.answers[0] ?? '')?.[1];
        if (!threadId) throw new Error(`could not open the ticket: ${opened.answers[0]}`);

        // What each interaction costs the bot beside its latency: CPU time of this process (the
        // bot's; the fake runs elsewhere) and database round trips (each client.query is one),
        // steadier figures than a p99 on a shared machine.
        let trips = 0;
        const counted = new WeakSet<object>();
        pool.on('acquire', (c) => {
          if (counted.has(c)) return;
          counted.add(c);
          const query = c.query.bind(c) as (...a: unknown[]) => unknown;
          (c as { query: unknown }).query = (...a: unknown[]) => {
            trips += 1;
            return query(...a);
          };
        });
        const cost = { real: [] as number[], baseline: [] as number[], trips: [] as number[] };
        /** Per side: the fake's CPU per interaction, the bot's GC pauses over 3 ms, answer latencies. */
        const figures = () => ({
          fakeCpu: [] as number[],
          /** The fake's own event-loop delay per round (p99, ms): its share of a slow ack. */
          fakeLag: [] as number[],
          pauses: [] as number[],
          answers: [] as number[],
          /** Dispatch → the gateway thread's acknowledgement sent, per interaction (ms). */
          sent: [] as number[],
        });
        const more = { real: figures(), baseline: figures() };
        const round = async (side: 'real' | 'baseline', rate: number, ms: number) => {
          use(side);
          const pauses: number[] = [];
          const gc = new PerformanceObserver((l) => {
            for (const e of l.getEntries()) if (e.duration > 3) pauses.push(e.duration);
          });
          gc.observe({ entryTypes: ['gc'] });
          const cpu0 = process.cpuUsage();
          const trips0 = trips;
          const m = await fake.play({
            rate,
            ms,
            waitForAnswers: side === 'real',
            userIds: 'staff',
            threadId,
            sub: 'info',
          });
          const missed = m.acks.filter((a) => a === null).length;
          if (missed) throw new Error(`${missed} interactions were not acknowledged within 3 s`);
          const wrong = m.answers.filter((a) => !a.startsWith('**Ticket #1**')).length;
          if (wrong)
            throw new Error(
              `${wrong} answers were not the ticket's info: ${m.answers.find((a) => !a.startsWith('**Ticket'))}`,
            );
          const cpu = process.cpuUsage(cpu0);
          gc.disconnect();
          cost[side].push((cpu.user + cpu.system) / 1000 / m.acks.length);
          more[side].fakeCpu.push(m.cpuMs / m.acks.length);
          more[side].fakeLag.push(m.loopDelayMs.p99);
          more[side].pauses.push(...pauses);
          more[side].answers.push(...m.answerMs);
          for (const [id, at] of m.sent) {
            const sent = sentBy.get(id);
            if (sent !== undefined) more[side].sent.push(sent - at);
            sentBy.delete(id);
          }
          if (side === 'real') cost.trips.push((trips - trips0) / m.acks.length);
          return m.acks as number[];
        };

        for (const rate of RATES) {
          await round('baseline', rate, WARMUP_MS);
          await round('real', rate, WARMUP_MS);
          const all = { real: [] as number[], baseline: [] as number[] };
          for (const xs of Object.values(cost)) xs.length = 0;
          for (const side of Object.values(more)) for (const xs of Object.values(side)) xs.length = 0;
          for (let r = 0; r < ROUNDS; r++) {
            const order = r % 2 === 0 ? (['baseline', 'real'] as const) : (['real', 'baseline'] as const);
            for (const side of order) {
              const xs = await round(side, rate, ROUND_MS);
              all[side].push(...xs);
              log(`  ${rate}/s round ${r + 1} ${side.padEnd(8)} ${fmt(stats(xs))}`);
            }
          }
          const b = stats(all.baseline);
          const real = stats(all.real);
          const ratio = real.p99 / b.p99;
          log(`${rate}/s baseline (no-I/O ack)  ${fmt(b)}`);
          log(`${rate}/s bot (/ticket info)     ${fmt(real)}`);
          log(
            `${rate}/s CPU per interaction: bot ${median(cost.real).toFixed(2)} ms, baseline ${median(cost.baseline).toFixed(2)} ms (medians over the rounds); database round trips per interaction ${median(cost.trips).toFixed(1)}`,
          );
          for (const side of ['real', 'baseline'] as const) {
            const x = more[side];
            const answers = [...x.answers].sort((a, b) => a - b);
            const answered = answers.length
              ? `, answer p50 ${quantile(answers, 0.5).toFixed(0)} ms p99 ${quantile(answers, 0.99).toFixed(0)} ms`
              : '';
            log(
              `${rate}/s ${side.padEnd(8)} fake CPU ${median(x.fakeCpu).toFixed(2)} ms/interaction, its loop delay p99 ${x.fakeLag.map((v) => v.toFixed(0)).join('/')} ms per round; bot GC pauses > 3 ms: ${x.pauses.length}, longest ${Math.max(0, ...x.pauses).toFixed(0)} ms; dispatch → ack sent by the bot ${fmt(stats(x.sent))}${answered}`,
            );
          }
          const sent = { real: stats(more.real.sent), baseline: stats(more.baseline.sent) };
          log(
            `${rate}/s the bot's part alone (dispatch → ack sent, not the target's measure): p99 ${sent.real.p99.toFixed(1)} ms = ${(sent.real.p99 / sent.baseline.p99).toFixed(2)}× the baseline's ${sent.baseline.p99.toFixed(1)} ms`,
          );
          log(
            `${rate}/s result: p99 ${real.p99.toFixed(1)} ms = ${ratio.toFixed(2)}× baseline p99 (target ≤ ${TARGET}×) → ${ratio <= TARGET ? 'PASS' : 'FAIL'}`,
          );
        }
      } finally {
        await stopBot().catch(() => {});
        await fake.stop();
        await pool.end();
      }
    });
  },
};
