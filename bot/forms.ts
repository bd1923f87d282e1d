import {
  ActionRowBuilder,
  ModalBuilder,
  type ModalSubmitInteraction,
  TextInputBuilder,
  TextInputStyle,
} from 'discord.js';
import { type Category, listCategories, type Question } from '../db/categories.js';
import { withTenant } from '../db/tenant.js';
import type { Locale } from '../lib/i18n/locales.js';
import { type MessageKey, t as say } from '../lib/i18n/messages.js';
import { orgOf } from './auth.js';
import type { BotDeps } from './context.js';
import { refuse } from './say.js';

/** Asked when a category has no questions of its own (or when no category is chosen). */
export const DEFAULT_QUESTIONS: Question[] = [
  {
    key: 'subject',
    label: say('en-US', 'form.subjectLabel'),
    style: 'short',
    required: true,
    maxLength: 100,
  },
  {
    key: 'details',
    label: say('en-US', 'form.detailsLabel'),
    style: 'paragraph',
    required: false,
    maxLength: 2000,
  },
];

/**
 * The default questions in the asker's language. A category's own questions are written by the
 * studio in the language it chose, so they are shown as written.
 */
function defaultQuestions(locale: Locale): Question[] {
  const [subject, details] = DEFAULT_QUESTIONS as [Question, Question];
  return [
    { ...subject, label: say(locale, 'form.subjectLabel') },
    { ...details, label: say(locale, 'form.detailsLabel') },
  ];
}

export async function loadCategories(deps: BotDeps, orgId: string): Promise<Category[]> {
  const cached = deps.categories.get(orgId);
  if (cached) return cached;
  const list = await withTenant(deps.pool, orgId, (tx) => listCategories(tx));
  deps.categories.set(orgId, list);
  return list;
}

const refreshing = new Set<string>();

/**
 * For modals: a stale list is answered at once and refreshed behind (one refresh per org at a
 * time), so only a truly cold cache costs a database round trip inside Discord's 3 s.
 */
async function categoriesForModal(deps: BotDeps, orgId: string): Promise<Category[]> {
  const seen = deps.categories.peek(orgId);
  if (!seen) return loadCategories(deps, orgId);
  if (!seen.fresh && !refreshing.has(orgId)) {
    refreshing.add(orgId);
    withTenant(deps.pool, orgId, (tx) => listCategories(tx))
      .then((list) => deps.categories.set(orgId, list))
      .catch((err: unknown) => deps.logger.warn({ err, orgId }, 'could not refresh the ticket categories'))
      .finally(() => refreshing.delete(orgId));
  }
  return seen.value;
}

/**
 * A modal must be the first answer to an interaction, so it cannot wait behind a deferral. The
 * categories come from a per-process cache (filled when a panel is posted, refreshed behind when
 * stale); on a cold cache the lookup gets until 2 s after Discord created the interaction (its
 * deadline is 3 s from then, and the modal still has to travel), or the user is asked to try again.
 */
export function categoryForModal(
  deps: BotDeps,
  guildId: string | null,
  categoryId: string | null,
  createdAt: number,
): Promise<Category | null> {
  return withinBudget(createdAt, async () => {
    const orgId = await orgOf(deps, guildId);
    if (!categoryId) return null;
    const found = (await categoriesForModal(deps, orgId)).find((c) => c.id === categoryId);
    if (!found) throw refuse('not_found', 'open.categoryGone');
    return found;
  });
}

export function categoryByNameForModal(
  deps: BotDeps,
  guildId: string | null,
  name: string | null,
  createdAt: number,
): Promise<Category | null> {
  return withinBudget(createdAt, async () => {
    const orgId = await orgOf(deps, guildId);
    if (!name) return null;
    const found = (await categoriesForModal(deps, orgId)).find(
      (c) => c.name.toLowerCase() === name.trim().toLowerCase(),
    );
    if (!found) throw refuse('not_found', 'open.noCategory', { name });
    return found;
  });
}

/** How long after Discord created an interaction a modal's look-ups may run. */
const MODAL_BUDGET_MS = 2_000;

async function withinBudget<T>(createdAt: number, fn: () => Promise<T>): Promise<T> {
  const work = fn();
  let timer: NodeJS.Timeout | undefined;
  const left = Math.max(0, createdAt + MODAL_BUDGET_MS - Date.now());
  const budget = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(refuse('unavailable', 'open.formSlow')), left);
  });
  try {
    return await Promise.race([work, budget]);
  } finally {
    clearTimeout(timer);
    work.catch(() => {});
  }
}

