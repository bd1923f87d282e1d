import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { ChannelType } from 'discord.js';
import { startFakeDiscord } from './index.js';
import type { InteractionHandle } from './interactions.js';
import { apiPath, type RequestRecord } from './log.js';
import type { FromFakeProcess, ToFakeProcess } from './process-driver.js';

/**
 * A fake Discord in a process of its own (started by `startFakeDiscordProcess`), so that neither
 * its work nor its clock shares the bot's event loop, as Discord would not: a bench can measure
 * latency from outside the bot, and a test can stall the bot's main thread and still see what
 * Discord saw. One guild with a support channel, a Moderator role, 200 staff (with it) and 200
 * players. On each `round` it plays interactions at a fixed rate and reports each one's
 * acknowledgement latency as measured here (dispatching INTERACTION_CREATE to receiving the
 * callback), each answer's latency (to the edit of the deferred reply) and its own CPU time.
 */
const STAFF = 200;
const PLAYERS = 200;

async function main(): Promise<void> {
  const fake = await startFakeDiscord({ interactionDeadlineMs: 3_000 });
  const staff = Array.from({ length: STAFF }, (_, i) => fake.addUser({ username: `staff${i}` }).id);
  const players = Array.from({ length: PLAYERS }, (_, i) => fake.addUser({ username: `player${i}` }).id);
  const guild = fake.addGuild({
    name: 'Bench',
    roles: [{ name: 'Moderator' }],
    channels: [{ name: 'support', type: ChannelType.GuildText }],
    members: [...staff, ...players],
  });
  for (const id of staff) fake.addMember(guild.id, id, [guild.roles['Moderator'] ?? '']);
  const send = (m: FromFakeProcess) => process.send?.(m);
  let next = 0;
  process.on('message', (raw: ToFakeProcess) => {
    void (async () => {
      if (raw.type === 'stop') {
        await fake.close();
        process.exit(0);
      }
      const cmd = raw;
      if (cmd.delayMs) await sleep(cmd.delayMs);
      const handles: InteractionHandle[] = [];
      // How long this process's own loop kept its work waiting (a callback that arrived while the
      // fake was busy is timed late): the fake's share of a slow acknowledgement.
      const lag = monitorEventLoopDelay({ resolution: 1 });
      lag.enable();
      const cpu0 = process.cpuUsage();
      const start = performance.now();
      const total = Math.max(1, Math.round((cmd.rate * cmd.ms) / 1000));
      const users = cmd.userIds === 'staff' ? staff : players;
      for (let k = 0; k < total; k++) {
        const wait = start + (k * 1000) / cmd.rate - performance.now();
        if (wait > 1) await sleep(wait);
        next += 1;
        handles.push(
          fake.sendInteraction({
            kind: 'chatInput',
            name: 'ticket',
            subcommand: cmd.sub,
            guildId: guild.id,
            channelId: cmd.threadId ?? guild.channels['support'] ?? '',
            userId: users[next % users.length] ?? '',
            ...(cmd.subject ? { options: [{ name: 'subject', value: `${cmd.subject} ${next}` }] } : {}),
          }),
        );
      }
      const acks = await Promise.all(handles.map((h) => h.response));
      const answers: string[] = [];
      const answerMs: number[] = [];
      if (cmd.waitForAnswers) {
        // One pass over the request log every 100 ms (not one per interaction, which is quadratic).
        const paths = handles.map((h) => `/webhooks/${fake.applicationId}/${h.token}/messages/@original`);
        // Only a deferred reply is answered by an edit; one never acknowledged has no answer to wait for.
        const wanted = new Set(paths.filter((_, k) => acks[k]?.type === 5));
        const got = new Map<string, RequestRecord>();
        const deadline = Date.now() + 120_000;
        // Each pass reads only the requests logged since the last (the log holds every request).
        let scanned = 0;
        while (got.size < wanted.size && Date.now() < deadline) {
          const log = fake.log.requests;
          for (; scanned < log.length; scanned++) {
            const r = log[scanned] as RequestRecord;
            if (r.method !== 'PATCH') continue;
            const path = apiPath(r, true);
            if (wanted.has(path) && !got.has(path)) got.set(path, r);
          }
          if (got.size < wanted.size) await sleep(100);
        }
        handles.forEach((h, k) => {
          const edit = got.get(paths[k] ?? '');
          const none = wanted.has(paths[k] ?? '') ? '(no answer within 120 s)' : '(not deferred)';
          answers.push(edit ? ((edit.body as { content?: string }).content ?? '') : none);
          if (edit) answerMs.push(edit.at - h.record.createdAt);
        });
      }
      const cpu = process.cpuUsage(cpu0);
      lag.disable();
      send({
        type: 'done',
        acks: acks.map((a) => (a ? a.ackMs : null)),
        ackTypes: acks.map((a) => (a ? a.type : null)),
        answers,
        answerMs,
        sent: handles.map((h) => [h.id, performance.timeOrigin + h.record.sentAt]),
        cpuMs: (cpu.user + cpu.system) / 1000,
        loopDelayMs: { p99: lag.percentile(99) / 1e6, max: lag.max / 1e6 },
      });
      // What the round left behind (its interactions, their answers, every request and frame
      // logged) is dropped, so the fake's heap, and its collector's pauses, do not grow from
      // round to round and time later rounds' callbacks late.
      for (const h of handles) fake.interactions.forget(h.id);
      fake.log.requests.length = 0;
      fake.log.frames.length = 0;
    })().catch((err: unknown) => send({ type: 'error', message: String(err) }));
  });
  send({
    type: 'ready',
    url: fake.url,
    token: fake.botToken,
    guildId: guild.id,
    supportId: guild.channels['support'] ?? '',
    moderatorRoleId: guild.roles['Moderator'] ?? '',
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
