import { sql } from 'kysely';
import { assertSessionId, encodeSession, sessionKey, toMs, toUserId } from './session-codec.js';
import type { SessionObject } from './session-record.js';
import { isUserIdValue, wholeNumber } from './session-store-options.js';
import type { StoreContext } from './store-context.js';

/**
 * One row as stored, for moving sessions between databases: the key (the hash of the session
 * id), the stored data (JSON text, or ciphertext with `encryptionKeys`), and the times in ms.
 */
export interface StoredRow {
  /** The session's key, as `sessionKey(id)` makes it (its handle in listings). */
  readonly key: string;
  /** The data column as JSON text: the session, or its ciphertext object. */
  readonly data: string;
  readonly expiresAt: number;
  readonly userId: string | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A session to import under its id (from another store's table or a backup). */
export interface ImportedSession {
  readonly id: string;
  readonly data: SessionObject;
  readonly expiresAt: number;
}

/** What `stats` reports of a session table. */
export interface SessionTableStats {
  /** Live (unexpired) sessions. */
  readonly live: number;
  /** Expired sessions still in the table, waiting for the pruner. */
  readonly expired: number;
  /** Users with at least one live session. */
  readonly users: number;
  /** The users with the most live sessions, most first. */
  readonly topUsers: readonly { readonly userId: string; readonly sessions: number }[];
  /** When the oldest and newest live sessions were created (ms), or null for none. */
  readonly oldestCreatedAt: number | null;
  readonly newestCreatedAt: number | null;
  /** Bytes on disk of the table and of its indexes, when the dialect can tell. */
  readonly tableBytes: number | null;
  readonly indexBytes: number | null;
  /** The migrations applied to the table, oldest first; the last is its schema version. */
  readonly migrations: readonly string[];
}

/** Rows read or written per statement when moving rows. */
const MAX_ROWS = 10_000;

type Row = {
  id: string;
  data: unknown;
  expires_at: unknown;
  user_id: string | null;
  created_at: unknown;
  updated_at: unknown;
};

/**
 * Operations on the whole table, for operators (the `sessionsql` command): statistics, and
 * rows moved between databases as stored, so that cookies keep working after a move. Reached
 * as `records.table`.
 */
export class SessionTable {
  readonly #store: StoreContext;

  constructor(store: StoreContext) {
    this.#store = store;
  }

  /**
   * Counts and sizes of the table, answered from the indexes (at a million rows: 0.3 s on SQLite, 0.6 s on PostgreSQL):
   * the statements run side by side where the backend has several connections.
   */
  async stats(options?: { topUsers?: number }): Promise<SessionTableStats> {
    const top = wholeNumber('topUsers', options?.topUsers, 10, 0, 1000);
    const s = this.#store;
    await s.ready();
    const now = s.time(s.now());
    return this.#guard('stats', async () => {
      const db = this.#db();
      const t = s.where.table;
      const [[live], [expired], topUsers, migrations, size] = await Promise.all([
        // One range of the expiry index, which also holds created_at (migration 0003).
        db
          .selectFrom(t)
          .select((eb) => [
            eb.fn.countAll<number>().as('n'),
            eb.fn.min<number | null>('created_at').as('oldest'),
            eb.fn.max<number | null>('created_at').as('newest'),
          ])
          .where('expires_at', '>', now)
          .execute(),
        db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('expires_at', '<=', now)
          .execute(),
        // Each user's live sessions, and how many users (a statement a dialect may own).
        s.backend
          .execute<{ user_id: unknown; n: unknown; users: unknown }>(s.queries.liveUserCounts, [now, Math.max(top, 1)])
          .then((result) => result.rows),
        this.#migrationNames(),
        s.backend.tableSize?.(s.backend.db, s.where),
      ]);
      const ms = (value: unknown) => (value === null || value === undefined ? null : toMs(value));
      return {
        live: Number(live?.n ?? 0),
        expired: Number(expired?.n ?? 0),
        users: Number(topUsers[0]?.users ?? 0),
        topUsers: topUsers.slice(0, top).map((row) => ({ userId: String(row.user_id), sessions: Number(row.n) })),
        oldestCreatedAt: ms(live?.oldest),
        newestCreatedAt: ms(live?.newest),
        tableBytes: size?.tableBytes ?? null,
        indexBytes: size?.indexBytes ?? null,
        migrations,
      };
    });
  }

  /**
   * The migrations applied to the table, oldest first (the last is its schema version),
   * without the counts of {@link SessionTable.stats}.
   */
  async migrations(): Promise<string[]> {
    const s = this.#store;
    await s.ready();
    return this.#guard('migrations', () => this.#migrationNames());
  }

