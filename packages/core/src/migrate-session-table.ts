import { type Kysely, Migrator } from 'kysely';
import type { SessionBackend } from './session-backend.js';
import { sessionKey, toMs } from './session-codec.js';
import { sessionMigrationProvider, type TableLocation, unhashedTable } from './session-migrations.js';
import type { StoreErrors } from './store-errors.js';

/** Rows moved per transaction from a table with raw ids. */
const MOVE_BATCH = 1000;

/**
 * Creates or upgrades the session table with kysely's `Migrator` (history in
 * `<table>_migrations`), then moves the sessions of a table from before hashed ids, holding
 * the database-wide lock `lockName` so that several processes starting at once all come up.
 * `seal` turns session JSON into what is stored (encryption). Failures become
 * MIGRATION_FAILED or CONNECTION_FAILED.
 */
export async function migrateSessionTable(
  backend: SessionBackend,
  where: TableLocation,
  lockName: string,
  errors: StoreErrors,
  seal: (text: string, key: string) => string,
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
      await moveUnhashedSessions(db, where, seal);
    });
  } catch (cause) {
    throw errors.migration(cause);
  }
}

/**
 * Moves the live sessions of `<table>_unhashed` (raw ids, kept by migration 0002) into the
 * table under their hashed keys, one transaction per batch, then drops it. Resumable: an
 * interrupted move goes on at the next migrate(). Sessions saved under the new key meanwhile
 * win over the old row.
 */
async function moveUnhashedSessions(
  db: Kysely<any>,
  { schema, table }: TableLocation,
  seal: (text: string, key: string) => string,
): Promise<void> {
  const from = unhashedTable(table);
  const tables = await db.introspection.getTables();
  if (!tables.some((t) => t.name === from && (schema === undefined || t.schema === schema))) return;
  for (;;) {
    const moved = await db.transaction().execute(async (trx) => {
      const scoped = schema === undefined ? trx : trx.withSchema(schema);
      const rows = await scoped.selectFrom(from).selectAll().limit(MOVE_BATCH).execute();
      if (rows.length === 0) return 0;
      const now = Date.now();
      const live = rows.filter((row) => toMs(row.expires_at) > now);
      if (live.length > 0) {
        await scoped
          .insertInto(table)
          .values(
            live.map((row) => {
              const key = sessionKey(String(row.id));
              const text = typeof row.data === 'string' ? row.data : JSON.stringify(row.data);
              return {
                id: key,
                data: seal(text, key),
                expires_at: row.expires_at,
                user_id: row.user_id,
                created_at: row.created_at,
                updated_at: row.updated_at,
              };
            }),
          )
          .onConflict((oc) => oc.column('id').doNothing())
          .execute();
      }
      await scoped
        .deleteFrom(from)
        .where(
          'id',
          'in',
          rows.map((row) => row.id),
        )
        .execute();
      return rows.length;
    });
    if (moved === 0) break;
  }
  await (schema === undefined ? db.schema : db.schema.withSchema(schema)).dropTable(from).ifExists().execute();
}
