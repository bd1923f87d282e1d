import { parseArgs } from 'node:util';
import { API_TOKEN_SCOPES, type ApiTokenScope, createApiToken } from '../../db/api-tokens.js';
import { allOrgIds, getOrganization } from '../../db/organizations.js';
import type { Pool } from '../../db/pool.js';
import { isUuid, withTenant } from '../../db/tenant.js';
import { type Cli, CliError, withDatabase } from '../context.js';

export const summary = 'create an API token in an organization (the token is the last line of stdout)';
export const usage = `npm run cli -- token create --org <id|slug> --scopes <list> [--name N] [--expires-in-days N]

  --org              the organization's id or slug (the demo workspace is "demo")
  --scopes           comma-separated: ${API_TOKEN_SCOPES.join(', ')}
  --name             shown in the panel's token list (default "CLI token")
  --expires-in-days  1 to 3650; without it the token lasts until revoked`;

/** The org by id, or by slug: slugs are per tenant, so each org is looked at in its own transaction. */
async function findOrg(pool: Pool, ref: string): Promise<{ id: string; name: string; slug: string }> {
  if (isUuid(ref)) {
    const org = await withTenant(pool, ref, getOrganization).catch(() => null);
    if (org) return org;
  }
  const slug = ref.toLowerCase();
  for await (const id of allOrgIds(pool)) {
    const org = await withTenant(pool, id, getOrganization);
    if (org.slug === slug) return org;
  }
  throw new CliError(`no organization with the id or slug "${ref}"`, 1);
}

export function parseScopes(list: string): ApiTokenScope[] {
  const scopes = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = scopes.filter((s) => !(API_TOKEN_SCOPES as readonly string[]).includes(s));
  if (unknown.length || scopes.length === 0) {
    throw new CliError(
      `${unknown.length ? `unknown scope${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}` : 'no scopes given'}\nvalid scopes: ${API_TOKEN_SCOPES.join(', ')}`,
    );
  }
  return scopes as ApiTokenScope[];
}

export async function run(argv: string[], cli: Cli): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      org: { type: 'string' },
      scopes: { type: 'string' },
      name: { type: 'string', default: 'CLI token' },
      'expires-in-days': { type: 'string' },
    },
    strict: true,
  });
  if (!values.org) throw new CliError(`--org is required\n\n${usage}`);
  if (!values.scopes) throw new CliError(`--scopes is required\n\n${usage}`);
  const scopes = parseScopes(values.scopes);
  const name = values.name.trim();
  if (!name || name.length > 100) throw new CliError('--name: 1 to 100 characters');
  let expiresAt: Date | undefined;
  if (values['expires-in-days'] !== undefined) {
    const days = Number(values['expires-in-days']);
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      throw new CliError('--expires-in-days: a whole number of days from 1 to 3650');
    }
    expiresAt = new Date(Date.now() + days * 86_400_000);
  }
  const orgRef = values.org;
  await withDatabase(async (pool) => {
    const org = await findOrg(pool, orgRef);
    // Audited as the system acting from the command line: no person is signed in here.
    const { token, plaintext } = await withTenant(pool, org.id, (tx) =>
      createApiToken(tx, { name, scopes, expiresAt }, { type: 'system', requestId: 'cli:token-create' }),
    );
    cli.say(`created API token "${token.name}" (${token.id}) in ${org.name} (${org.slug}, ${org.id})`);
    cli.say(
      `scopes: ${token.scopes.join(', ')}; expires: ${token.expiresAt ? new Date(token.expiresAt).toISOString() : 'never'}`,
    );
    cli.say('it is shown once; use it as "Authorization: Bearer <token>"');
    cli.print(plaintext);
  });
}
