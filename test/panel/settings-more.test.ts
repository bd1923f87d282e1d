import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInvite } from '../../db/invites.js';
import { demoUserId } from '../../db/seed-users.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { type PanelRig, seriousViolations, shot, startPanelRig } from './support.js';

/**
 * Invite links and the settings pages added after the first settings slice, in real headless
 * Chromium against a real API with the demo workspace: each page saves and survives a reload,
 * refusals show next to their control, axe finds nothing serious, phones don't scroll sideways.
 * One browser for the file; one context per member.
 */
const db = useTestDb();
let rig: PanelRig;
let orgId: string;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

async function newPage(name: string, width = 1280): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await rig.browser.newContext({ baseURL: rig.url, viewport: { width, height: 900 } });
  ctx.setDefaultTimeout(8000);
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${name}: ${e}`));
  return { ctx, page };
}

/** A page signed in through the demo sign-in as `role`. */
async function signedIn(role: string, width = 1280): Promise<Page> {
  const { page } = await newPage(role, width);
  await page.goto(`/auth/demo?as=${role}`);
  await page.waitForURL(/\/o\/[0-9a-f-]{36}/);
  return page;
}

/** A page signed in as a new user who belongs to no org (its session cookie set directly). */
async function stranger(name: string, width = 1280): Promise<{ page: Page; userId: string }> {
  const user = await createUser(db.app, { displayName: name });
  const { cookie } = await rig.api.sessionFor(user.id);
  const { ctx, page } = await newPage(name, width);
  await ctx.addCookies([{ name: 'gm_session', value: cookie as string, url: rig.url }]);
  return { page, userId: user.id };
}

/**
 * Opens a settings section: through the settings menu when the page already shows it (client
 * routing: no new page load, modules and session asked again), else by loading its address.
 */
const settings = async (page: Page, section: string, heading: string) => {
  const target = `/o/${orgId}/settings/${section}`;
  const link = page.locator(`nav.settings-nav a[href="${target}"]`);
  if (!page.url().endsWith(target) && (await link.count()) > 0) await link.click();
  else await page.goto(target);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
};
/** Until every part of the page has its data (no "Loading…" left), so checks see the full page. */
const loaded = (page: Page) =>
  expect.poll(() => page.getByText('Loading…').count(), { timeout: 8000 }).toBe(0);

/** The key of the role `userId` holds in `org`, from the database. */
const roleIn = async (org: string, userId: string) =>
  (
    await db.admin.query<{ key: string }>(
      'select r.key from memberships m join roles r on r.id = m.role_id where m.user_id = $1 and m.org_id = $2',
      [userId, org],
    )
  ).rows[0]?.key;

let admin: Page;
beforeAll(async () => {
  rig = await startPanelRig(db.app);
  const adminId = (await demoUserId(db.app, 'admin')) as string;
  const org = await db.admin.query<{ id: string }>(
    'select org_id as id from memberships where user_id = $1',
    [adminId],
  );
  orgId = org.rows[0]?.id as string;
  admin = await signedIn('admin');
}, 60_000);
afterAll(async () => {
  for (const c of contexts) await c.close();
  await rig?.close();
});

describe('invite links', () => {
  let link = '';

  it('opens the link an admin made, as another signed-in user, shows the org and role, and joins with that role', async () => {
    await settings(admin, 'members', 'Members');
    await admin.getByLabel('Role', { exact: true }).selectOption('moderator');
    await admin.getByRole('button', { name: 'Invite', exact: true }).click();
    link = await admin.getByRole('textbox', { name: 'Invite link' }).inputValue();
    expect(link).toMatch(new RegExp(`^${rig.url}/invite/gminv_`));

    const { page, userId } = await stranger('Invited person');
    await page.goto(link);
    await page.getByRole('heading', { level: 1, name: 'Invitation' }).waitFor();
    expect(await page.locator('.invite-role').textContent()).toBe('Moderator');
    expect(await page.locator('.invite-org').textContent()).toBeTruthy();
    expect(await seriousViolations(page)).toEqual([]);
    await shot(page, 'invite');
    await page.getByRole('button', { name: 'Accept and join' }).click();
    await page.waitForURL(`${rig.url}/o/${orgId}`);
    await page.locator('.ticket-list, .empty').first().waitFor();
    expect(await roleIn(orgId, userId)).toBe('moderator');
  });

  it('says in words that a used or expired link can no longer be used (at phone width, without sideways scroll)', async () => {
    const { page } = await stranger('Too late', 375);
    await page.goto(link);
    const err = page.getByRole('alert');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/can no longer be used: .*used.*expired/);
    expect(await page.getByRole('button', { name: 'Accept and join' }).count()).toBe(0);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await shot(page, 'invite-used');
    // An expired link reads the same: the API does not say which (a guesser learns nothing).
    const other = await makeOrg(db.app, 'Expired Studio');
    const { code } = await withTenant(db.app, other.orgId, (tx) =>
      createInvite(tx, { role: 'agent' }, other.owner),
    );
    await db.admin.query(
      "update member_invites set expires_at = now() - interval '1 minute' where org_id = $1",
      [other.orgId],
    );
    await page.goto(`/invite/${code}`);
    expect(await page.getByRole('alert').textContent()).toMatch(/can no longer be used: .*expired/);
  });

  it('sends a signed-out visitor to sign in, then back to the invitation', async () => {
    const other = await makeOrg(db.app, 'Other Studio');
    const { code } = await withTenant(db.app, other.orgId, (tx) =>
      createInvite(tx, { role: 'agent' }, other.owner),
    );
    const { page } = await newPage('signed out');
    await page.goto(`/invite/${code}`);
    await page.getByText('Sign in to accept your invitation.').waitFor();
    await page.getByRole('link', { name: 'Sign in as the demo moderator' }).click();
    await page.waitForURL(`${rig.url}/invite/${code}`);
    expect(await page.locator('.invite-org').textContent()).toBe('Other Studio');
    expect(await page.locator('.invite-role').textContent()).toBe('Agent');
    await page.getByRole('button', { name: 'Accept and join' }).click();
    await page.waitForURL(`${rig.url}/o/${other.orgId}`);
    expect(await roleIn(other.orgId, (await demoUserId(db.app, 'moderator')) as string)).toBe('agent');
  });
});

describe('teams', () => {
  it('names the field a bad team fails on, creates a team, renames it, adds a member, and keeps it all after a reload', async () => {
    await settings(admin, 'teams', 'Teams');
    const create = admin.getByRole('button', { name: 'Create team' });
    await admin.locator('#team-name').fill('   ');
    await create.click();
    expect(await admin.locator('#err-name').textContent()).toBeTruthy();
    expect(await admin.locator('#team-name').getAttribute('aria-invalid')).toBe('true');
    await admin.locator('#team-name').fill('Tier 2');
    await create.click();
    await admin.getByText('Team Tier 2 created.').waitFor();
    const made = admin.locator('li[data-team]', { has: admin.getByRole('form', { name: 'Team Tier 2' }) });
    const card = admin.locator(`li[data-team="${await made.getAttribute('data-team')}"]`);
    await card.getByLabel('Team name', { exact: true }).fill('Tier 2 EU');
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await card.getByText('Saved.').waitFor();
    await card.getByLabel('Add a member to Tier 2 EU').selectOption({ label: 'Kai Agent' });
    await card.getByRole('button', { name: 'Add to team' }).click();
    await card.getByRole('button', { name: 'Take Kai Agent off Tier 2 EU' }).waitFor();
    await admin.reload();
    const after = admin.locator('li[data-team]', {
      has: admin.getByRole('form', { name: 'Team Tier 2 EU' }),
    });
    await after.getByRole('button', { name: 'Take Kai Agent off Tier 2 EU' }).waitFor();
    expect(await after.getByLabel('Team name', { exact: true }).inputValue()).toBe('Tier 2 EU');
    const team = await db.admin.query<{ n: number }>(
      `select count(*)::int as n from team_members tm join teams t on t.id = tm.team_id
        where t.org_id = $1 and t.name = 'Tier 2 EU'`,
      [orgId],
    );
    expect(team.rows[0]?.n).toBe(1);
  });
});

describe('categories and forms', () => {
  it('refuses a bad question key next to the questions, then saves a category with its form, and keeps it after a reload', async () => {
    await settings(admin, 'categories', 'Categories and forms');
    const form = admin.getByRole('form', { name: 'New category' });
    await form.getByLabel('Name', { exact: true }).fill('Refunds');
    await form.getByRole('button', { name: 'Add question' }).click();
    await form.getByLabel('Question 1', { exact: true }).fill('Order number');
    await form.getByLabel(/^Key/).fill('Bad Key!');
    await form.getByRole('button', { name: 'Create category' }).click();
    const err = form.locator('#err-questions-new');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/letters, digits and _/);
    await form.getByLabel(/^Key/).fill('order_number');
    await form.getByRole('button', { name: 'Add question' }).click();
    await form.getByLabel('Question 2', { exact: true }).fill('What happened?');
    await form.getByLabel(/^Key/).nth(1).fill('what');
    await form.getByLabel('Answer').nth(1).selectOption('paragraph');
    await form.getByLabel('In Discord, each ticket is').selectOption('forum');
    await form.getByRole('button', { name: 'Create category' }).click();
    const saved = admin.getByRole('form', { name: 'Category Refunds' });
    await saved.waitFor();
    // A limit the panel does not edit (set through the API) must survive an edit made here.
    await db.admin.query(
      `update ticket_categories set questions = jsonb_set(questions, '{0,maxLength}', '50')
        where org_id = $1 and name = 'Refunds'`,
      [orgId],
    );
    await admin.reload();
    await saved.waitFor();
    expect(await saved.getByLabel('Question 1', { exact: true }).inputValue()).toBe('Order number');
    expect(await saved.getByLabel('Question 2', { exact: true }).inputValue()).toBe('What happened?');
    expect(await saved.getByLabel('Answer').nth(1).inputValue()).toBe('paragraph');
    expect(await saved.getByLabel('In Discord, each ticket is').inputValue()).toBe('forum');
    // An edit: the first question becomes optional and the second goes.
    await saved.getByLabel('Required').first().uncheck();
    await saved.getByRole('button', { name: 'Remove question 2' }).click();
    await saved.getByRole('button', { name: 'Save', exact: true }).click();
    await saved.getByText('Saved.').waitFor();
    const row = await db.admin.query<{
      questions: { key: string; required: boolean; maxLength?: number }[];
      ticket_mode: string;
    }>("select questions, ticket_mode from ticket_categories where org_id = $1 and name = 'Refunds'", [
      orgId,
    ]);
    expect(row.rows[0]?.questions.map((q) => [q.key, q.required, q.maxLength])).toEqual([
      ['order_number', false, 50],
    ]);
    expect(row.rows[0]?.ticket_mode).toBe('forum');
  });
});

describe('canned replies', () => {
  it('creates a reply, previews it with its variables filled, edits it, and keeps it after a reload', async () => {
    await settings(admin, 'canned', 'Canned replies');
    const form = admin.getByRole('form', { name: 'New canned reply' });
    await form.getByLabel('Shortcut', { exact: true }).fill('fixed now');
    await form.getByLabel('Title', { exact: true }).fill('Fixed');
    await form.getByLabel('Body', { exact: true }).fill('Hi {player}, ticket {ticket} is fixed.');
    await form.getByRole('button', { name: 'Create canned reply' }).click();
    expect(await form.locator('#err-shortcut-new').textContent()).toMatch(/letters, digits/);
    await form.getByLabel('Shortcut', { exact: true }).fill('fixed-now');
    await form.getByRole('button', { name: 'Create canned reply' }).click();
    const saved = admin.getByRole('form', { name: 'Canned reply fixed-now' });
    await saved.waitFor();
    await saved.getByRole('button', { name: 'Preview /fixed-now' }).click();
    await saved.getByText('Hi Alex, ticket #1042 is fixed.').waitFor();
    await saved.getByLabel('Body', { exact: true }).fill('Hello {player}: {ticket} is fixed by {agent}.');
    await saved.getByRole('button', { name: 'Save', exact: true }).click();
    await saved.getByText('Saved.').waitFor();
    await admin.reload();
    await saved.waitFor();
    expect(await saved.getByLabel('Body', { exact: true }).inputValue()).toBe(
      'Hello {player}: {ticket} is fixed by {agent}.',
    );
    await saved.getByRole('button', { name: 'Preview /fixed-now' }).click();
    await saved.getByText('Hello Alex: #1042 is fixed by Sam.').waitFor();
  });
});

describe('SLA policies and business calendars', () => {
  it('names a bad day of working hours, saves a calendar and makes it the default, and keeps both after a reload', async () => {
    await settings(admin, 'sla', 'SLA policies');
    const form = admin.getByRole('form', { name: 'New calendar' });
    await form.getByLabel('Calendar name', { exact: true }).fill('EU office');
    await form.getByLabel('Time zone', { exact: true }).fill('Europe/Berlin');
    await form.getByLabel('Monday', { exact: true }).fill('9-5');
    await form.getByRole('button', { name: 'Create calendar' }).click();
    expect(await form.locator('#err-day-mon-newcal').textContent()).toMatch(/"9-5" is not a range/);
    await form.getByLabel('Monday', { exact: true }).fill('08:00-12:00, 13:00-17:00');
    await form.getByLabel('Time zone', { exact: true }).fill('Mars/Olympus');
    await form.getByRole('button', { name: 'Create calendar' }).click();
    expect(await form.locator('#err-timezone-newcal').textContent()).toMatch(/time zone/);
    await form.getByLabel('Time zone', { exact: true }).fill('Europe/Berlin');
    await form.getByLabel(/^Holidays/).fill('2026-12-25, 2026-12-26');
    await form.getByRole('button', { name: 'Create calendar' }).click();
    const saved = admin.getByRole('form', { name: 'Calendar EU office' });
    await saved.waitFor();
    await admin.getByLabel(/^Default calendar/).selectOption({ label: 'EU office' });
    await admin.getByText('Saved.').waitFor();
    await admin.reload();
    await saved.waitFor();
    expect(await saved.getByLabel('Monday', { exact: true }).inputValue()).toBe('08:00-12:00, 13:00-17:00');
    expect(await saved.getByLabel('Saturday', { exact: true }).inputValue()).toBe('');
    expect(await saved.getByLabel(/^Holidays/).inputValue()).toBe('2026-12-25, 2026-12-26');
    const def = admin.getByLabel(/^Default calendar/);
    expect(await def.locator('option:checked').textContent()).toBe('EU office');
  });

  it('refuses a policy with no target under the save button, then saves one, and keeps it after a reload', async () => {
    const form = admin.getByRole('form', { name: 'New policy' });
    await form.getByLabel('Name', { exact: true }).fill('Urgent tickets');
    await form.getByRole('button', { name: 'Create policy' }).click();
    expect(await form.locator('#err-save-newpol').textContent()).toMatch(/at least one of/);
    await form.getByLabel('Priority', { exact: true }).selectOption('urgent');
    await form.getByLabel('First response', { exact: true }).fill('30');
    await form.getByLabel('Resolution', { exact: true }).fill('480');
    await form.getByLabel('Calendar', { exact: true }).selectOption({ label: 'EU office' });
    await form.getByLabel('Raise the priority one step').check();
    await form.getByRole('button', { name: 'Create policy' }).click();
    const saved = admin.getByRole('form', { name: 'Policy Urgent tickets' });
    await saved.waitFor();
    await admin.reload();
    await saved.waitFor();
    expect(await saved.getByLabel('Priority', { exact: true }).inputValue()).toBe('urgent');
    expect(await saved.getByLabel('First response', { exact: true }).inputValue()).toBe('30');
    expect(await saved.getByLabel('Resolution', { exact: true }).inputValue()).toBe('480');
    expect(await saved.getByLabel('Raise the priority one step').isChecked()).toBe(true);
    await saved.getByLabel('First response', { exact: true }).fill('15');
    await saved.getByRole('button', { name: 'Save', exact: true }).click();
    await saved.getByText('Saved.').waitFor();
    const row = await db.admin.query<{ m: number }>(
      "select first_response_minutes as m from sla_policies where org_id = $1 and name = 'Urgent tickets'",
      [orgId],
    );
    expect(row.rows[0]?.m).toBe(15);
  });
});

describe('roles', () => {
  it('creates a custom role with permissions, keeps them after a reload, and shows the 403 when granting what the admin lacks', async () => {
    await settings(admin, 'roles', 'Roles');
    const form = admin.getByRole('form', { name: 'New role' });
    await form.getByLabel(/^Key/).fill('triage');
    await form.getByLabel('Role name', { exact: true }).fill('Triage');
    await form.getByRole('checkbox', { name: /^tickets\.read/ }).check();
    await form.getByRole('checkbox', { name: /^tickets\.note/ }).check();
    await form.getByRole('button', { name: 'Create role' }).click();
    const role = admin.getByRole('form', { name: 'Role Triage' });
    await role.waitFor();
    await admin.reload();
    await role.waitFor();
    expect(await role.getByRole('checkbox', { name: /^tickets\.note/ }).isChecked()).toBe(true);
    expect(await role.getByRole('checkbox', { name: /^tickets\.close/ }).isChecked()).toBe(false);
    // org.manage is the one permission an admin lacks: the API refuses, in words, under Save.
    const owned = role.getByRole('checkbox', { name: /^org\.manage/ });
    expect(await role.locator('label', { hasText: 'org.manage' }).textContent()).toContain(
      "you don't hold it",
    );
    await owned.check();
    await role.getByRole('button', { name: 'Save', exact: true }).click();
    const err = role.locator('#err-save-triage');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/^Not allowed: .*org\.manage/);
    expect(await owned.isChecked()).toBe(false);
    const perms = await db.admin.query<{ p: string[] }>(
      `select array_agg(rp.permission_key order by rp.permission_key) as p from role_permissions rp
         join roles r on r.id = rp.role_id where r.org_id = $1 and r.key = 'triage'`,
      [orgId],
    );
    expect(perms.rows[0]?.p).toEqual(['tickets.note', 'tickets.read']);
  });
});

describe('games and keys', () => {
  it('names a bad slug, adds a game, shows a new key once, lists it after a reload without its secret, and revokes it', async () => {
    await settings(admin, 'games', 'Games and keys');
    const form = admin.getByRole('form', { name: 'New game' });
    await form.getByLabel('Game name', { exact: true }).fill('Starfall');
    await form.getByLabel(/^Slug/).fill('star fall!');
    await form.getByRole('button', { name: 'Add game' }).click();
    expect(await form.locator('#err-slug').textContent()).toMatch(/letters, digits and -/);
    await form.getByLabel(/^Slug/).fill('starfall');
    await form.getByRole('button', { name: 'Add game' }).click();
    const card = admin.locator('li[data-game="starfall"]');
    await card.waitFor();
    await card.getByLabel("New key's name").fill('Game server');
    await card.getByRole('checkbox', { name: /sessions:write/ }).uncheck();
    await card.getByRole('button', { name: 'Create key' }).click();
    const secret = await card.getByRole('textbox', { name: 'New game key' }).inputValue();
    expect(secret.length).toBeGreaterThan(20);
    await admin.reload();
    const row = admin.locator('li[data-game="starfall"] tr[data-key="Game server"]');
    await row.waitFor();
    expect(await row.textContent()).toContain(
      'tickets:create, tickets:read_own, reports:create'.split(', ').sort().join(', '),
    );
    expect(await admin.content()).not.toContain(secret);
    await row.getByRole('button', { name: 'Revoke key Game server' }).click();
    await row.getByRole('button', { name: 'Revoke Game server' }).click();
    await row.getByText(/^Revoked/).waitFor();
  });
});

describe('retention', () => {
  it('names a missing number of days and an action the target refuses, saves a policy, and keeps it after a reload', async () => {
    await settings(admin, 'retention', 'Retention');
    const form = admin.getByRole('form', { name: 'Ticket messages' });
    await form.getByText('Now: kept for ever.').waitFor();
    await form.getByRole('button', { name: 'Save' }).click();
    await form.locator('#err-days-messages').waitFor();
    await form.getByLabel('Keep for (days)').fill('365');
    await form.getByLabel('Then').selectOption('purge');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.getByText('Saved.').waitFor();
    const audit = admin.getByRole('form', { name: 'Audit log entries' });
    await audit.getByLabel('Keep for (days)').fill('400');
    await audit.getByLabel('Then').selectOption('anonymise');
    await audit.getByRole('button', { name: 'Save' }).click();
    expect(await audit.locator('#err-action-audit_logs').textContent()).toMatch(/only be purged/);
    await admin.reload();
    await form.getByText('Now: deleted after 365 days.').waitFor();
    expect(await form.getByLabel('Keep for (days)').inputValue()).toBe('365');
  });
});

describe('Discord servers', () => {
  it("saves a server's channel and limit, maps a Discord role (a bad id named), and keeps both after a reload; a link code shows once", async () => {
    await settings(admin, 'discord', 'Discord servers');
    const card = admin.locator('li[data-guild]').first();
    await card.getByLabel(/^Support channel/).fill('123456789012345678');
    await card.getByLabel('Open tickets per player').fill('5');
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await card.getByText('Saved.').waitFor();
    await card.getByLabel('Discord role id').fill('not-an-id');
    await card.getByRole('button', { name: 'Map role' }).click();
    await card.locator('[id^="err-map-"]').waitFor();
    await card.getByLabel('Discord role id').fill('223456789012345678');
    await card.getByLabel('Acts as').selectOption('moderator');
    await card.getByRole('button', { name: 'Map role' }).click();
    await card.locator('li[data-mapping="223456789012345678"]').waitFor();
    await admin.reload();
    await card.locator('li[data-mapping="223456789012345678"]').waitFor();
    expect(await card.locator('li[data-mapping="223456789012345678"]').textContent()).toContain('Moderator');
    expect(await card.getByLabel(/^Support channel/).inputValue()).toBe('123456789012345678');
    expect(await card.getByLabel('Open tickets per player').inputValue()).toBe('5');
    await admin.getByRole('button', { name: 'Make a link code' }).click();
    expect(await admin.getByRole('textbox', { name: /^Link code/ }).inputValue()).toMatch(
      /^GM-[A-Z0-9]{10}$/,
    );
  });
});

describe('Discord settings per category, and clearing', () => {
  it("clears a server's channel, and sets a category's forum, channel and tag, kept after a reload; an emptied tag is cleared", async () => {
    await settings(admin, 'discord', 'Discord servers');
    const card = admin.locator('li[data-guild]').first();
    const guildId = (await card.getAttribute('data-guild')) as string;
    const stored = async () =>
      (await db.admin.query('select settings from discord_guilds where guild_id = $1', [guildId])).rows[0]
        .settings;
    await card.getByLabel(/^Support channel/).fill('123456789012345679');
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await card.getByText('Saved.').waitFor();
    // Emptied and saved: back to none in the database, not left as it was.
    await card.getByLabel(/^Support channel/).fill('');
    await card.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(async () => (await stored()).supportChannelId ?? 'none').toBe('none');

    const group = card.locator('[data-category]').first();
    const categoryId = (await group.getAttribute('data-category')) as string;
    await group.getByLabel('Ticket mode').selectOption('forum');
    await group.getByLabel('Channel, forum or channel category id').fill('323456789012345678');
    await group.getByLabel('Forum tag id').fill('423456789012345678');
    await card.getByRole('button', { name: 'Save categories' }).click();
    // The server card's own "Saved." from above is still on screen: wait for the row instead.
    await expect
      .poll(async () => (await stored()).categories?.[categoryId])
      .toEqual({ mode: 'forum', channelId: '323456789012345678', forumTagId: '423456789012345678' });
    await admin.reload();
    const again = admin.locator('li[data-guild]').first().locator('[data-category]').first();
    expect(await again.getByLabel('Ticket mode').inputValue()).toBe('forum');
    expect(await again.getByLabel('Forum tag id').inputValue()).toBe('423456789012345678');
    expect(await seriousViolations(admin)).toEqual([]);
    await again.getByLabel('Forum tag id').fill('');
    await admin.locator('li[data-guild]').first().getByRole('button', { name: 'Save categories' }).click();
    await expect
      .poll(async () => (await stored()).categories?.[categoryId])
      .toEqual({ mode: 'forum', channelId: '323456789012345678' });
  });
});

describe('webhook secret rotation', () => {
  it('makes a new signing secret after asking twice, shown once, different from the first', async () => {
    await settings(admin, 'webhooks', 'Webhooks');
    await admin.getByLabel('URL').fill('https://hooks.example.org/rotate');
    await admin.getByRole('checkbox', { name: 'ticket.closed' }).check();
    await admin.getByRole('button', { name: 'Add webhook' }).click();
    const first = await admin.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    const card = admin.locator('li[data-webhook]', { hasText: 'hooks.example.org/rotate' });
    await card
      .getByRole('button', { name: 'New signing secret for https://hooks.example.org/rotate' })
      .click();
    await card.getByRole('button', { name: 'Make a new secret' }).click();
    const next = await admin.getByRole('textbox', { name: /^New signing secret/ }).inputValue();
    expect(next).toMatch(/^whsec_/);
    expect(next).not.toBe(first);
    await admin.reload();
    await card.waitFor();
    expect(await admin.getByRole('textbox', { name: /signing secret/i }).count()).toBe(0);
  });
});

const NEW_SECTIONS = [
  'Roles',
  'Teams',
  'Categories and forms',
  'Canned replies',
  'SLA and business hours',
  'Discord servers',
  'Games and keys',
  'Retention',
];

describe('who sees the new sections', () => {
  it('offers the admin every new section and a moderator only canned replies among them', async () => {
    const names = (page: Page) =>
      page.getByRole('navigation', { name: 'Settings' }).getByRole('link').allTextContents();
    const all = await names(admin);
    for (const s of NEW_SECTIONS) expect(all).toContain(s);
    const moderator = await signedIn('moderator');
    await settings(moderator, 'canned', 'Canned replies');
    const mod = await names(moderator);
    expect(mod).toContain('Canned replies');
    for (const s of NEW_SECTIONS.filter((x) => x !== 'Canned replies')) expect(mod).not.toContain(s);
  });
});

const PAGES = [
  ['roles', 'Roles'],
  ['teams', 'Teams'],
  ['categories', 'Categories and forms'],
  ['canned', 'Canned replies'],
  ['sla', 'SLA policies'],
  ['discord', 'Discord servers'],
  ['games', 'Games and keys'],
  ['retention', 'Retention'],
] as const;

/** The elements reaching past the right edge, named, so a failure says what overflows. */
const OVERFLOWING = `[...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5)
  .map((e) => e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`;

describe('accessibility and phone width', () => {
  it.each(PAGES)('axe finds no serious or critical violation on the %s page', async (section, heading) => {
    await settings(admin, section, heading);
    await loaded(admin);
    expect(await seriousViolations(admin)).toEqual([]);
    await shot(admin, `settings-${section}`);
  });

  it('does not scroll sideways at 375 px on any new page', async () => {
    await admin.setViewportSize({ width: 375, height: 800 });
    for (const [section, heading] of PAGES) {
      await settings(admin, section, heading);
      await loaded(admin);
      const width = await admin.evaluate('document.documentElement.scrollWidth');
      expect(width, `${section}: ${await admin.evaluate(OVERFLOWING)}`).toBeLessThanOrEqual(375);
      await shot(admin, `settings-${section}-phone`);
    }
  });

  it('threw no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
