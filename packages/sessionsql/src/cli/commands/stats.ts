import type { Command } from 'commander';
import { type DbFlags, positiveInt, withDbFlags, withStore } from '../open-store.js';
import { formatBytes, formatCount, formatTime, line, table } from '../output.js';

interface StatsFlags extends DbFlags {
  readonly json?: boolean;
  readonly top: number;
}

/** `sessionsql stats`: counts, users, ages, sizes and schema version of the session table. */
export function statsCommand(program: Command): void {
  withDbFlags(program.command('stats'))
    .description('Show live and expired sessions, signed-in users, top users, ages, sizes and schema version.')
    .option('--json', 'print JSON instead of a table')
    .option('--top <n>', 'how many top users to list', positiveInt, 5)
    .addHelpText('after', '\nExample:\n  $ sessionsql stats --url sqlite:data/sessions.db --json')
    .action(async (flags: StatsFlags) => {
      const { KNOWN_MIGRATIONS } = await import('../migration-state.js');
      await withStore(flags.url, flags, async (store) => {
        const stats = await store.table.stats({ topUsers: flags.top });
        const out = process.stdout;
        const version = stats.migrations.at(-1) ?? null;
        const upToDate = KNOWN_MIGRATIONS.every((name) => stats.migrations.includes(name));
        if (flags.json) {
          line(
            out,
            JSON.stringify({ backend: store.backend, table: flags.table, ...stats, version, upToDate }, null, 2),
          );
          return;
        }
        line(
          out,
          table([
            ['backend', store.backend],
            ['table', flags.table],
            ['live sessions', formatCount(stats.live)],
            ['expired (to prune)', formatCount(stats.expired)],
            ['signed-in users', formatCount(stats.users)],
            ['oldest live', formatTime(stats.oldestCreatedAt)],
            ['newest live', formatTime(stats.newestCreatedAt)],
            ['table size', formatBytes(stats.tableBytes)],
            ['index size', formatBytes(stats.indexBytes)],
            ['schema version', `${version ?? '-'}${upToDate ? '' : ' (run sessionsql migrate)'}`],
          ]),
        );
        if (stats.topUsers.length > 0) {
          line(out);
          line(
            out,
            table([['top users', 'sessions'], ...stats.topUsers.map((u) => [u.userId, formatCount(u.sessions)])]),
          );
        }
      });
    });
}
