import { orgsOfUser } from './memberships.js';
import type { Pool } from './pool.js';

/** The demo workspace's slug: `npm run cli -- token create --org demo` finds it by that. */
export const DEMO_SLUG = 'demo';

/** The demo staff; the first of each role is the one the development demo sign-in uses. */
export const DEMO_STAFF = [
  { name: 'Ava Owner', role: 'owner', handle: 'owner' },
  { name: 'Sam Admin', role: 'admin', handle: 'admin' },
  { name: 'Mia Moderator', role: 'moderator', handle: 'moderator' },
  { name: 'Leo Moderator', role: 'moderator', handle: 'leo' },
  { name: 'Kai Agent', role: 'agent', handle: 'agent' },
  { name: 'Vic Viewer', role: 'viewer', handle: 'viewer' },
] as const;

export const DEMO_SIGN_IN_ROLES = ['owner', 'admin', 'moderator', 'agent', 'viewer'] as const;
export type DemoRole = (typeof DEMO_SIGN_IN_ROLES)[number];

/** `.example` is reserved (RFC 2606): these addresses can never belong to a real person. */
export const demoEmail = (handle: string, slug: string) => `${handle}@${slug}.starforge.example`;

/**
 * The demo workspace's staff member of `role`, or null when the demo was not seeded. Found by the
 * reserved address the seed gives them, then checked to hold that role in an org, so an account
 * that merely carries the address gets nothing.
 */
export async function demoUserId(pool: Pool, role: DemoRole): Promise<string | null> {
  const r = await pool.query<{ id: string }>({
    text: 'select id from users where lower(email) = $1::text and disabled_at is null',
    values: [demoEmail(role, DEMO_SLUG)],
  });
  const userId = r.rows[0]?.id;
  if (!userId) return null;
  const orgs = await orgsOfUser(pool, userId);
  return orgs.some((o) => o.role === role) ? userId : null;
}
