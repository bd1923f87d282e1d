import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ChannelType } from 'discord.js';
import { type FakeDiscord, type SeededGuild, startFakeDiscord } from '../test/support/fake-discord/index.js';
import type { Benchmark } from './lib/benchmark.js';

const GUILDS = 2_500;
const CHANNELS_WITH_TRAFFIC = 2;
const MESSAGES_PER_CHANNEL = 10;
const CHILD = fileURLToPath(new URL('./lib/bot-memory-child.ts', import.meta.url));

interface Sample {
  phase: 'idle' | 'busy';
  mode: string;
  before: number;
  after: number;
  counts: Record<string, number>;
}

/** Logs a client in (idle heap), then plays the conversation traffic (busy heap). */
function measure(
  mode: 'lean' | 'default',
  fake: FakeDiscord,
  traffic: () => Promise<void>,
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
        String(GUILDS),
        String(GUILDS * CHANNELS_WITH_TRAFFIC * MESSAGES_PER_CHANNEL),
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
        if (sample.phase === 'idle') traffic().catch(reject);
      }
    });
    child.once('exit', (code) => {
      if (code !== 0 || samples.length !== 2)
        return reject(new Error(`${mode} measurement exited with ${code}`));
      resolve(samples);
    });
  });
}

/**
 * Heap per guild at 2,500 guilds (one shard's maximum), each with 30 channels in 3 categories,
 * 20 roles, and a handful of members in its GUILD_CREATE: the bot's lean cache settings against
 * discord.js's defaults, with the same intents, each measured twice in a fresh process.
 */
export const botMemory: Benchmark = {
  name: 'bot-memory',
  description: 'bot heap per guild at 2,500 guilds, lean cache vs discord.js defaults',
  async run(log) {
    const fake = await startFakeDiscord({ heartbeatIntervalMs: 41_250 });
    try {
      const started = Date.now();
      const seeded: { guild: SeededGuild; members: string[] }[] = [];
      for (let i = 0; i < GUILDS; i++) {
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
        seeded.push({ guild, members });
      }
      // Conversation traffic: every guild gets messages from its members in two channels.
      const traffic = async () => {
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
      };
      log(
        `seeded ${GUILDS} guilds (30 channels, 20 roles, 7 members each) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      log(
        `traffic after login: ${CHANNELS_WITH_TRAFFIC * MESSAGES_PER_CHANNEL} messages per guild from its members`,
      );
      const samples: Sample[] = [];
      for (const mode of ['default', 'lean', 'default', 'lean'] as const) {
        for (const s of await measure(mode, fake, traffic)) {
          samples.push(s);
          log(
            `  ${mode.padEnd(7)} ${s.phase.padEnd(4)} heap ${((s.after - s.before) / 1024 / 1024).toFixed(1).padStart(6)} MiB` +
              ` = ${((s.after - s.before) / GUILDS / 1024).toFixed(1).padStart(5)} KiB/guild  (cached: ${JSON.stringify(s.counts)})`,
          );
        }
      }
      const perGuild = (mode: string, phase: string) => {
        const xs = samples
          .filter((s) => s.mode === mode && s.phase === phase)
          .map((s) => (s.after - s.before) / GUILDS / 1024);
        return xs.reduce((a, b) => a + b, 0) / xs.length;
      };
      for (const phase of ['idle', 'busy']) {
        const lean = perGuild('lean', phase);
        const base = perGuild('default', phase);
        log(
          `result (${phase}): lean ${lean.toFixed(1)} KiB/guild, discord.js defaults ${base.toFixed(1)} KiB/guild,` +
            ` ratio ${(lean / base).toFixed(2)} → ${lean < 0.8 * base ? 'PASS' : 'FAIL'} (target: well below, taken as < 0.8×)`,
        );
      }
    } finally {
      await fake.close();
    }
  },
};
