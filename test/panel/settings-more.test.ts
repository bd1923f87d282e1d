import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInvite } from '../../db/invites.js';
import { demoUserId } from '../../db/seed-users.js';
import { withTenant } from '../../db/tenant.js';
import { createUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';
import { type PanelRig, seriousViolations, startPanelRig } from './support.js';

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

/** Screenshots of each page, kept as the run's artifacts (git-ignored). */
const SHOTS = join(process.cwd(), 'test-results', 'panel');
const shot = (page: Page, name: string) =>
  page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

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
async function stranger(name: string): Promise<{ page: Page; userId: string }> {
  const user = await createUser(db.app, { displayName: name });
  const { cookie } = await rig.api.sessionFor(user.id);
  const { ctx, page } = await newPage(name);
  await ctx.addCookies([{ name: 'gm_session', value: cookie as string, url: rig.url }]);
  return { page, userId: user.id };
}

const settings = async (page: Page, section: string, heading: string) => {
  await page.goto(`/o/${orgId}/settings/${section}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
};

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
  mkdirSync(SHOTS, { recursive: true });
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

  it('says in words that a used link can no longer be used', async () => {
    const { page } = await stranger('Too late');
    await page.goto(link);
    const err = page.getByRole('alert');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/can no longer be used: .*used.*expired/);
    expect(await page.getByRole('button', { name: 'Accept and join' }).count()).toBe(0);
    await shot(page, 'invite-used');
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

describe('no errors', () => {
  it('threw no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
