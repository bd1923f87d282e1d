import { isAppError } from '../lib/errors.js';
import * as analyticsBackfill from './commands/analytics-backfill.js';
import { eraseCommand, exportCommand } from './commands/player-privacy.js';
import * as tokenCreate from './commands/token-create.js';
import * as userDisable from './commands/user-disable.js';
import * as userResetTotp from './commands/user-reset-totp.js';
import { type Cli, CliError, USAGE } from './context.js';

// `npm run cli -- <command> [options]`: operator commands, one file each in commands/.
interface Command {
  summary: string;
  usage: string;
  run(argv: string[], cli: Cli): Promise<void>;
}
const COMMANDS: Record<string, Command> = {
  'token create': tokenCreate,
  'analytics backfill': analyticsBackfill,
  'player export': exportCommand,
  'player erase': eraseCommand,
  'user disable': userDisable,
  'user reset-totp': userResetTotp,
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length), 4);
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: npm run cli -- <command> [options]',
    '',
    'commands:',
    `  ${'help'.padEnd(width)}  this list`,
    ...lines,
  ].join('\n');
}

const cli: Cli = {
  say: (line) => process.stderr.write(`${line}\n`),
  print: (line) => process.stdout.write(`${line}\n`),
};

const args = process.argv.slice(2);
const name = Object.keys(COMMANDS).find((k) => k.split(' ').every((w, i) => args[i] === w));
if (!args.length || args[0] === 'help' || args[0] === '--help' || args[0] === '-h') {
  console.log(help());
  process.exit(0);
}
if (!name) {
  console.error(`unknown command: ${args.join(' ')}\n\n${help()}`);
  process.exit(USAGE);
}
const command = COMMANDS[name] as Command;
const rest = args.slice(name.split(' ').length);
if (rest.includes('--help') || rest.includes('-h')) {
  console.log(command.usage);
  process.exit(0);
}
try {
  await command.run(rest, cli);
  process.exit(0);
} catch (err) {
  // parseArgs throws TypeErrors with codes such as ERR_PARSE_ARGS_UNKNOWN_OPTION: wrong usage.
  const usageError =
    err instanceof CliError
      ? err.status
      : (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
        ? USAGE
        : undefined;
  if (usageError !== undefined) {
    console.error(`${(err as Error).message}`);
    if (err instanceof CliError === false) console.error(`\n${command.usage}`);
    process.exit(usageError);
  }
  console.error(isAppError(err) ? err.message : err);
  process.exit(1);
}
