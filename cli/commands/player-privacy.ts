import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import type { Actor } from '../../db/changes.js';
import { erasePlayer, finishPlayerExport, requestPlayerExport } from '../../db/player-privacy.js';
import { isUuid, withTenant } from '../../db/tenant.js';
import { loadConfig } from '../../lib/config.js';
import { createStorage } from '../../lib/storage/index.js';
import { buildPlayerArchive } from '../../workers/privacy.js';
import { type Cli, CliError, withDatabase } from '../context.js';

/** The CLI acts as the system, named in the audit entry's request id so it can be told apart. */
const CLI_ACTOR: Actor = { type: 'system', requestId: 'cli' };

function ids(argv: string[], command: 'export' | 'erase') {
  const options =
    command === 'export'
      ? { org: { type: 'string' }, player: { type: 'string' }, out: { type: 'string' } }
      : { org: { type: 'string' }, player: { type: 'string' }, yes: { type: 'boolean' } };
  const { values } = parseArgs({
    args: argv,
    options: options as typeof options & Record<string, never>,
    strict: true,
  }) as {
    values: { org?: string; player?: string; out?: string; yes?: boolean };
  };
  if (!values.org || !isUuid(values.org)) throw new CliError('--org: the organization id (uuid)');
  if (!values.player || !isUuid(values.player)) throw new CliError('--player: the player id (uuid)');
  return { orgId: values.org, playerId: values.player, values };
}

export const exportCommand = {
  summary: 'write an archive (.tar.gz) of everything held about a player',
  usage: `npm run cli -- player export --org <id> --player <id> [--out <file>]

  --out  where to write the archive (default player-<id>.tar.gz); it is also kept in storage
         as a player export, as one requested through the API would be

The request is audited (player.export_requested, by the system, request id "cli").`,
  async run(argv: string[], cli: Cli): Promise<void> {
    const { orgId, playerId, values } = ids(argv, 'export');
    const out = values.out ?? `player-${playerId}.tar.gz`;
    const storage = createStorage(loadConfig().storage);
    await withDatabase(async (pool) => {
      const exp = await withTenant(pool, orgId, (tx) => requestPlayerExport(tx, playerId, CLI_ACTOR));
      const built = await buildPlayerArchive({ pool, storage }, orgId, exp);
      await withTenant(pool, orgId, (tx) => finishPlayerExport(tx, exp.id, built));
      const obj = await storage.get(built.storageKey);
      await pipeline(obj.body, createWriteStream(out));
      cli.say(`export ${exp.id}: ${built.sizeBytes} bytes`);
      cli.print(out);
    });
  },
};

export const eraseCommand = {
  summary: "erase a player's personal data everywhere, leaving an audited tombstone",
  usage: `npm run cli -- player erase --org <id> --player <id> --yes

  --yes  required: an erase cannot be undone

Deletes the player's identities, sessions, mail, files and exports, blanks their tickets'
conversations and reports, scrubs history and audit text, and queues the Discord messages the
bot posted for them and their stored files for deletion (the workers' privacy sweep deletes
them). Prints the counts.`,
  async run(argv: string[], cli: Cli): Promise<void> {
    const { orgId, playerId, values } = ids(argv, 'erase');
    if (!values.yes) throw new CliError('an erase cannot be undone: add --yes');
    await withDatabase(async (pool) => {
      const r = await withTenant(pool, orgId, (tx) => erasePlayer(tx, playerId, CLI_ACTOR));
      cli.print(JSON.stringify(r.counts));
    });
  },
};
