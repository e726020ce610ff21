import { assertIdentifier, ExpressSessionStore, type SessionBackend, type SessionStoreOptions } from '@sessionsql/core';
import pg from 'pg';
import { createPostgresBackend, DEFAULT_QUERY_TIMEOUT_MS, MAX_TIMEOUT_MS } from './postgres-backend.js';

/** Options of {@link PostgresSessionStore}. Give exactly one of `pool` and `connectionString`. */
export interface PostgresSessionStoreOptions extends SessionStoreOptions, PostgresConnectionOptions {}

/** Where a PostgreSQL store keeps its sessions. Give exactly one of `pool` and `connectionString`. */
export interface PostgresConnectionOptions {
  /**
   * A `pg.Pool` you created; the store uses it and `close()` leaves it open. The store never
   * changes its settings, but still bounds its own waits on it: a connection from it waits at
   * most its `connectionTimeoutMillis` (or `queryTimeoutMs` when it has none), each statement
   * at most `queryTimeoutMs`, and a connection whose statement timed out is released with an
   * error, so that the pool discards it. TCP keepalive is the pool's own setting: create it with
   * `keepAlive: true` to have idle connections to a vanished server noticed and dropped.
   */
  pool?: pg.Pool;
  /**
   * A PostgreSQL URL; the store creates its own pool (see `poolConfig`) and `close()` ends it.
   * Its `connect_timeout` (whole seconds, 1 or more) sets the pool's `connectionTimeoutMillis`,
   * over `poolConfig`'s.
   * @example 'postgres://app:secret@db.internal:5432/app'
   */
  connectionString?: string;
  /**
   * Extra `pg.Pool` settings for the pool created from `connectionString` (ssl, max, timeouts).
   * The connections have TCP keepalive on, so that one to a server that vanished (a network
   * partition, a crashed host) is noticed and dropped even while idle.
   * @default { max: 10, connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 }
   */
  poolConfig?: Omit<pg.PoolConfig, 'connectionString'>;
  /**
   * Most milliseconds one statement waits for PostgreSQL's answer, on any pool. When it runs
   * out the call fails with a `SessionStoreError` of code `CONNECTION_FAILED` naming this
   * option, and the connection is closed rather than reused: the next call opens a new one.
   * This is a client-side timer, so it also ends the wait when the network drops packets
   * without closing the connection (a partition), which no server-side `statement_timeout`
   * can. It bounds every statement the store runs, including its migrations and the wait for
   * another instance's migration lock: raise it if yours legitimately take longer (an index
   * built over millions of rows). The store's own statements take about a millisecond.
   * @default 10_000
   */
  queryTimeoutMs?: number;
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
  'queryTimeoutMs',
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
  const queryTimeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  if (!Number.isInteger(queryTimeoutMs) || queryTimeoutMs < 1 || queryTimeoutMs > MAX_TIMEOUT_MS) {
    throw new TypeError(
      `sessionsql: option \`queryTimeoutMs\` must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS} (got ${String(options.queryTimeoutMs)}).`,
    );
  }
  const ownsPool = pool === undefined;
  const usedPool =
    pool ??
    new pg.Pool({
      max: 10,
      connectionTimeoutMillis: 10_000,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...options.poolConfig,
      ...connectTimeoutOf(connectionString!),
      connectionString,
    });
  return createPostgresBackend({ pool: usedPool, ownsPool, schema, queryTimeoutMs });
}

/**
 * `connectionTimeoutMillis` from the URL's `connect_timeout` (seconds), which pg's pool does
 * not read itself. Throws a `TypeError` for a value that is not a whole number of seconds of
 * at least 1: libpq's 0 means "wait forever", which the store never does.
 */
function connectTimeoutOf(connectionString: string): { connectionTimeoutMillis?: number } {
  let value: string | null;
  try {
    value = new URL(connectionString).searchParams.get('connect_timeout');
  } catch {
    return {}; // Not a URL (a socket path, `host=… dbname=…`): pg reads it, without connect_timeout.
  }
  if (value === null) return {};
  const seconds = /^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN;
  if (!(seconds >= 1 && seconds * 1000 <= MAX_TIMEOUT_MS)) {
    throw new TypeError(
      `sessionsql: connect_timeout=${value} in the PostgreSQL URL must be a whole number of seconds from 1 to ${Math.floor(MAX_TIMEOUT_MS / 1000)} (0 would wait forever).`,
    );
  }
  return { connectionTimeoutMillis: seconds * 1000 };
}