  /**
   * Brings the database's statistics of the table up to date, as after a bulk load (`copy`,
   * `import`): PostgreSQL `VACUUM (ANALYZE)`, which also lets counts read only the indexes
   * (stats on a million freshly copied rows: 2.6 s before, 1.2 s after), SQLite `ANALYZE`.
   * Safe while the app serves; a database user who does not own the table gets a warning
   * from PostgreSQL and nothing happens.
   */
  async analyze(): Promise<void> {
    const s = this.#store;
    await s.ready();
    await this.#guard('analyze', async () => {
      await s.backend.analyzeTable?.(s.backend.db, s.where);
    });
  }

  async #migrationNames(): Promise<string[]> {
    const table = `${this.#store.where.table}_migrations`;
    const rows = await this.#db().selectFrom(table).select('name').orderBy('name').execute();
    return rows.map((row) => String(row.name));
  }

  /**
   * Up to `limit` stored rows with keys after `after`, in key order: live ones only unless
   * `includeExpired`. Page through a table with the last key of each page.
   */
  async exportRows(options: { after?: string; limit?: number; includeExpired?: boolean } = {}): Promise<StoredRow[]> {
    const limit = wholeNumber('limit', options.limit, 1000, 1, MAX_ROWS);
    const s = this.#store;
    await s.ready();
    const now = s.time(s.now());
    return this.#guard('exportRows', async () => {
      let query = this.#db()
        .selectFrom(s.where.table)
        .select(['id', 'data', 'expires_at', 'user_id', 'created_at', 'updated_at'])
        .where('id', '>', options.after ?? '')
        .orderBy('id')
        .limit(limit);
      if (options.includeExpired !== true) query = query.where('expires_at', '>', now);
      const rows = (await query.execute()) as Row[];
      return rows.map((row) => ({
        key: row.id,
        data: typeof row.data === 'string' ? row.data : JSON.stringify(row.data),
        expiresAt: toMs(row.expires_at),
        userId: row.user_id,
        createdAt: toMs(row.created_at),
        updatedAt: toMs(row.updated_at),
      }));
    });
  }

  /**
   * Writes stored rows in one transaction; a row whose key is already there is replaced only
   * by a row updated as late or later, so that importing twice (or resuming) changes nothing.
   * Resolves how many rows it wrote.
   */
  async importRows(rows: readonly StoredRow[]): Promise<number> {
    if (!Array.isArray(rows) || rows.length > MAX_ROWS) {
      throw new TypeError(`sessionsql: importRows() takes an array of at most ${MAX_ROWS} rows.`);
    }
    if (rows.length === 0) return 0;
    const s = this.#store;
    const values = rows.map((row) => {
      if (typeof row?.key !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(row.key) || typeof row.data !== 'string') {
        throw new TypeError(
          'sessionsql: each imported row needs the 43-character `key` and the `data` text of a stored row.',
        );
      }
      for (const time of [row.expiresAt, row.createdAt, row.updatedAt]) {
        if (typeof time !== 'number' || !Number.isFinite(time)) {
          throw new TypeError('sessionsql: each imported row needs `expiresAt`, `createdAt` and `updatedAt` in ms.');
        }
      }
      return {
        id: row.key,
        data: row.data,
        expires_at: s.time(row.expiresAt),
        user_id: row.userId === null || row.userId === undefined ? null : toUserId(row.userId),
        created_at: s.time(row.createdAt),
        updated_at: s.time(row.updatedAt),
      };
    });
    await s.ready();
    return this.#guard('importRows', async () => {
      const t = s.where.table;
      const result = await this.#db()
        .insertInto(t)
        .values(values)
        .onConflict((oc) =>
          oc
            .column('id')
            .doUpdateSet((eb) => ({
              data: eb.ref('excluded.data'),
              expires_at: eb.ref('excluded.expires_at'),
              user_id: eb.ref('excluded.user_id'),
              created_at: eb.ref('excluded.created_at'),
              updated_at: eb.ref('excluded.updated_at'),
            }))
            .where(`${t}.updated_at`, '<=', sql.ref('excluded.updated_at')),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? values.length);
    });
  }

  /**
   * Imports sessions under their ids (from another store's table or a backup): each is
   * encoded, encrypted with `encryptionKeys`, given its user by `getUserId`, and written as
   * {@link importRows} writes. Resolves how many it wrote.
   */
  importSessions(sessions: readonly ImportedSession[], options?: { now?: number }): Promise<number> {
    const s = this.#store;
    const now = options?.now ?? s.now();
    const rows = sessions.map((session): StoredRow => {
      assertSessionId(session.id);
      const key = sessionKey(session.id);
      const userId = s.options.getUserId(session.data);
      return {
        key,
        data: s.seal(encodeSession(session.data), key),
        expiresAt: session.expiresAt,
        userId: isUserIdValue(userId) ? toUserId(userId) : null,
        createdAt: now,
        updatedAt: now,
      };
    });
    return this.importRows(rows);
  }

  #db() {
    const { backend, where } = this.#store;
    return where.schema === undefined ? backend.db : backend.db.withSchema(where.schema);
  }

  async #guard<T>(operation: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (cause) {
      throw this.#store.errors.query(operation, cause);
    }
  }
}
