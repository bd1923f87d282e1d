import { generate } from 'otplib';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoUserId } from '../../db/seed-users.js';
import { useTestDb } from '../support/db.js';
import {
  COUNT_FETCHES,
  fetchesAnswered,
  type PanelRig,
  seriousViolations,
  shot,
  startPanelRig,
} from './support.js';

/**
 * The panel's settings pages in real headless Chromium against a real API with the demo workspace:
 * each saves and survives a reload, secrets show once, refusals show next to their control in
 * words, sections follow the member's permissions, axe finds nothing serious, phones don't scroll
 * sideways. One browser for the file; one context per demo member.
 */
const db = useTestDb();
let rig: PanelRig;
let orgId: string;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

/** A page signed in through the demo sign-in as `role`. */
async function signedIn(role: string, width = 1280): Promise<Page> {
  const ctx = await rig.browser.newContext({ baseURL: rig.url, viewport: { width, height: 900 } });
  ctx.setDefaultTimeout(8000);
  await ctx.addInitScript(COUNT_FETCHES);
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${role}: ${e}`));
  await page.goto(`/auth/demo?as=${role}`);
  await page.waitForURL(/\/o\/[0-9a-f-]{36}/);
  return page;
}

/**
 * Opens a settings section: through the settings menu when the page already shows it (client
 * routing, as a member moves between sections: no new page load), else by loading its address.
 */
const settings = async (page: Page, section: string, heading: string) => {
  const target = `/o/${orgId}/settings/${section}`;
  const link = page.locator(`nav.settings-nav a[href="${target}"]`);
  if (!page.url().endsWith(target) && (await link.count()) > 0) await link.click();
  else await page.goto(target);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  await shot(page, `settings-${section}-${page.viewportSize()?.width ?? 0}px`);
};
const menu = (page: Page) =>
  page.getByRole('navigation', { name: 'Settings' }).getByRole('link').allTextContents();

let admin: Page;
let agentId: string;
/** The key of the role `userId` holds in the demo org, from the database. */
const roleOf = async (userId: string) =>
  (
    await db.admin.query<{ key: string }>(
      'select r.key from memberships m join roles r on r.id = m.role_id where m.user_id = $1 and m.org_id = $2',
      [userId, orgId],
    )
  ).rows[0]?.key;
beforeAll(async () => {
  rig = await startPanelRig(db.app);
  const adminId = (await demoUserId(db.app, 'admin')) as string;
  const org = await db.admin.query<{ id: string }>(
    'select org_id as id from memberships where user_id = $1',
    [adminId],
  );
  orgId = org.rows[0]?.id as string;
  agentId = (await demoUserId(db.app, 'agent')) as string;
  admin = await signedIn('admin');
}, 60_000);
afterAll(async () => {
  for (const c of contexts) await c.close();
  await rig?.close();
});

describe('which settings a member sees', () => {
  it('offers the admin every section but the owner-only organization page', async () => {
    await admin.getByRole('link', { name: 'Settings' }).click();
    await admin.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
    expect(await menu(admin)).toEqual([
      'Members and roles',
      'Roles',
      'Teams',
      'Categories and forms',
      'Canned replies',
      'SLA and business hours',
      'Automation rules',
      'Discord servers',
      'Games and keys',
      'Retention',
      'API tokens',
      'Webhooks',
      'Your sign-in security',
    ]);
  });

  it('offers a viewer only the member list, read-only, and its own security', async () => {
    const viewer = await signedIn('viewer');
    await settings(viewer, 'members', 'Members');
    expect(await menu(viewer)).toEqual(['Members and roles', 'Your sign-in security']);
    await viewer.locator('tbody tr').first().waitFor();
    expect(await viewer.getByRole('combobox').count()).toBe(0);
    expect(await viewer.getByRole('button', { name: /Remove|Invite/ }).count()).toBe(0);
    // A section it may not use, asked for by URL, falls back to one it may.
    await viewer.goto(`/o/${orgId}/settings/tokens`);
    await viewer.getByRole('heading', { level: 1, name: 'Members' }).waitFor();
    expect(await viewer.getByRole('button', { name: 'Create token' }).count()).toBe(0);
  });
});

describe('members and roles', () => {
  it("changes a member's role, and the change is there after a reload", async () => {
    await settings(admin, 'members', 'Members');
    const select = admin.locator(`tr[data-member="${agentId}"] select`);
    expect(await select.inputValue()).toBe('agent');
    await select.selectOption('moderator');
    await admin.getByText(/is now Moderator\./).waitFor();
    expect(await roleOf(agentId)).toBe('moderator');
    await admin.reload();
    await admin.locator(`tr[data-member="${agentId}"] select`).waitFor();
    expect(await admin.locator(`tr[data-member="${agentId}"] select`).inputValue()).toBe('moderator');
    await shot(admin, 'settings-members');
  });

  it('shows the 403 next to the role control when the admin tries to make someone an owner, and keeps the old role', async () => {
    const row = admin.locator(`tr[data-member="${agentId}"]`);
    await row.locator('select').selectOption('owner');
    const err = row.locator('.error');
    await err.waitFor();
    expect(await err.textContent()).toMatch(/^Not allowed: .*owner/i);
    expect(await row.locator('select').getAttribute('aria-describedby')).toBe(await err.getAttribute('id'));
    expect(await row.locator('select').inputValue()).toBe('moderator');
    expect(await roleOf(agentId)).toBe('moderator');
  });

  it('makes an invite link shown once, and lists a Discord invite after a reload', async () => {
    await admin.getByLabel('Role', { exact: true }).selectOption('agent');
    await admin.getByRole('button', { name: 'Invite', exact: true }).click();
    const link = admin.getByRole('textbox', { name: 'Invite link' });
    expect(await link.inputValue()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/.+/);
    await admin.getByLabel(/Discord user id/).fill('123456789012345678');
    await admin.getByRole('button', { name: 'Invite', exact: true }).click();
    await admin.getByText('Invited: the Discord account 123456789012345678').waitFor();
    expect(await admin.getByRole('textbox', { name: 'Invite link' }).count()).toBe(0);
    await admin.reload();
    await admin.getByRole('cell', { name: 'Discord 123456789012345678' }).waitFor();
    expect(await admin.getByRole('cell', { name: 'Link' }).count()).toBe(1);
  });
});

describe("another member's working hours", () => {
  it("lets the admin set a member's working hours from the members page, audited, and shows them after a reload", async () => {
    await settings(admin, 'members', 'Members');
    await admin.getByLabel('Member', { exact: true }).selectOption(agentId);
    const form = admin.getByRole('form', { name: /^Working hours of / });
    await form.getByLabel('Always').uncheck();
    await form.getByLabel('Time zone').fill('Europe/Berlin');
    await form.getByLabel('Monday').fill('09:00-12:00, 13:00-17:00');
    await form.getByRole('button', { name: 'Save working hours' }).click();
    await form.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    const stored = await db.admin.query<{ hours: unknown }>(
      'select working_hours as hours from memberships where user_id = $1 and org_id = $2',
      [agentId, orgId],
    );
    expect(stored.rows[0]?.hours).toEqual({
      timeZone: 'Europe/Berlin',
      week: {
        mon: [
          [540, 720],
          [780, 1020],
        ],
      },
    });
    const audit = await db.admin.query<{ actor_id: string }>(
      `select actor_id from audit_logs where org_id = $1 and action = 'member.working_hours_set' and target_id = $2`,
      [orgId, agentId],
    );
    expect(audit.rows.map((r) => r.actor_id)).toEqual([await demoUserId(db.app, 'admin')]);
    await admin.reload();
    await admin.getByLabel('Member', { exact: true }).selectOption(agentId);
    expect(
      await admin
        .getByRole('form', { name: /^Working hours of / })
        .getByLabel('Monday')
        .inputValue(),
    ).toBe('09:00-12:00, 13:00-17:00');
  });
});

describe('API tokens', () => {
  it('names the field a bad token fails on, next to it', async () => {
    await settings(admin, 'tokens', 'API tokens');
    await admin.getByLabel('Name').fill('   ');
    await admin.getByRole('button', { name: 'Create token' }).click();
    await admin.locator('#err-name').waitFor();
    await admin.locator('#err-scopes').waitFor();
    expect(await admin.getByLabel('Name').getAttribute('aria-invalid')).toBe('true');
  });

  it('creates a token with scopes, shows it once with a copy button, lists it after a reload, and revokes it', async () => {
    await admin.getByLabel('Name').fill('Game server');
    await admin.getByRole('checkbox', { name: /tickets:read/ }).check();
    await admin.getByRole('checkbox', { name: /tickets:write/ }).check();
    await admin.getByRole('button', { name: 'Create token' }).click();
    const secret = admin.getByRole('textbox', { name: 'New API token' });
    const plaintext = await secret.inputValue();
    expect(plaintext).toMatch(/^gm_/);
    expect(await admin.getByRole('button', { name: 'Copy' }).count()).toBe(1);
    // The token works against the API it was made for.
    const me = await fetch(`${rig.url}/v1/me`, { headers: { authorization: `Bearer ${plaintext}` } });
    expect(me.status).toBe(200);
    await admin.reload();
    const row = admin.locator('tr', { hasText: 'Game server' });
    await row.waitFor();
    expect(await row.textContent()).toContain('tickets:read, tickets:write');
    // The call above is the token's last use: the list says when, not "never".
    expect(await row.locator('td').nth(2).textContent()).not.toBe('never');
    expect(await admin.content()).not.toContain(plaintext);
    await shot(admin, 'settings-tokens');
    await row.getByRole('button', { name: 'Revoke Game server' }).click();
    await row.getByRole('button', { name: 'Revoke Game server' }).click();
    await row.getByText(/^Revoked/).waitFor();
    const after = await fetch(`${rig.url}/v1/me`, { headers: { authorization: `Bearer ${plaintext}` } });
    expect(after.status).toBe(401);
  });
});

describe('webhooks', () => {
  it('refuses a loopback target next to the URL field', async () => {
    await settings(admin, 'webhooks', 'Webhooks');
    await admin.getByLabel('URL').fill('http://127.0.0.1:9/hook');
    await admin.getByRole('button', { name: 'Add webhook' }).click();
    expect(await admin.locator('#err-url').textContent()).toMatch(/loopback|127\.0\.0\.1/);
  });

  it('subscribes a URL, shows the secret once, pings it, turns it off, and keeps that after a reload', async () => {
    await admin.getByLabel('URL').fill('https://hooks.example.com/gamemod');
    await admin.getByRole('checkbox', { name: 'ticket.closed' }).check();
    await admin.getByRole('button', { name: 'Add webhook' }).click();
    expect(await admin.getByRole('textbox', { name: 'Signing secret' }).inputValue()).toMatch(/^whsec_/);
    const card = admin.locator('li[data-webhook]', { hasText: 'hooks.example.com' });
    expect(await card.textContent()).toContain('ticket.created, ticket.closed');
    await card.getByRole('button', { name: 'Send test' }).click();
    await admin.getByText(/Test event sent to .*: look for msg_\d+/).waitFor();
    await card.getByRole('button', { name: 'Turn off' }).click();
    await card.getByRole('button', { name: 'Turn on' }).waitFor();
    await admin.reload();
    await admin
      .locator('li[data-webhook]', { hasText: 'hooks.example.com' })
      .getByText('Off', { exact: true })
      .waitFor();
    expect(await admin.getByRole('textbox', { name: 'Signing secret' }).count()).toBe(0);
  });

  it('shows the delivery log and replays a failed delivery', async () => {
    const sub = await db.admin.query<{ id: string }>(
      "select id from webhook_subscriptions where org_id = $1 and url like 'https://hooks.example.com%'",
      [orgId],
    );
    const subId = sub.rows[0]?.id as string;
    await db.admin.query('update webhook_subscriptions set enabled = true where id = $1', [subId]);
    const ev = await db.admin.query<{ id: string }>(
      'select id from outbox where org_id = $1 order by id limit 1',
      [orgId],
    );
    const outboxId = Number(ev.rows[0]?.id);
    await db.admin.query(
      `insert into webhook_deliveries (org_id, subscription_id, outbox_id, event_type, message_id, status, response_status, latency_ms, error)
       values ($1, $2, $3, 'ticket.created', $4, 'failed', 500, 42, 'the server answered 500')`,
      [orgId, subId, outboxId, `msg_${outboxId}`],
    );
    // A manual replay numbered 1 too: the log tells it from the automatic attempt 1.
    const replayed = await db.admin.query<{ id: string }>(
      `insert into webhook_deliveries (org_id, subscription_id, outbox_id, event_type, message_id, status, response_status, latency_ms, replay, created_at)
       values ($1, $2, $3, 'ticket.created', $4, 'succeeded', 200, 12, true, now() - interval '1 minute') returning id`,
      [orgId, subId, outboxId, `msg_${outboxId}`],
    );
    await admin.reload();
    const card = admin.locator('li[data-webhook]', { hasText: 'hooks.example.com' });
    await card.getByRole('button', { name: 'Delivery log' }).click();
    const replayRow = admin.locator(`tr[data-delivery="${replayed.rows[0]?.id}"]`);
    expect(await replayRow.locator('td').nth(2).textContent()).toBe('replay 1');
    const row = admin.locator('tr[data-delivery]', { hasText: 'failed (HTTP 500' });
    expect(await row.locator('td').nth(2).textContent()).toBe('1');
    expect(await row.textContent()).toContain('failed (HTTP 500, 42 ms)');
    await row.getByRole('button', { name: /^Replay/ }).click();
    await admin.getByText(`ticket.created (msg_${outboxId}) will be sent again.`).waitFor();
    await shot(admin, 'settings-webhooks');
  });
});

describe('own two-factor sign-in', () => {
  it('enrols with the QR code, confirms, shows recovery codes once, and turns off with a code', async () => {
    const viewer = await signedIn('viewer');
    await settings(viewer, 'security', 'Your sign-in security');
    expect(await viewer.locator('.totp-state').textContent()).toBe('off');
    await viewer.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
    const qr = viewer.getByRole('img', { name: 'QR code for the authenticator app' });
    await qr.waitFor();
    expect(
      await qr.evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth),
    ).toBeGreaterThan(0);
    const secret = (await viewer.locator('.totp-secret').textContent()) as string;
    // A wrong code is refused next to the code field.
    await viewer.getByLabel('Code from the app').fill('000000');
    await viewer.getByRole('button', { name: 'Confirm' }).click();
    await viewer.locator('#err-code').waitFor();
    // The previous time step (allowed for clock drift) confirms, the current one turns off, so
    // they never share a step. Each code is made just before it is sent, and not in the last
    // 3 s of a step, so no 30-second boundary falls between making it and the server checking it
    // (making both up front failed when one did).
    const code = async (stepsBack: number) => {
      const intoStep = Date.now() % 30_000;
      if (intoStep > 27_000) await new Promise((r) => setTimeout(r, 30_000 - intoStep + 50));
      return generate({ secret, epoch: Math.floor(Date.now() / 1000) - stepsBack * 30 });
    };
    await viewer.getByLabel('Code from the app').fill(await code(1));
    await viewer.getByRole('button', { name: 'Confirm' }).click();
    await viewer.getByText(/Recovery codes/).waitFor();
    expect(await viewer.locator('.codes li').count()).toBe(10);
    expect(await viewer.locator('.totp-state').textContent()).toBe('on');
    await shot(viewer, 'settings-security');
    await viewer.reload();
    await viewer.locator('.totp-state').waitFor();
    expect(await viewer.locator('.totp-state').textContent()).toBe('on');
    expect(await viewer.locator('.codes li').count()).toBe(0);
    await viewer.getByLabel('Code from the app').fill(await code(0));
    await viewer.getByRole('button', { name: 'Turn off two-factor sign-in' }).click();
    await viewer.getByRole('status').getByText('Two-factor sign-in is off.').waitFor();
    const state = await db.admin.query('select enabled_at from user_totp where user_id = $1', [
      await demoUserId(db.app, 'viewer'),
    ]);
    expect(state.rows[0]?.enabled_at ?? null).toBeNull();
  });
});

describe('organization', () => {
  it('saves the name, the TOTP requirement, the inactivity limit, the solved delay and the offline hand-on, and they are there after a reload', async () => {
    const owner = await signedIn('owner');
    await settings(owner, 'org', 'Organization');
    expect(await menu(owner)).toContain('Organization');
    const name = owner.getByLabel('Name');
    await name.fill('Demo Studio Renamed');
    await owner.getByLabel(/Close tickets waiting/).fill('48');
    await owner.getByLabel(/Close solved tickets/).fill('120');
    await owner.getByLabel(/Hand on tickets of assignees offline/).fill('45');
    await owner.getByRole('button', { name: 'Save' }).click();
    await owner.getByText('Saved.').waitFor();
    await owner.reload();
    await owner.getByLabel('Name').waitFor();
    expect(await owner.getByLabel('Name').inputValue()).toBe('Demo Studio Renamed');
    expect(await owner.getByLabel(/Close tickets waiting/).inputValue()).toBe('48');
    expect(await owner.getByLabel(/Close solved tickets/).inputValue()).toBe('120');
    expect(await owner.getByLabel(/Hand on tickets of assignees offline/).inputValue()).toBe('45');
    await owner.getByLabel('Name').fill('   ');
    await owner.getByRole('button', { name: 'Save' }).click();
    await owner.locator('#err-name').waitFor();
  });
});

const PAGES = [
  ['org', 'Organization'],
  ['members', 'Members'],
  ['tokens', 'API tokens'],
  ['webhooks', 'Webhooks'],
  ['security', 'Your sign-in security'],
] as const;

/** The elements reaching past the right edge, named, so a failure says what overflows. */
const OVERFLOWING = `[...document.querySelectorAll('body *')]
  .filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .slice(0, 5)
  .map((e) => e.tagName.toLowerCase() + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`;

describe('accessibility and phone width', () => {
  let owner: Page;
  beforeAll(async () => {
    owner = await signedIn('owner');
  }, 30_000);

  it.each(PAGES)('axe finds no serious or critical violation on the %s page', async (section, heading) => {
    await settings(owner, section, heading);
    await fetchesAnswered(owner);
    expect(await seriousViolations(owner)).toEqual([]);
  });

  it('does not scroll sideways at 375 px on any settings page', async () => {
    await owner.setViewportSize({ width: 375, height: 800 });
    for (const [section, heading] of PAGES) {
      await settings(owner, section, heading);
      await fetchesAnswered(owner);
      const width = await owner.evaluate('document.documentElement.scrollWidth');
      expect(width, `${section}: ${await owner.evaluate(OVERFLOWING)}`).toBeLessThanOrEqual(375);
      await shot(owner, `settings-${section}-phone`);
    }
  });

  it('threw no error in any page', () => {
    expect(pageErrors).toEqual([]);
  });
});
