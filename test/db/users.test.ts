import { describe, expect, it } from 'vitest';
import { upsertDiscordUser } from '../../db/users.js';
import { useTestDb } from '../support/db.js';

const db = useTestDb(6);

describe('db/users', () => {
  it('a Discord account seen by several interactions at once is made once, and every one gets it', async () => {
    // A new member pressing two commands at once: each finds no account and makes one.
    const discordUserId = '600000000000000001';
    const users = await Promise.all(
      Array.from({ length: 5 }, (_, k) =>
        upsertDiscordUser(db.app, { discordUserId, username: `first-sight-${k}` }),
      ),
    );
    expect(new Set(users.map((u) => u.id)).size).toBe(1);
    const linked = await db.admin.query(
      `select (select count(*)::int from auth_providers where provider = 'discord' and provider_user_id = $1) as providers,
              (select count(*)::int from discord_accounts where discord_user_id = $1) as accounts`,
      [discordUserId],
    );
    expect(linked.rows[0]).toEqual({ providers: 1, accounts: 1 });
  });
});
