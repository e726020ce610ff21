import { ExpressSessionStore, type SessionStoreOptions } from '@sessionsql/core';
import { createSqliteBackend, type SqliteDatabase } from './sqlite-backend.js';

/** Options of {@link SqliteSessionStore}. */
export interface SqliteSessionStoreOptions extends SessionStoreOptions {
  /**
   * Where the sessions live: a file path (created if missing, opened in WAL mode with
   * `synchronous = NORMAL` and a 5 s busy timeout, closed by `close()`), `':memory:'`, or a
   * better-sqlite3 `Database` you opened yourself (used as it is and left open by `close()`).
   * @example 'data/sessions.sqlite'
   */
  database: string | SqliteDatabase;
}

/**
 * express-session store on SQLite through better-sqlite3.
 *
 * @example
 * ```ts
 * import session from 'express-session'
 * import { SqliteSessionStore } from '@sessionsql/sqlite'
 *
 * app.use(session({
 *   store: new SqliteSessionStore({ database: 'sessions.sqlite' }),
 *   secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false,
 * }))
 * ```
 */
export class SqliteSessionStore extends ExpressSessionStore {
  constructor(options: SqliteSessionStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        'sessionsql: new SqliteSessionStore() needs options, for example { database: "sessions.sqlite" }.',
      );
    }
    super(() => createSqliteBackend(options.database), options, {
      ownKeys: ['database'],
      owner: 'SqliteSessionStore',
    });
  }
}
