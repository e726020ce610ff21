import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import type { SessionBackend } from './session-backend.js';

/** Where the session table lives. */
export interface TableLocation {
  /** PostgreSQL schema, or undefined for the default one (SQLite has none). */
  readonly schema: string | undefined;
  readonly table: string;
}

/**
 * The schema history of the session table, oldest first. Every step is idempotent
 * (`if not exists`) so that a table created by hand or by an interrupted run is adopted.
 */
export function sessionMigrations(
  where: TableLocation,
  backend: Pick<SessionBackend, 'columnTypes' | 'partialIndexes'>,
): Record<string, Migration> {
  const { schema, table } = where;
  const types = backend.columnTypes;
  const builder = (db: Kysely<any>) => (schema === undefined ? db.schema : db.schema.withSchema(schema));
  /**
   * `create index if not exists <table><suffix>` on `columns`; `signedIn` makes it partial where
   * the database can, so that anonymous sessions, usually the majority, stay out of it.
   */
  const createIndex = async (db: Kysely<any>, suffix: string, columns: string[], signedIn = false) => {
    const index = builder(db).createIndex(`${table}${suffix}`).ifNotExists().on(table).columns(columns);
    await (signedIn && backend.partialIndexes ? index.where(sql.ref('user_id'), 'is not', null) : index).execute();
  };
  const dropIndex = (db: Kysely<any>, suffix: string) =>
    builder(db).dropIndex(`${table}${suffix}`).ifExists().execute();
  const createTable = async (db: Kysely<any>) => {
    await builder(db)
      .createTable(table)
      .ifNotExists()
      .addColumn('id', sql.raw(types.id), (c) => c.primaryKey())
      .addColumn('data', sql.raw(types.data), (c) => c.notNull())
      .addColumn('expires_at', sql.raw(types.time), (c) => c.notNull())
      .addColumn('user_id', sql.raw(types.id))
      .addColumn('created_at', sql.raw(types.time), (c) => c.notNull())
      .addColumn('updated_at', sql.raw(types.time), (c) => c.notNull())
      .execute();
    await createIndex(db, '_expires_at_idx', ['expires_at']);
    await createIndex(db, '_user_id_idx', ['user_id', 'expires_at'], true);
  };
  return {
    '0001_create_sessions': {
      async up(db) {
        if (schema !== undefined) await db.schema.createSchema(schema).ifNotExists().execute();
        await createTable(db);
      },
    },
    // Ids are stored as their SHA-256 (sessionKey) from now on. Rows of an older table keep
    // their raw ids in `<table>_unhashed` until migrate() has moved them over in batches
    // (moveUnhashedSessions), so that no one is signed out; a new table has none to move.
    '0002_hash_session_ids': {
      async up(db) {
        const scoped = schema === undefined ? db : db.withSchema(schema);
        const rows = await scoped.selectFrom(table).select('id').limit(1).execute();
        if (rows.length === 0) return;
        await dropIndex(db, '_expires_at_idx');
        await dropIndex(db, '_user_id_idx');
        await builder(db).alterTable(table).renameTo(unhashedTable(table)).execute();
        await createTable(db);
      },
    },
    // The expiry index also holds created_at, so that the oldest and newest live sessions
    // (`stats`) are read from the index instead of every row (85 ms instead of 350 ms at a
    // million rows). It serves pruning and live counts as before; a touch, which rewrites the
    // expiry's index entry anyway, writes nothing more. Built before the old one is dropped.
    '0003_expiry_index_with_created_at': {
      async up(db) {
        await createIndex(db, '_expiry_idx', ['expires_at', 'created_at']);
        await dropIndex(db, '_expires_at_idx');
      },
    },
    // A touch moves expires_at, and SQLite rewrites the entry of every index holding it: the
    // user index no longer holds it (a touch on SQLite: 62 µs before, 46 µs after, as the
    // minimal store), and the expiry index, which a touch rewrites anyway, holds the user
    // instead, so that `stats` still counts live sessions per user from one index. A user's
    // few sessions are filtered by expiry from their rows. (PostgreSQL adds an entry to every
    // index on any update that changes an indexed column, as a touch does, so there it changes
    // only the sizes of the entries.) Both are built before the old ones are dropped. The names
    // end differently (`_by_user_idx`, `_expiry_user_idx`) so that no table's index can be
    // named like another table's (`t_expiry` + `_user_idx` would be `t` + `_expiry_user_idx`).
    '0004_user_index_without_expiry': {
      async up(db) {
        await createIndex(db, '_expiry_user_idx', ['expires_at', 'created_at', 'user_id']);
        await dropIndex(db, '_expiry_idx');
        await createIndex(db, '_by_user_idx', ['user_id'], true);
        await dropIndex(db, '_user_id_idx');
      },
    },
  };
}

/** Where a table from before 0.2 keeps its rows (raw ids) until they are moved. */
export function unhashedTable(table: string): string {
  return `${table}_unhashed`;
}

/** A kysely `MigrationProvider` over {@link sessionMigrations}. */
export function sessionMigrationProvider(
  where: TableLocation,
  backend: Pick<SessionBackend, 'columnTypes' | 'partialIndexes'>,
): MigrationProvider {
  const migrations = sessionMigrations(where, backend);
  return { getMigrations: async () => migrations };
}
