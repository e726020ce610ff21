import { createHash } from 'node:crypto';
import {
  type ExecuteResult,
  type LockOutcome,
  type PreparedQuery,
  prepareQuery,
  type SessionBackend,
} from '@sessionsql/core';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

const JSON_OID = 114;
const JSONB_OID = 3802;
const INT8_OID = 20;

/**
 * Type parsers for the store's own queries, independent of any global `pg.types` changes the
 * app made: JSON stays text (the store decodes it, the same as on SQLite) and counts become
 * numbers.
 */
const queryTypes = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === JSON_OID || oid === JSONB_OID) return (value: string) => value;
    if (oid === INT8_OID) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/**
 * SQLSTATEs for data PostgreSQL cannot store in `jsonb` or `text`: a `\u0000` in a string
 * (22P05), a lone surrogate escape (22P02), bytes outside the server encoding (22021).
 */
const DATA_REJECTIONS = new Set(['22P05', '22P02', '22021', '22025']);

/**
 * Errors that mean the server could not be reached or refused the session: network errors,
 * pg's connect timeout, bad credentials (28xxx), a missing database (3D000), connection
 * exceptions (08xxx), shutdown (57P0x).
 */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  '3D000',
  '57P01',
  '57P02',
  '57P03',
]);

function isConnectionError(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = String(e?.code ?? '');
  if (CONNECTION_CODES.has(code) || code.startsWith('28') || code.startsWith('08')) return true;
  const message = String(e?.message ?? '');
  return /^Connection terminated|timeout expired|connection timeout/i.test(message);
}

/** A 64-bit advisory lock key derived from a lock name. */
function lockKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/**
 * Where a pool connects, without credentials: `host:port/database`.
 */
export function describePool(pool: pg.Pool): string {
  const options = (pool as unknown as { options?: pg.PoolConfig }).options ?? {};
  let host = options.host;
  let port = options.port === undefined ? undefined : String(options.port);
  let database = options.database;
  if (typeof options.connectionString === 'string') {
    try {
      const url = new URL(options.connectionString);
      host ??= decodeURIComponent(url.hostname) || url.searchParams.get('host') || undefined;
      port ??= url.port || undefined;
      database ??= decodeURIComponent(url.pathname.slice(1)) || undefined;
    } catch {
      // An unparsable string is pg's to reject; never echo it, it may hold a password.
    }
  }
  return `${host ?? process.env.PGHOST ?? 'localhost'}:${port ?? process.env.PGPORT ?? 5432}/${database ?? process.env.PGDATABASE ?? ''}`;
}

/** Options of {@link createPostgresBackend}. */
export interface PostgresBackendOptions {
  /** The pool to use. */
  pool: pg.Pool;
  /** Whether `close()` ends the pool (true when the store created it). */
  ownsPool: boolean;
  /** Schema holding the table. */
  schema: string;
}

/**
 * The PostgreSQL side of a store over a `pg.Pool`: hot-path statements run as named prepared
 * statements, locks are session advisory locks.
 */
export function createPostgresBackend({ pool, ownsPool, schema }: PostgresBackendOptions): SessionBackend {
  const kysely = new Kysely<any>({ dialect: new PostgresDialect({ pool }) });
  const names = new Map<string, string>();
  let report: (error: unknown) => void = () => undefined;
  const onPoolError = (error: unknown) => report(error);
  // Without a listener pg re-throws an idle client's error and the process dies.
  pool.on('error', onPoolError);

  return {
    name: 'postgres',
    location: describePool(pool),
    schema,
    db: kysely,
    columnTypes: { id: 'text', data: 'jsonb', time: 'timestamptz' },
    partialIndexes: true,
    statements: (db, where) => ({
      // A batch found by physical row address: no second lookup through the id index.
      deleteExpiredBatch: prepareQuery(
        ['now', 'limit'],
        (p) => {
          const table = sql.table(`${where.schema}.${where.table}`);
          return {
            compile: () =>
              sql`delete from ${table} where ctid = any(array(select ctid from ${table} where expires_at <= ${p.now} limit ${p.limit}))`.compile(
                db,
              ),
          };
        },
        false,
      ),
    }),
    encodeTime: (ms) => new Date(ms),

    async execute<Row>(query: PreparedQuery, values: readonly unknown[]): Promise<ExecuteResult<Row>> {
      let name = names.get(query.sql);
      if (name === undefined) {
        name = `sessionsql_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`;
        names.set(query.sql, name);
      }
      const result = await pool.query({ name, text: query.sql, values: values as unknown[], types: queryTypes });
      return { rows: result.rows as Row[], affectedRows: result.rowCount ?? 0 };
    },

    withLock<T>(name: string, wait: boolean, task: (db: Kysely<any>) => Promise<T>): Promise<LockOutcome<T>> {
      const key = lockKey(name);
      return kysely.connection().execute(async (connection): Promise<LockOutcome<T>> => {
        if (wait) {
          await sql`select pg_advisory_lock(${key}::bigint)`.execute(connection);
        } else {
          const { rows } = await sql<{
            locked: boolean;
          }>`select pg_try_advisory_lock(${key}::bigint) as locked`.execute(connection);
          if (rows[0]?.locked !== true) return { acquired: false };
        }
        try {
          return { acquired: true, value: await task(connection) };
        } finally {
          await sql`select pg_advisory_unlock(${key}::bigint)`.execute(connection);
        }
      });
    },

    isDataRejection: (error) => DATA_REJECTIONS.has(String((error as { code?: unknown })?.code)),
    isConnectionError,

    onBackgroundError(listener) {
      report = listener;
    },

    async close() {
      pool.off('error', onPoolError);
      if (ownsPool) await pool.end();
    },
  };
}
