import { ExpressSessionStore } from '@sessionsql/core';
import {
  type Deployment,
  SESSION_DB_OPTION_KEYS,
  type SessionDbOptions,
  type SessionEnv,
  sessionDbBackend,
  sessionDbFromEnv,
} from './session-db-options.js';

/** Options of {@link DefaultSessionStore}. */
export interface DefaultSessionStoreOptions extends SessionDbOptions {}

/**
 * The express-session store whose database is chosen at runtime by one URL: SQLite for a
 * single machine, PostgreSQL for a cluster. Everything else (express-session API, per-user
 * operations, pruning) is the same on both.
 *
 * @example
 * ```ts
 * const store = DefaultSessionStore.fromEnv(); // SESSION_DB_URL, SESSION_DEPLOYMENT, SESSION_DATA_DIR
 * await store.ready();
 * app.use(session({ store, secret, resave: false, saveUninitialized: false }));
 * ```
 */
export class DefaultSessionStore extends ExpressSessionStore {
  /** How the store was told the app is deployed. */
  readonly deployment: Deployment;

  constructor(options: DefaultSessionStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('sessionsql: new DefaultSessionStore() needs options with a `url`.');
    }
    const { deployment, open } = sessionDbBackend(options);
    super(open, options, { ownKeys: SESSION_DB_OPTION_KEYS, owner: 'DefaultSessionStore' });
    this.deployment = deployment;
  }

  /**
   * A store on the database `url` names:
   * - `sqlite:relative/path.db`, `sqlite:/absolute/path.db`, `sqlite:///absolute/path.db`,
   *   `sqlite::memory:`, `file:///absolute/path.db` → SQLite (better-sqlite3);
   * - `postgres://…` or `postgresql://…` → PostgreSQL (pg). Query parameters: `schema`
   *   (sessionsql's), and pg's `sslmode`, `ssl`, `sslrootcert`, `sslcert`, `sslkey`,
   *   `application_name`, `options`, `connect_timeout`, `client_encoding`, `host`, `port`.
   *
   * Anything else is a `TypeError` naming the accepted forms.
   */
  static fromUrl(url: string, options?: Omit<DefaultSessionStoreOptions, 'url'>): DefaultSessionStore {
    return new DefaultSessionStore({ ...options, url });
  }

  /**
   * A store configured by environment variables:
   * - `SESSION_DB_URL`: the database URL (see {@link fromUrl}); unset means the SQLite file
   *   `sessions.sqlite` in `SESSION_DATA_DIR`;
   * - `SESSION_DATA_DIR`: directory for that default file, created if missing (default: the
   *   current directory);
   * - `SESSION_DEPLOYMENT`: `standalone` (default) or `cluster`, which requires PostgreSQL.
   */
  static fromEnv(
    env: SessionEnv = process.env,
    options?: Omit<DefaultSessionStoreOptions, 'url' | 'deployment'>,
  ): DefaultSessionStore {
    return new DefaultSessionStore({ ...options, ...sessionDbFromEnv(env) });
  }
}
