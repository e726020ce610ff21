import { Command, CommanderError } from 'commander';
import { checkCommand } from './commands/check.js';
import { copyCommand } from './commands/copy.js';
import { exportCommand } from './commands/export.js';
import { importCommand } from './commands/import.js';
import { migrateCommand } from './commands/migrate.js';
import { pruneCommand } from './commands/prune.js';
import { statsCommand } from './commands/stats.js';
import { usersCommand } from './commands/users.js';
import { EXIT, EXIT_CODE_HELP, Interrupted, UsageError } from './exit-codes.js';
import { line, paint } from './output.js';

/** Adds one command (and its action) to the program. */
export type RegisterCommand = (program: Command) => void;

/** The commands, in the order `--help` lists them: one file each in `commands/`. */
const COMMANDS: readonly RegisterCommand[] = [
  migrateCommand,
  checkCommand,
  statsCommand,
  pruneCommand,
  usersCommand,
  exportCommand,
  importCommand,
  copyCommand,
];

/** The `sessionsql` program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('sessionsql')
    .description('Operate a sessionsql session table on SQLite or PostgreSQL.')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `\nThe database comes from --url or SESSION_DB_URL.\n\n${EXIT_CODE_HELP}`);
  for (const register of COMMANDS) register(program);
  return program;
}

/** Runs the command line `argv` (as `process.argv`) and resolves its exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return EXIT.ok;
  } catch (error) {
    return report(error);
  }
}

/** Prints `error` for a person and picks the exit code. */
function report(error: unknown): number {
  const err = process.stderr;
  if (error instanceof CommanderError) {
    // Commander printed the message (and help) itself.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
    if (error.code === 'commander.help') return EXIT.ok;
    return EXIT.usage;
  }
  if (error instanceof Interrupted) {
    line(err, error.message);
    return EXIT.interrupted;
  }
  if (error instanceof UsageError) {
    line(err, `${paint(err, 'red', 'error:')} ${error.message}`);
    line(err, '(add --help for usage)');
    return EXIT.usage;
  }
  line(err, `${paint(err, 'red', 'error:')} ${(error as Error)?.message ?? String(error)}`);
  return EXIT.failure;
}
