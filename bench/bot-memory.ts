import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChannelType } from 'discord.js';
import { type FakeDiscord, type SeededGuild, startFakeDiscord } from '../test/support/fake-discord/index.js';
import type { Benchmark } from './lib/benchmark.js';
import { compiledBuild } from './lib/build.js';

const GUILDS = 2_500;
const CHANNELS_WITH_TRAFFIC = 2;
const MESSAGES_PER_CHANNEL = 10;
const CHILD = fileURLToPath(new URL('./lib/bot-memory-child.ts', import.meta.url));

interface Sample {
  phase: 'idle' | 'busy';
  mode: string;
  before: number;
  after: number;
  /** Of `after`, the gateway thread's heap (the lean side's, idle). */
  threadBytes?: number;
  counts: Record<string, number>;
}

/** Logs a client in (idle heap), then plays the conversation traffic (busy heap). */
function measure(
  mode: 'lean' | 'default',
  fake: FakeDiscord,
  guilds: number,
  traffic: { messages: number; play: () => Promise<void> },
  build: string,
): Promise<Sample[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--max-old-space-size=4096',
        '--import',
        'tsx',
        CHILD,
        mode,
        `${fake.url}/api`,
        fake.botToken,
        String(guilds),
        String(traffic.messages),
        build,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    const samples: Sample[] = [];
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        const sample = JSON.parse(line) as Sample;
        samples.push(sample);
        if (sample.phase === 'idle') traffic.play().catch(reject);
      }
    });
    child.once('exit', (code) => {
      if (code !== 0 || samples.length !== 2)
        return reject(new Error(`${mode} measurement exited with ${code}`));
      resolve(samples);
    });
  });
}

/** A guild as the bench seeds them: 3 categories, 27 channels (one a forum), 20 roles, 5 members. */
function seedGuild(fake: FakeDiscord, i: number): { guild: SeededGuild; members: string[] } {
  const members = [0, 1, 2, 3, 4].map(() => fake.addUser().id);
  const guild = fake.state.addGuild({
    name: `Guild ${i}`,
    members,
    roles: Array.from({ length: 19 }, (_, r) => ({ name: `role-${r}`, permissions: '0' })),
    channels: [
      ...['Info', 'Community', 'Support'].map((name) => ({ name, type: ChannelType.GuildCategory })),
      ...Array.from({ length: 27 }, (_, c) => ({
        name: `channel-${c}`,
        parent: ['Info', 'Community', 'Support'][c % 3],
        ...(c === 26 ? { type: ChannelType.GuildForum } : {}),
      })),
    ],
  });
  return { guild, members };
}

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/**
 * Heap per guild at 2,500 guilds (one shard's maximum), each with 30 channels in 3 categories,
 * 20 roles, and a handful of members in its GUILD_CREATE: the bot as it runs (its lean cache
 * settings, its shards in the gateway thread, from the compiled build) against discord.js's
 * defaults in one thread, with the same intents, each measured twice in a fresh process. Per
 * guild is the slope between one guild and 2,500: what the client holds for any guild at all
 * (the gateway thread's modules, the managers) is a cost per process, printed apart.
 */
export const botMemory: Benchmark = {
  name: 'bot-memory',
  description: 'bot heap per guild at 2,500 guilds, lean cache vs discord.js defaults',
  async run(log) {
    const build = await compiledBuild(log);
    const fake = await startFakeDiscord({ heartbeatIntervalMs: 41_250 });
    const one = await startFakeDiscord({ heartbeatIntervalMs: 41_250 });
    try {
      const started = Date.now();
      const seeded = Array.from({ length: GUILDS }, (_, i) => seedGuild(fake, i));
      seedGuild(one, 0);
      // Conversation traffic: every guild gets messages from its members in two channels.
      const traffic = {
        messages: GUILDS * CHANNELS_WITH_TRAFFIC * MESSAGES_PER_CHANNEL,
        async play() {
          let n = 0;
          for (const { guild, members } of seeded) {
            for (let c = 0; c < CHANNELS_WITH_TRAFFIC; c++) {
              const channelId = guild.channels[`channel-${c}`] ?? '';
              for (let m = 0; m < MESSAGES_PER_CHANNEL; m++) {
                fake.userMessage(
                  channelId,
                  members[m % members.length] ?? '',
                  `message ${m} in a busy channel`,
                );
                // Let the socket drain now and then.
                if (++n % 500 === 0) await new Promise((r) => setImmediate(r));
              }
            }
          }
        },
      };
      const quiet = { messages: 0, play: async () => {} };
      log(
        `seeded ${GUILDS} guilds (30 channels, 20 roles, 7 members each) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      log(
        `traffic after login: ${CHANNELS_WITH_TRAFFIC * MESSAGES_PER_CHANNEL} messages per guild from its members`,
      );
      const many: Sample[] = [];
      const fixed: Sample[] = [];
      const show = (s: Sample, guilds: number) =>
        log(
          `  ${s.mode.padEnd(7)} ${s.phase.padEnd(4)} ${String(guilds).padStart(4)} guild(s): heap ${MiB(s.after - s.before).padStart(9)}` +
            (s.threadBytes ? ` (gateway thread ${MiB(s.threadBytes)} of it)` : '') +
            `  (cached: ${JSON.stringify(s.counts)})`,
        );
      for (const mode of ['default', 'lean', 'default', 'lean'] as const) {
        const [idle] = await measure(mode, one, 1, quiet, build);
        if (idle) {
          fixed.push(idle);
          show(idle, 1);
        }
        for (const s of await measure(mode, fake, GUILDS, traffic, build)) {
          many.push(s);
          show(s, GUILDS);
        }
      }
      const grown = (xs: Sample[], mode: string, phase: string) =>
        mean(xs.filter((s) => s.mode === mode && s.phase === phase).map((s) => s.after - s.before));
      for (const mode of ['default', 'lean']) {
        const thread = mean(fixed.filter((s) => s.mode === mode).map((s) => s.threadBytes ?? 0));
        log(
          `per process (${mode}, one guild): ${MiB(grown(fixed, mode, 'idle'))}` +
            (thread ? `, the gateway thread ${MiB(thread)} of it` : ''),
        );
      }
      for (const phase of ['idle', 'busy']) {
        const perGuild = (mode: string) =>
          (grown(many, mode, phase) - grown(fixed, mode, 'idle')) / (GUILDS - 1) / 1024;
        const lean = perGuild('lean');
        const base = perGuild('default');
        const total = grown(many, 'lean', phase) / grown(many, 'default', phase);
        log(
          `result (${phase}): lean ${lean.toFixed(1)} KiB/guild, discord.js defaults ${base.toFixed(1)} KiB/guild,` +
            ` ratio ${(lean / base).toFixed(2)} → ${lean < 0.8 * base ? 'PASS' : 'FAIL'} (target: well below, taken as < 0.8×;` +
            ` the whole heap at ${GUILDS} guilds, per-process costs included: ${total.toFixed(2)}×)`,
        );
      }
    } finally {
      await fake.close();
      await one.close();
      rmSync(build, { recursive: true, force: true });
    }
  },
};
