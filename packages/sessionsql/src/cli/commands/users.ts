import { type Command, Option } from 'commander';
import { type DbFlags, positiveInt, withDbFlags, withStore } from '../open-store.js';
import { formatTime, line, table } from '../output.js';

interface ListFlags extends DbFlags {
  readonly json?: boolean;
  readonly limit: number;
}

interface SignOutFlags extends DbFlags {
  readonly except?: string;
}

/** `sessionsql users list USER` and `sessionsql users sign-out USER [--except SESSION_ID]`. */
export function usersCommand(program: Command): void {
  const users = program
    .command('users')
    .description("List or sign out a user's sessions.")
    .addHelpText('after', '\nExample:\n  $ sessionsql users list alice@example.com --url sqlite:data/sessions.db');
  withDbFlags(users.command('list <user>'))
    .description("List a user's live sessions, newest first (by handle: the stored hash of the session id).")
    .option('--json', 'print JSON lines instead of a table')
    .option('--limit <n>', 'most sessions to list', positiveInt, 100)
    .addHelpText('after', '\nExample:\n  $ sessionsql users list alice@example.com --url sqlite:data/sessions.db')
    .action(async (user: string, flags: ListFlags) => {
      await withStore(flags.url, flags, async (store) => {
        const sessions = await store.listSessionsForUser(user, { limit: flags.limit });
        const out = process.stdout;
        if (flags.json) {
          for (const { handle, createdAt, updatedAt, expiresAt } of sessions) {
            line(out, JSON.stringify({ handle, createdAt, updatedAt, expiresAt }));
          }
          return;
        }
        if (sessions.length === 0) {
          line(out, `no live sessions for ${user}`);
          return;
        }
        const rows = sessions.map((s) => [
          s.handle,
          formatTime(s.createdAt),
          formatTime(s.updatedAt),
          formatTime(s.expiresAt),
        ]);
        line(out, table([['handle', 'created', 'updated', 'expires'], ...rows]));
      });
    });
  withDbFlags(users.command('sign-out <user>'))
    .description("Delete a user's live sessions (sign out everywhere), keeping --except.")
    .addOption(new Option('--except <session-id>', 'the session id (cookie value) to keep signed in'))
    .addHelpText(
      'after',
      '\nExample:\n  $ sessionsql users sign-out alice@example.com --url postgres://app@db.internal/app',
    )
    .action(async (user: string, flags: SignOutFlags) => {
      await withStore(flags.url, flags, async (store) => {
        const deleted = await store.clearSessionsForUser(
          user,
          flags.except === undefined ? undefined : { except: flags.except },
        );
        line(process.stdout, `signed ${user} out of ${deleted} session${deleted === 1 ? '' : 's'}`);
      });
    });
}
