import { assertIdentifier, ExpressSessionStore, type SessionBackend, type SessionStoreOptions } from '@sessionsql/core';
import pg from 'pg';
import { createPostgresBackend } from './postgres-backend.js';

/** Options of {@link PostgresSessionStore}. Give exactly one of `pool` and `connectionString`. */
export interface PostgresSessionStoreOptions extends SessionStoreOptions, PostgresConnectionOptions {}

/** Where a PostgreSQL store keeps its sessions. Give exactly one of `pool` and `connectionString`. */
export interface PostgresConnectionOptions {
  /**
   * A `pg.Pool` you created; the store uses it and `close()` leaves it open.
   */
  pool?: pg.Pool;
  /**
   * A PostgreSQL URL; the store creates its own pool (see `poolConfig`) and `close()` ends it.
   * @example 'postgres://app:secret@db.internal:5432/app'
   */
  connectionString?: string;
  /**
   * Extra `pg.Pool` settings for the pool created from `connectionString` (ssl, max, timeouts).
   * @default { max: 10, connectionTimeoutMillis: 10_000 }
   */
  poolConfig?: Omit<pg.PoolConfig, 'connectionString'>;
  /**
   * Schema holding the session table; created if missing. Letters, digits, underscores.
   * @default 'public'
   */
  schemaName?: string;
}

/** The keys of {@link PostgresConnectionOptions}. */
export const POSTGRES_OPTION_KEYS: readonly string[] = Object.freeze([
  'pool',
  'connectionString',
  'poolConfig',
  'schemaName',
]);

/**
 * express-session store on PostgreSQL through pg.
 *
 * @example
 * ```ts
 * import session from 'express-session'
 * import { PostgresSessionStore } from '@sessionsql/postgres'
 *
 * app.use(session({
 *   store: new PostgresSessionStore({ connectionString: process.env.DATABASE_URL }),
 *   secret: process.env.SESSION_SECRET!, resave: false, saveUninitialized: false,
 * }))
 * ```
 */
export class PostgresSessionStore extends ExpressSessionStore {
  constructor(options: PostgresSessionStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(
        'sessionsql: new PostgresSessionStore() needs options, for example { connectionString: "postgres://user@host/db" }.',
      );
    }
    super(() => openPostgresBackend(options), options, {
      ownKeys: POSTGRES_OPTION_KEYS,
      owner: 'PostgresSessionStore',
    });
  }
}

/**
 * Checks the PostgreSQL options and builds the backend, creating a pool from
 * `connectionString` when no `pool` is given. Throws a `TypeError` for bad options.
 */
export function openPostgresBackend(options: PostgresConnectionOptions): SessionBackend {
  const schema = assertIdentifier('schemaName', options.schemaName ?? 'public', 63);
  const { pool, connectionString } = options;
  if ((pool === undefined) === (connectionString === undefined)) {
    throw new TypeError(
      'sessionsql: PostgresSessionStore needs exactly one of `pool` (a pg.Pool) or `connectionString` (a postgres:// URL).',
    );
  }
  if (pool !== undefined && (typeof pool !== 'object' || pool === null || typeof pool.connect !== 'function')) {
    throw new TypeError('sessionsql: option `pool` must be a pg.Pool.');
  }
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
    throw new TypeError('sessionsql: option `connectionString` must be a non-empty postgres:// URL.');
  }
  const ownsPool = pool === undefined;
  const usedPool =
    pool ?? new pg.Pool({ max: 10, connectionTimeoutMillis: 10_000, ...options.poolConfig, connectionString });
  return createPostgresBackend({ pool: usedPool, ownsPool, schema });
}
