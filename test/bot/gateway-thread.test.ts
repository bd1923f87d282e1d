import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawAck } from '../../bot/acks.js';
import { ackTable } from '../../bot/registry.js';
import { registry } from '../../lib/metrics.js';
import type { RequestRecord } from '../support/fake-discord/log.js';
import { type Harness, interact, startHarness } from './harness.js';

/**
 * The shards run in the gateway thread, which acknowledges an interaction whose first answer is
 * an ephemeral deferral as soon as it arrives; the main thread then answers by editing it. The
 * thread's requests say so in their User-Agent.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

const CALLBACK = '/interactions/:interaction_id/:interaction_token/callback';
const fromThread = (r: RequestRecord) => (r.headers['user-agent'] ?? '').includes('GameMod-gateway-thread');
const callbacksOf = (interactionId: string) =>
  h.fake.requests({ method: 'POST', route: CALLBACK }).filter((r) => r.path.includes(`/${interactionId}/`));

const stats = () =>
  interact(h, {
    kind: 'chatInput',
    name: 'stats',
    guildId: h.guild.id,
    channelId: h.guild.channels['support'] ?? '',
    userId: h.users.moderator,
  });

describe('the gateway thread', () => {
  it('acknowledges a deferred command itself; the main thread answers by editing the deferral', async () => {
    const a = await stats();
    expect(a.content).toMatch(/^\*\*You\*\*: \d+ open/);
    expect(a.handle.record.callback).toMatchObject({ type: 5, data: { flags: 64 } });
    const callbacks = callbacksOf(a.handle.record.id);
    expect(callbacks).toHaveLength(1);
    expect(callbacks.every(fromThread)).toBe(true);
  });

  it('leaves a command answered by a form to the main thread', async () => {
    const a = await interact(h, {
      kind: 'chatInput',
      name: 'ticket',
      subcommand: 'open',
      guildId: h.guild.id,
      channelId: h.guild.channels['support'] ?? '',
      userId: h.users.player,
    });
    expect(a.type).toBe(9);
    const callbacks = callbacksOf(a.handle.record.id);
    expect(callbacks).toHaveLength(1);
    expect(callbacks.some(fromThread)).toBe(false);
  });

  it('when Discord fails its acknowledgement, the main thread acknowledges and answers', async () => {
    h.fake.failNext({ method: 'POST', route: CALLBACK }, 500);
    const a = await stats();
    expect(a.content).toMatch(/^\*\*You\*\*: \d+ open/);
    const callbacks = callbacksOf(a.handle.record.id);
    expect(callbacks.map((r) => [fromThread(r), r.status])).toEqual([
      [true, 500],
      [false, 204],
    ]);
  });

  it('when the acknowledgement landed but its answer was lost, the main thread finds it taken and answers', async () => {
    h.fake.loseAnswerNext({ method: 'POST', route: CALLBACK });
    const a = await stats();
    expect(a.content).toMatch(/^\*\*You\*\*: \d+ open/);
    const callbacks = callbacksOf(a.handle.record.id);
    expect(callbacks.map((r) => [fromThread(r), r.answerLost ?? false, r.status])).toEqual([
      [true, true, 204],
      [false, false, 400],
    ]);
    expect(a.handle.record.rejectedCallbacks).toEqual([expect.objectContaining({ code: 40060 })]);
  });

  it('a replayed interaction is refused in the thread and not handled again', async () => {
    const a = await stats();
    const edits = () =>
      h.fake
        .requests({ method: 'PATCH' })
        .filter((r) => r.path.includes(`/webhooks/`) && r.path.includes(a.handle.record.token)).length;
    const answered = edits();
    h.fake.replayInteraction(a.handle);
    await h.fake.waitForRequest((r) => r.route === CALLBACK && r.status === 400 && fromThread(r));
    expect(a.handle.record.rejectedCallbacks).toEqual([expect.objectContaining({ code: 40060 })]);
    // The next interaction is answered: the refused one was passed on and dropped, not stuck.
    expect((await stats()).content).toMatch(/^\*\*You\*\*/);
    expect(edits()).toBe(answered);
  });

  it("tells its heap, which the process's heap figures leave out, to the bot's metrics", async () => {
    const text = await registry.getSingleMetricAsString('gamemod_bot_gateway_thread_heap_bytes');
    const bytes = Number(/^gamemod_bot_gateway_thread_heap_bytes (\d+)$/m.exec(text)?.[1]);
    // A thread with the shards' WebSocket and inflate loaded holds megabytes, not nothing.
    expect(bytes).toBeGreaterThan(1024 * 1024);
  });

  it('reads acks from raw payloads as the handlers declare them', () => {
    const t = ackTable();
    const cmd = (name: string, options: unknown[] = []) =>
      rawAck(t, { type: 2, data: { name, options } as never });
    expect(cmd('stats')).toBe('defer');
    expect(cmd('ticket', [{ type: 1, name: 'open', options: [] }])).toBe('self');
    expect(
      cmd('ticket', [{ type: 1, name: 'open', options: [{ type: 3, name: 'subject', value: 'x' }] }]),
    ).toBe('defer');
    expect(cmd('ticket', [{ type: 1, name: 'close', options: [] }])).toBe('self');
    expect(cmd('ticket', [{ type: 1, name: 'info', options: [] }])).toBe('defer');
    expect(cmd('nope')).toBeNull();
    expect(cmd('constructor')).toBeNull();
    expect(rawAck(t, { type: 3, data: { custom_id: 'gm:close:1' } })).toBe('self');
    expect(rawAck(t, { type: 3, data: { custom_id: 'gm:claim:1' } })).toBe('defer');
    expect(rawAck(t, { type: 5, data: { custom_id: 'gm:form:1' } })).toBe('defer');
    expect(rawAck(t, { type: 3, data: { custom_id: 'gm:__proto__' } })).toBeNull();
    expect(rawAck(t, { type: 3, data: { custom_id: 'other:claim' } })).toBeNull();
    expect(rawAck(t, { type: 4, data: { name: 'ticket' } })).toBeNull();
  });
});
