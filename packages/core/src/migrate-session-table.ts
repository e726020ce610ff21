import { Migrator } from 'kysely';
import type { SessionBackend } from './session-backend.js';
import { sessionMigrationProvider, type TableLocation } from './session-migrations.js';
import type { StoreErrors } from './store-errors.js';

/**
 * Creates or upgrades the session table with kysely's `Migrator` (history in
 * `<table>_migrations`), holding the database-wide lock `lockName` so that several processes
 * starting at once all come up. Failures become MIGRATION_FAILED or CONNECTION_FAILED.
 */
export async function migrateSessionTable(
  backend: SessionBackend,
  where: TableLocation,
  lockName: string,
  errors: StoreErrors,
): Promise<void> {
  const { schema, table } = where;
  try {
    await backend.withLock(lockName, true, async (db) => {
      const migrator = new Migrator({
        db,
        provider: sessionMigrationProvider(where, backend),
        migrationTableName: `${table}_migrations`,
        migrationLockTableName: `${table}_migrations_lock`,
        ...(schema === undefined ? {} : { migrationTableSchema: schema }),
      });
      const { error } = await migrator.migrateToLatest();
      if (error !== undefined) throw error;
    });
  } catch (cause) {
    throw errors.migration(cause);
  }
}
