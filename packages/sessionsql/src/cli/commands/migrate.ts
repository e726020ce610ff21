import type { Command } from 'commander';
import { type DbFlags, withDbFlags, withStore } from '../open-store.js';
import { line, paint } from '../output.js';

/**
 * `sessionsql migrate`: creates or upgrades the session table under the store's database-wide
 * lock, so that several deploy jobs may run it at once.
 */
export function migrateCommand(program: Command): void {
  withDbFlags(program.command('migrate'))
    .description('Create or upgrade the session table (safe to run from several deploy jobs at once).')
    .addHelpText('after', '\nExample:\n  $ sessionsql migrate --url postgres://app@db.internal/app')
    .action(async (flags: DbFlags) => {
      const { migrationState } = await import('../migration-state.js');
      await withStore(
        flags.url,
        flags,
        async (store) => {
          const before = await migrationState(store);
          await store.migrate();
          const after = await migrationState(store);
          const out = process.stdout;
          const applied = after.applied.filter((name) => !before.applied.includes(name));
          const version = after.applied.at(-1) ?? '-';
          if (applied.length === 0)
            line(out, `${paint(out, 'green', 'up to date')}: table ${flags.table} at ${version}`);
          else
            line(
              out,
              `${paint(out, 'green', 'migrated')}: table ${flags.table} now at ${version} (applied ${applied.join(', ')})`,
            );
        },
        { migrateOnly: true },
      );
    });
}
