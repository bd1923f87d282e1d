import type { ModalSubmitInteraction } from 'discord.js';
import { getCategory } from '../../db/categories.js';
import { isUuid, withTenant } from '../../db/tenant.js';
import { resolveWho } from '../auth.js';
import { personOf, threadParentOr } from '../discord-api.js';
import { readAnswers, subjectFrom } from '../forms.js';
import { type ComponentHandler, respond } from '../handler.js';
import { localeOf, refuse } from '../say.js';
import { openedText } from '../ticket-text.js';
import { openFromDiscord } from '../tickets.js';

/** The submitted ticket form (`gm:form:<category|->`): opens the ticket. */
export const ticketForm: ComponentHandler<ModalSubmitInteraction> = {
  action: 'form',
  ack: 'defer',
  async execute(i, ctx, args) {
    const who = await resolveWho(ctx.deps, i.guildId, personOf(i), ctx.requestId);
    const raw = args[0] && args[0] !== '-' ? args[0] : null;
    if (raw && !isUuid(raw)) throw refuse('bad_request', 'open.formStale');
    const category = raw ? await withTenant(ctx.deps.pool, who.orgId, (tx) => getCategory(tx, raw)) : null;
    const answers = readAnswers(i, category);
    const opened = await openFromDiscord(ctx, {
      guildId: who.guildId,
      channelId: threadParentOr(i),
      interactionId: i.id,
      requester: who.person,
      locale: i.locale ?? i.guildLocale,
      categoryId: category?.id ?? null,
      subject: subjectFrom(answers, category),
      answers,
    });
    await respond(i, openedText(opened, localeOf(i)));
  },
};
