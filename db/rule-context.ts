import type { Mood, RuleContext } from './rule-eval.js';
import type { Tx } from './tenant.js';

/** The ticket as rules see it, with the firing message (or else the latest player message). */
export async function loadContext(
  tx: Tx,
  ticketId: string,
  messageId: string | null,
): Promise<RuleContext | null> {
  const r = await tx.query<
    RuleContext['ticket'] & { body: string | null; authorType: string | null; sentiment: Mood | null }
  >(
    `select t.subject, t.status, t.priority, t.origin, t.category_id as "categoryId", t.team_id as "teamId",
       t.assignee_id as "assigneeId", t.game_id as "gameId", t.tags, t.custom_fields as "customFields",
       case when t.player_sentiment_label is null then null
            else json_build_object('label', t.player_sentiment_label, 'score', t.player_sentiment_score) end
         as "playerSentiment",
       m.body, m.author_type as "authorType",
       case when m.sentiment_label is null then null
            else json_build_object('label', m.sentiment_label, 'score', m.sentiment_score) end as sentiment
     from tickets t
     left join lateral (
       select body, author_type, sentiment_label, sentiment_score from messages m
        where m.org_id = t.org_id and m.ticket_id = t.id and m.deleted_at is null
          -- the player's own: a participant's words are not "the player's latest message"
          and (case when $3::uuid is null then m.author_kind = 'player' else m.id = $3::uuid end)
        order by m.created_at desc, m.id desc limit 1
     ) m on true
     where t.org_id = $1::uuid and t.id = $2::uuid and t.merged_into_id is null`,
    [tx.orgId, ticketId, messageId],
  );
  const row = r.rows[0];
  if (!row) return null;
  const { body, authorType, sentiment, ...ticket } = row;
  return { ticket, message: body === null ? null : { body, authorType: authorType ?? 'player', sentiment } };
}
