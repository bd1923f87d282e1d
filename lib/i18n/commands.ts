import { DISCORD_LOCALES, LOCALES } from './locales.js';
import { CATALOGS } from './messages.js';

/**
 * Slash commands with `name_localizations` and `description_localizations` (on the command, its
 * subcommands and options) and choice `name_localizations`, from each catalog's table keyed by the
 * command's path (`ticket.close.reason`; a context menu by its English name). Discord shows a
 * member the names and descriptions of their client's language and still sends the English names
 * in interactions, so handlers never see a translation.
 */

interface CommandNode {
  name: string;
  type?: number;
  description?: string;
  options?: CommandNode[];
  choices?: Array<{ name: string; value: string | number; name_localizations?: Record<string, string> }>;
  name_localizations?: Record<string, string>;
  description_localizations?: Record<string, string>;
}

const TRANSLATED = LOCALES.filter((l) => l !== 'en-US');

/** Every Discord locale a translated catalog answers for, with its text. */
function byDiscordLocale(pick: (locale: (typeof TRANSLATED)[number]) => string | undefined) {
  const out: Record<string, string> = {};
  for (const locale of TRANSLATED) {
    const text = pick(locale);
    if (text) for (const d of DISCORD_LOCALES[locale]) out[d] = text;
  }
  return out;
}

function localize(node: CommandNode, path: string, contextMenu: boolean): CommandNode {
  const names = byDiscordLocale((l) => CATALOGS[l].commands[path]?.[0]);
  const descriptions = contextMenu ? {} : byDiscordLocale((l) => CATALOGS[l].commands[path]?.[1]);
  return {
    ...node,
    ...(Object.keys(names).length ? { name_localizations: names } : {}),
    ...(Object.keys(descriptions).length ? { description_localizations: descriptions } : {}),
    ...(node.options ? { options: node.options.map((o) => localize(o, `${path}.${o.name}`, false)) } : {}),
    ...(node.choices
      ? {
          choices: node.choices.map((c) => {
            const labels = byDiscordLocale((l) => CATALOGS[l].choices[path]?.[String(c.value)]);
            return Object.keys(labels).length ? { ...c, name_localizations: labels } : c;
          }),
        }
      : {}),
  };
}

export function localizeCommands<T>(commands: readonly T[]): T[] {
  return commands.map((c) => {
    const node = c as unknown as CommandNode;
    const contextMenu = (node.type ?? 1) !== 1;
    return localize(node, node.name, contextMenu) as unknown as T;
  });
}

/** The command paths a catalog must translate: every command, subcommand and option. */
export function commandPaths(commands: readonly unknown[]): string[] {
  const out: string[] = [];
  const walk = (n: CommandNode, path: string) => {
    out.push(path);
    for (const o of n.options ?? []) walk(o, `${path}.${o.name}`);
  };
  for (const c of commands) walk(c as CommandNode, (c as CommandNode).name);
  return out;
}
