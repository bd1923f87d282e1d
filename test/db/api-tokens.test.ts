import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  API_TOKEN_SCOPES,
  createApiToken,
  getApiToken,
  listApiTokens,
  permissionsForScopes,
  resolveApiToken,
  revokeApiToken,
} from '../../db/api-tokens.js';
import { queryAudit } from '../../db/audit.js';
import { UsageThrottle } from '../../db/credentials.js';
import { PERMISSIONS } from '../../db/permissions.js';
import { withTenant } from '../../db/tenant.js';
import { useTestDb } from '../support/db.js';
import { makeOrg } from '../support/fixtures.js';

const db = useTestDb();

/** A throttle on a clock the test moves, so "a minute later" needs no sleeping. */
function manualThrottle() {
  let t = 0;
  return { throttle: new UsageThrottle(60_000, () => t), advance: (ms: number) => (t += ms) };
}

async function lastUsed(tokenId: string): Promise<Date | null> {
  const r = await db.admin.query<{ last_used_at: Date | null }>(
    'select last_used_at from api_tokens where id = $1',
    [tokenId],
  );
  return r.rows[0]?.last_used_at ?? null;
}

describe('API tokens', () => {
  it('shows the token once, stores only its SHA-256, and resolves it to the org and scopes', async () => {
    const org = await makeOrg(db.app);
    const { token, plaintext } = await withTenant(db.app, org.orgId, (tx) =>
      createApiToken(
        tx,
        { name: 'CI', scopes: ['tickets:write', 'tickets:read', 'tickets:read'] },
        org.owner,
      ),
    );
    expect(plaintext).toMatch(/^gm_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(plaintext.startsWith(`${token.prefix}_`)).toBe(true);
    expect(token).toMatchObject({
      name: 'CI',
      scopes: ['tickets:read', 'tickets:write'],
      createdBy: org.ownerId,
    });
    expect(token).not.toHaveProperty('tokenHash');

    const row = await db.admin.query<{ token_hash: Buffer }>(
      'select token_hash from api_tokens where id = $1',
      [token.id],
    );
    expect(row.rows[0]?.token_hash.equals(createHash('sha256').update(plaintext).digest())).toBe(true);
    const anywhere = await db.admin.query(
      `select 1 from api_tokens t where t::text like '%' || $1 || '%'
       union all select 1 from audit_logs a where a::text like '%' || $1 || '%'`,
      [plaintext.slice(-43)],
    );
    expect(anywhere.rowCount).toBe(0);

    const { throttle } = manualThrottle();
    expect(await resolveApiToken(db.app, plaintext, { throttle })).toEqual({
      orgId: org.orgId,
      tokenId: token.id,
      scopes: ['tickets:read', 'tickets:write'],
      expiresAt: null,
      // Its maker, whose standing caps it on every request.
      userId: org.ownerId,
    });
    // One character off, truncated, another kind of credential, junk: all simply unknown.
    const last = plaintext.at(-1) === 'A' ? 'B' : 'A';
    for (const bad of [
      `${plaintext.slice(0, -1)}${last}`,
      plaintext.slice(0, -1),
      `x${plaintext}`,
      '',
      'gm_',
    ]) {
      expect(await resolveApiToken(db.app, bad, { throttle })).toBeNull();
    }

    const listed = await withTenant(db.app, org.orgId, (tx) => listApiTokens(tx));
    expect(listed.map((t) => t.id)).toEqual([token.id]);
    expect(Object.keys(listed[0] ?? {}).sort()).toEqual(
      [
        'createdAt',
        'createdBy',
        'expiresAt',
        'id',
        'lastUsedAt',
        'name',
        'prefix',
        'revokedAt',
        'scopes',
      ].sort(),
    );
    const audit = await withTenant(db.app, org.orgId, (tx) =>
      queryAudit(tx, { action: 'api_token.created' }),
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ targetType: 'api_token', targetId: token.id });
  });

  it('stamps last_used_at at most once a minute', async () => {
    const org = await makeOrg(db.app);
    const { token, plaintext } = await withTenant(db.app, org.orgId, (tx) =>
      createApiToken(tx, { name: 'bot', scopes: ['players:read'] }, org.owner),
    );
    expect(await lastUsed(token.id)).toBeNull();
    const { throttle, advance } = manualThrottle();
    await resolveApiToken(db.app, plaintext, { throttle });
    const first = await lastUsed(token.id);
    expect(first).toBeInstanceOf(Date);

    // Within the minute: this process skips the write, and so would another instance (SQL guard).
    await resolveApiToken(db.app, plaintext, { throttle });
    await resolveApiToken(db.app, plaintext, { throttle: manualThrottle().throttle });
    expect(await lastUsed(token.id)).toEqual(first);

    // A minute later (moved back in the database, forward on the process clock): written again.
    await db.admin.query("update api_tokens set last_used_at = now() - interval '61 seconds' where id = $1", [
      token.id,
    ]);
    const movedBack = await lastUsed(token.id);
    advance(60_000);
    await resolveApiToken(db.app, plaintext, { throttle });
    expect((await lastUsed(token.id))?.getTime()).toBeGreaterThan(movedBack?.getTime() ?? 0);
  });

  it('stops resolving a revoked token at once; revoking twice is one audited change', async () => {
    const org = await makeOrg(db.app);
    const { token, plaintext } = await withTenant(db.app, org.orgId, (tx) =>
      createApiToken(tx, { name: 'old', scopes: ['audit:read'] }, org.owner),
    );
    expect(await resolveApiToken(db.app, plaintext)).not.toBeNull();
    const revoked = await withTenant(db.app, org.orgId, (tx) => revokeApiToken(tx, token.id, org.owner));
    expect(revoked.revokedAt).toBeInstanceOf(Date);
    expect(await resolveApiToken(db.app, plaintext)).toBeNull();
    const again = await withTenant(db.app, org.orgId, (tx) => revokeApiToken(tx, token.id, org.owner));
    expect(again.revokedAt).toEqual(revoked.revokedAt);
    const audit = await withTenant(db.app, org.orgId, (tx) =>
      queryAudit(tx, { action: 'api_token.revoked' }),
    );
    expect(audit).toHaveLength(1);
  });

  it('refuses expired tokens and expiry dates in the past', async () => {
    const org = await makeOrg(db.app);
    const expiresAt = new Date(Date.now() + 3_600_000);
    const { token, plaintext } = await withTenant(db.app, org.orgId, (tx) =>
      createApiToken(tx, { name: 'short', scopes: ['tickets:read'], expiresAt }, org.owner),
    );
    expect((await resolveApiToken(db.app, plaintext))?.expiresAt?.getTime()).toBe(expiresAt.getTime());
    await db.admin.query(
      `update api_tokens set created_at = now() - interval '2 hours', expires_at = now() - interval '1 second'
        where id = $1`,
      [token.id],
    );
    expect(await resolveApiToken(db.app, plaintext)).toBeNull();
    await expect(
      withTenant(db.app, org.orgId, (tx) =>
        createApiToken(
          tx,
          { name: 'past', scopes: ['tickets:read'], expiresAt: new Date(Date.now() - 1000) },
          org.owner,
        ),
      ),
    ).rejects.toMatchObject({ code: 'validation_failed' });
  });

  it('validates names and scopes', async () => {
    const org = await makeOrg(db.app);
    for (const bad of [
      { name: 'x', scopes: [] },
      { name: 'x', scopes: ['tickets:everything'] },
      { name: '', scopes: ['tickets:read'] },
      { name: 'x'.repeat(101), scopes: ['tickets:read'] },
    ]) {
      await expect(
        withTenant(db.app, org.orgId, (tx) =>
          createApiToken(tx, bad as Parameters<typeof createApiToken>[1], org.owner),
        ),
      ).rejects.toMatchObject({ code: 'validation_failed' });
    }
  });

  it('keeps tokens inside their organization', async () => {
    const a = await makeOrg(db.app, 'Alpha');
    const b = await makeOrg(db.app, 'Beta');
    const { token, plaintext } = await withTenant(db.app, a.orgId, (tx) =>
      createApiToken(tx, { name: 'alpha', scopes: ['tickets:read'] }, a.owner),
    );
    expect(await withTenant(db.app, b.orgId, (tx) => listApiTokens(tx))).toEqual([]);
    await expect(withTenant(db.app, b.orgId, (tx) => getApiToken(tx, token.id))).rejects.toMatchObject({
      code: 'not_found',
    });
    await expect(
      withTenant(db.app, b.orgId, (tx) => revokeApiToken(tx, token.id, b.owner)),
    ).rejects.toMatchObject({
      code: 'not_found',
    });
    expect((await resolveApiToken(db.app, plaintext))?.orgId).toBe(a.orgId);
  });

  it('maps scopes onto permissions, never onto the ones that could take over an organization', () => {
    const all = permissionsForScopes(API_TOKEN_SCOPES);
    for (const p of all) expect(PERMISSIONS).toContain(p);
    for (const p of [
      'org.manage',
      'members.manage',
      'roles.manage',
      'tokens.manage',
      'tickets.delete',
    ] as const) {
      expect(all.has(p)).toBe(false);
    }
    expect([...permissionsForScopes(['tickets:read'])]).toEqual(['tickets.read']);
    expect(permissionsForScopes(['no:such']).size).toBe(0);
  });
});
