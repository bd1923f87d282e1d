import type { InteractionHandle } from '../../test/support/fake-discord/index.js';
import type { Stack } from './stack.js';

/** One API request of the load: when it went out, when it ended, and how. */
export interface Sent {
  kind: 'open' | 'reply';
  marker: string;
  sentAt: number;
  doneAt: number;
  /** HTTP status, or 0 for a network error or a timeout (10 s). */
  status: number;
}

export interface Played {
  sentAt: number;
  handle: InteractionHandle;
  ack: { at: number } | null | undefined;
}

const REQUEST_TIMEOUT_MS = 10_000;
let seq = 0;

/**
 * Steady open-loop load: `perSecond` ticket opens and as many replies (to tickets that live on
 * Discord, so each reply is a Discord delivery job) through the API, and, when `interactions` is
 * set, that many `/ticket open` interactions per second through the fake Discord to the bot.
 */
export function startLoad(stack: Stack, opts: { perSecond: number; interactions?: number }) {
  const sent: Sent[] = [];
  const played: Played[] = [];
  const pending = new Set<Promise<unknown>>();
  const timers: NodeJS.Timeout[] = [];
  const headers = { authorization: `Bearer ${stack.token}`, 'content-type': 'application/json' };
  const request = (kind: Sent['kind']) => {
    const marker = `fx${process.pid}-${++seq}`;
    const t = stack.discordTickets[seq % stack.discordTickets.length] as { id: string };
    const rec: Sent = { kind, marker, sentAt: Date.now(), doneAt: 0, status: 0 };
    sent.push(rec);
    const url =
      kind === 'open'
        ? `${stack.apiUrl}/v1/orgs/${stack.orgId}/tickets`
        : `${stack.apiUrl}/v1/orgs/${stack.orgId}/tickets/${t.id}/replies`;
    const body =
      kind === 'open'
        ? { subject: `Crash on launch ${marker}`, body: `The game crashes at the splash screen (${marker}).` }
        : { body: `We are looking into it (${marker}).` };
    const p = fetch(url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    })
      .then(async (res) => {
        await res.arrayBuffer();
        rec.status = res.status;
      })
      .catch(() => {
        rec.status = 0;
      })
      .finally(() => {
        rec.doneAt = Date.now();
        pending.delete(p);
      });
    pending.add(p);
  };
  const every = 1000 / opts.perSecond;
  timers.push(setInterval(() => request('open'), every));
  timers.push(setInterval(() => request('reply'), every));
  if (opts.interactions) {
    timers.push(
      setInterval(() => {
        const n = ++seq;
        const handle = stack.fake.sendInteraction({
          kind: 'chatInput',
          name: 'ticket',
          subcommand: 'open',
          guildId: stack.guildId,
          channelId: stack.supportChannelId,
          userId: stack.players[n % stack.players.length] as string,
          options: [{ name: 'subject', value: `Gateway ${n}` }],
        });
        const rec: Played = { sentAt: Date.now(), handle, ack: undefined };
        played.push(rec);
        const p = handle.response
          .then((r) => {
            rec.ack = r ? { at: Date.now() } : null;
          })
          .catch(() => {
            rec.ack = null;
          })
          .finally(() => pending.delete(p));
        pending.add(p);
      }, 1000 / opts.interactions),
    );
  }
  return {
    sent,
    played,
    async stop() {
      for (const t of timers) clearInterval(t);
      await Promise.all(pending);
    },
  };
}

export type Load = ReturnType<typeof startLoad>;