export function buildForm(category: Category | null, locale: Locale, extra = ''): ModalBuilder {
  const questions = category?.questions.length ? category.questions : defaultQuestions(locale);
  const title = (
    category ? say(locale, 'form.titleCategory', { category: category.name }) : say(locale, 'form.title')
  ).slice(0, 45);
  const modal = new ModalBuilder().setCustomId(`gm:form:${category?.id ?? '-'}${extra}`).setTitle(title);
  for (const q of questions.slice(0, 5)) {
    const input = new TextInputBuilder()
      .setCustomId(q.key)
      .setLabel(q.label.slice(0, 45))
      .setStyle(q.style === 'paragraph' ? TextInputStyle.Paragraph : TextInputStyle.Short)
      .setRequired(q.required);
    if (q.placeholder) input.setPlaceholder(q.placeholder);
    if (q.maxLength) input.setMaxLength(q.maxLength);
    if (q.minLength) input.setMinLength(q.minLength);
    modal.addComponents(new ActionRowBuilder<TextInputBuilder>().addComponents(input));
  }
  return modal;
}

export interface Answer {
  key: string;
  /** As stored with the ticket (its body and fields). */
  label: string;
  value: string;
  /** A label of GameMod's own: the summary shows it in the server's language. */
  labelKey?: MessageKey;
}

/** The default questions' labels, by question key. */
const DEFAULT_LABELS: Record<string, MessageKey> = {
  subject: 'form.subjectLabel',
  details: 'form.detailsLabel',
};

/**
 * Reads a submitted form against the category's questions: required answers present, lengths
 * within the question's limits (Discord enforces them too, but a client can send anything).
 */
export function readAnswers(i: ModalSubmitInteraction, category: Category | null): Answer[] {
  const questions = category?.questions.length ? category.questions : DEFAULT_QUESTIONS;
  const answers: Answer[] = [];
  for (const q of questions) {
    let value = '';
    try {
      value = i.fields.getTextInputValue(q.key).trim();
    } catch {
      value = '';
    }
    if (q.required && !value) throw refuse('validation_failed', 'form.required', { question: q.label });
    const max = q.maxLength ?? 4000;
    if (value.length > max) throw refuse('validation_failed', 'form.tooLong', { question: q.label, max });
    if (q.minLength && value && value.length < q.minLength)
      throw refuse('validation_failed', 'form.tooShort', { question: q.label, min: q.minLength });
    const labelKey = category?.questions.length ? undefined : DEFAULT_LABELS[q.key];
    if (value) answers.push({ key: q.key, label: q.label, value, ...(labelKey ? { labelKey } : {}) });
  }
  if (answers.length === 0) throw refuse('validation_failed', 'form.empty');
  return answers;
}

export function subjectFrom(answers: Answer[], category: Category | null): string {
  const first = answers.find((a) => a.key === 'subject') ?? answers[0];
  const text = (first?.value ?? 'Support request').replace(/\s+/g, ' ');
  return (category && first?.key !== 'subject' ? `${category.name}: ${text}` : text).slice(0, 200);
}

export function closeReasonModal(ticketId: string, locale: Locale): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(`gm:closeform:${ticketId}`)
    .setTitle(say(locale, 'close.modalTitle'))
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId('reason')
          .setLabel(say(locale, 'close.reasonLabel'))
          .setPlaceholder(say(locale, 'close.reasonPlaceholder'))
          .setStyle(TextInputStyle.Paragraph)
          .setRequired(false)
          .setMaxLength(500),
      ),
    );
}

export function ratingModal(
  ticketId: string,
  rating: number,
  guildId?: string,
  locale: Locale = 'en-US',
): ModalBuilder {
  return new ModalBuilder()
    .setCustomId(`gm:rateform:${ticketId}:${rating}${guildId ? `:${guildId}` : ''}`)
    .setTitle(say(locale, 'rating.modalTitle', { stars: '★'.repeat(rating) }).slice(0, 45))
    .addComponents(
      new ActionRowBuilder<TextInputBuilder>().addComponents(
        new TextInputBuilder()
          .setCustomId('comment')
          .setLabel(say(locale, 'rating.commentLabel'))
          .setStyle(TextInputStyle.Paragraph)
          .setRequired(false)
          .setMaxLength(1000),
      ),
    );
}
