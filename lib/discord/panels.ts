import { createHash } from 'node:crypto';
import { ButtonStyle, ComponentType } from 'discord.js';
import type { Locale } from '../i18n/locales.js';
import { t } from '../i18n/messages.js';

/**
 * A ticket panel's message: its embed and a button (up to 25 categories) or a select per
 * category on offer. Rendered the same by the bot when it posts a panel and by the workers when
 * they edit it after a category changed, so an unchanged panel hashes the same and is left alone.
 */

export interface PanelCategory {
  id: string;
  name: string;
  description: string | null;
}

export interface PanelLook {
  title: string;
  description: string;
  style: 'buttons' | 'select';
}

/** Discord's limits: 5 rows of 5 buttons, or one select of 25 options. */
export const PANEL_MAX_CATEGORIES = 25;

/** `locale` is the server's: a panel is read by everyone in its channel. */
export function panelMessage(
  look: PanelLook,
  categories: readonly PanelCategory[],
  locale: Locale = 'en-US',
): { embeds: unknown[]; components: unknown[] } {
  const offered = categories.slice(0, PANEL_MAX_CATEGORIES);
  const components =
    offered.length === 0
      ? []
      : look.style === 'select'
        ? [
            {
              type: ComponentType.ActionRow,
              components: [
                {
                  type: ComponentType.StringSelect,
                  custom_id: 'gm:open',
                  placeholder: t(locale, 'panel.chooseTopic'),
                  options: offered.map((c) => ({
                    label: c.name.slice(0, 100),
                    value: c.id,
                    ...(c.description ? { description: c.description.slice(0, 100) } : {}),
                  })),
                },
              ],
            },
          ]
        : Array.from({ length: Math.ceil(offered.length / 5) }, (_, row) => ({
            type: ComponentType.ActionRow,
            components: offered.slice(row * 5, row * 5 + 5).map((c) => ({
              type: ComponentType.Button,
              style: ButtonStyle.Primary,
              custom_id: `gm:open:${c.id}`,
              label: c.name.slice(0, 80),
            })),
          }));
  return { embeds: [{ title: look.title, description: look.description }], components };
}

/** What a panel shows, as a short stable hash: an edit is due only when it changes. */
export function panelHash(message: { embeds: unknown[]; components: unknown[] }): string {
  return createHash('sha256').update(JSON.stringify(message)).digest('base64url');
}
