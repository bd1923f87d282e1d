import { randomUUID } from 'node:crypto';
import type { AutocompleteInteraction } from 'discord.js';
import { listCannedReplies } from '../db/canned-replies.js';
import { listTeams } from '../db/teams.js';
import { orgOf, resolveWhoThen } from './auth.js';
import type { BotDeps } from './context.js';
import { personOf } from './discord-api.js';
import { loadCategories } from './forms.js';

type Choice = { name: string; value: string };

/** Autocomplete has no deferral: whatever is not ready within 1.5 s is answered with no choices. */
export async function withinAutocompleteBudget(work: Promise<Choice[]>): Promise<Choice[]> {
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<Choice[]>((resolve) => {
    timer = setTimeout(() => resolve([]), 1500);
  });
  try {
    return await Promise.race([work.catch(() => []), budget]);
  } finally {
    clearTimeout(timer);
  }
}

export async function categoryChoices(i: AutocompleteInteraction, deps: BotDeps): Promise<Choice[]> {
  const typed = i.options.getFocused().toLowerCase();
  const orgId = await orgOf(deps, i.guildId);
  return (await loadCategories(deps, orgId))
    .filter((c) => c.name.toLowerCase().includes(typed))
    .slice(0, 25)
    .map((c) => ({ name: c.name.slice(0, 100), value: c.name.slice(0, 100) }));
}

/**
 * The org's canned replies are internal: only who may send them (`tickets.reply`, as /tag and
 * /reply require) sees them suggested. The caller is read without joining them to the org (typing
 * is not acting), in the same transaction as the list.
 */
export async function cannedChoices(i: AutocompleteInteraction, deps: BotDeps): Promise<Choice[]> {
  const typed = i.options.getFocused().trim();
  const { value: list } = await resolveWhoThen(
    deps,
    i.guildId,
    personOf(i),
    randomUUID(),
    { join: false },
    async (tx, who) =>
      who.staff && who.permissions.has('tickets.reply')
        ? listCannedReplies(tx, typed ? { search: typed } : {})
        : [],
  );
  return list.map((c) => ({ name: `${c.shortcut} · ${c.title}`.slice(0, 100), value: c.shortcut }));
}

/**
 * The org's team names, for `/team`: to whoever may see the teams (`tickets.read`, as `/team`
 * itself requires), read without joining the caller to the org.
 */
export async function teamChoices(i: AutocompleteInteraction, deps: BotDeps): Promise<Choice[]> {
  const typed = i.options.getFocused().trim().toLowerCase();
  const { value: list } = await resolveWhoThen(
    deps,
    i.guildId,
    personOf(i),
    randomUUID(),
    { join: false },
    async (tx, who) => (who.staff && who.permissions.has('tickets.read') ? listTeams(tx) : []),
  );
  return list
    .filter((t) => t.name.toLowerCase().includes(typed))
    .slice(0, 25)
    .map((t) => ({ name: t.name.slice(0, 100), value: t.name.slice(0, 100) }));
}
