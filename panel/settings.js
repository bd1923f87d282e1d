// @ts-check
import { api } from './api.js';
import { useLoad } from './forms.js';
import { html } from './html.js';
import { CannedSettings } from './settings-canned.js';
import { CategoriesSettings } from './settings-categories.js';
import { DiscordSettings } from './settings-discord.js';
import { GamesSettings } from './settings-games.js';
import { MembersSettings } from './settings-members.js';
import { OrgSettings } from './settings-org.js';
import { RetentionSettings } from './settings-retention.js';
import { RolesSettings } from './settings-roles.js';
import { RulesSettings } from './settings-rules.js';
import { SecuritySettings } from './settings-security.js';
import { SlaSettings } from './settings-sla.js';
import { TeamsSettings } from './settings-teams.js';
import { TokensSettings } from './settings-tokens.js';
import { WebhooksSettings } from './settings-webhooks.js';

/**
 * @typedef {{ id: string, name: string, role: string }} Org
 * @typedef {{ org: Org, me: { id: string, displayName: string }, perms: Set<string>, mfa: string }} SectionProps
 * @typedef {{ key: string, title: string, shown: (perms: Set<string>) => boolean, page: (p: SectionProps) => any }} Section
 */

/**
 * The settings sections in menu order. A section is listed only when the member's role holds what
 * its reads need, so nobody is offered a page that can only answer 403; inside a page, the
 * controls that write check their own permission the same way.
 * @type {Section[]}
 */
const SECTIONS = [
  { key: 'org', title: 'Organization', shown: (p) => p.has('org.manage'), page: OrgSettings },
  { key: 'members', title: 'Members and roles', shown: (p) => p.has('members.read'), page: MembersSettings },
  { key: 'roles', title: 'Roles', shown: (p) => p.has('roles.manage'), page: RolesSettings },
  { key: 'teams', title: 'Teams', shown: (p) => p.has('teams.manage'), page: TeamsSettings },
  {
    key: 'categories',
    title: 'Categories and forms',
    shown: (p) => p.has('categories.manage'),
    page: CategoriesSettings,
  },
  { key: 'canned', title: 'Canned replies', shown: (p) => p.has('canned.manage'), page: CannedSettings },
  { key: 'sla', title: 'SLA and business hours', shown: (p) => p.has('sla.manage'), page: SlaSettings },
  { key: 'rules', title: 'Automation rules', shown: (p) => p.has('rules.manage'), page: RulesSettings },
  { key: 'discord', title: 'Discord servers', shown: (p) => p.has('guilds.manage'), page: DiscordSettings },
  { key: 'games', title: 'Games and keys', shown: (p) => p.has('games.manage'), page: GamesSettings },
  { key: 'retention', title: 'Retention', shown: (p) => p.has('retention.manage'), page: RetentionSettings },
  { key: 'tokens', title: 'API tokens', shown: (p) => p.has('tokens.manage'), page: TokensSettings },
  { key: 'webhooks', title: 'Webhooks', shown: (p) => p.has('webhooks.manage'), page: WebhooksSettings },
  { key: 'security', title: 'Your sign-in security', shown: () => true, page: SecuritySettings },
];

/**
 * The settings area: a menu of the sections this member may use and the chosen one. The member's
 * permissions come from their role in `GET .../roles` (read per request by the API, so a role
 * change shows on the next visit). Without `members.read` only the member's own security is offered.
 * @param {{ org: Org, me: { id: string, displayName: string }, section: string | undefined, mfa: string }} props
 */
export function Settings({ org, me, section, mfa }) {
  const roles = useLoad(async () => {
    try {
      /** @type {{ roles: { key: string, permissions: string[] }[] }} */
      const r = await api('GET', `/v1/orgs/${org.id}/roles`);
      return new Set(r.roles.find((x) => x.key === org.role)?.permissions ?? []);
    } catch {
      // A custom role without members.read can't read the role list: it still has its own security page.
      return new Set();
    }
  }, [org.id, org.role]);
  if (!roles.data)
    return html`<main class="settings" id="main"><p role="status">Loading settings…</p></main>`;
  const perms = roles.data;
  const shown = SECTIONS.filter((s) => s.shown(perms));
  const current = shown.find((s) => s.key === section) ?? shown[0];
  const Page = current?.page;
  return html`<div class="settings">
    <nav class="settings-nav" aria-label="Settings">
      <ul>
        ${shown.map(
          (s) =>
            html`<li>
              <a href=${`/o/${org.id}/settings/${s.key}`} aria-current=${s === current ? 'page' : undefined}>${s.title}</a>
            </li>`,
        )}
      </ul>
    </nav>
    <main id="main" class="settings-page">
      ${Page ? html`<${Page} key=${current.key} org=${org} me=${me} perms=${perms} mfa=${mfa} />` : null}
    </main>
  </div>`;
}
