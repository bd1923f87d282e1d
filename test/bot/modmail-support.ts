import type { Harness } from './harness.js';

/** What the modmail tests read from the fake Discord and the database. */
export function modmail(h: Harness) {
  const bot = () => h.fake.state.botUser.id;
  const dmOf = (userId: string) => h.fake.state.openDm(userId).id;
  const posts = (channelId: string) => [...(h.fake.state.messages.get(channelId)?.values() ?? [])];
  return {
    dmOf,
    /** The bot's messages in a user's DM, oldest first. */
    botDms: (userId: string) => posts(dmOf(userId)).filter((m) => m.author.id === bot()),
    /** The bot's messages in a channel or thread. */
    botPosts: (channelId: string) => posts(channelId).filter((m) => m.author.id === bot()),
    fileNames: (m: { attachments: unknown[] }) =>
      (m.attachments as { filename: string }[]).map((a) => a.filename),
    /** The org's ticket opened by DM from this Discord user (the newest). */
    async dmTicket(discordUserId: string) {
      const r = await h.db.admin.query<{
        id: string;
        number: number;
        discord_channel_id: string;
        org_id: string;
      }>(
        `select t.id, t.number, t.discord_channel_id, t.org_id from discord_dm_tickets d
         join tickets t on t.id = d.ticket_id where d.discord_user_id = $1 order by d.created_at desc limit 1`,
        [discordUserId],
      );
      return r.rows[0];
    },
    async messages(ticketId: string) {
      return (
        await h.db.admin.query<{ id: string; body: string; author_type: string; external_id: string | null }>(
          'select id, body, author_type, external_id from messages where ticket_id = $1 order by created_at, id',
          [ticketId],
        )
      ).rows;
    },
    async relays(ticketId: string) {
      return (
        await h.db.admin.query<{ target: string; outcome: string; body: string }>(
          `select r.target, r.outcome, m.body from discord_dm_relays r join messages m on m.id = r.message_id
           where m.ticket_id = $1 order by r.created_at`,
          [ticketId],
        )
      ).rows;
    },
    /** The edit of the message a component sat on, after a deferred update. */
    async editedPrompt(token: string) {
      const edit = await h.fake.waitForRequest(
        { method: 'PATCH', path: `/webhooks/${h.fake.applicationId}/${token}/messages/@original` },
        15_000,
      );
      return edit.body as { content?: string; components?: { components: { custom_id: string }[] }[] };
    },
  };
}
