import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { ExecuteResult, LockOutcome, PreparedQuery, SessionBackend } from '@sessionsql/core';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import {
  checkOut,
  connectWait,
  DATA_REJECTIONS,
  DEFAULT_QUERY_TIMEOUT_MS,
  describePool,
  isConnectionError,
  Lease,
  statementFailure,
} from './postgres-connections.js';
import { postgresStatements } from './postgres-statements.js';

export { DEFAULT_QUERY_TIMEOUT_MS, describePool, MAX_TIMEOUT_MS } from './postgres-connections.js';

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

/** A 64-bit advisory lock key derived from a lock name. */
function lockKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/** Options of {@link createPostgresBackend}. */
export interface PostgresBackendOptions {
  /** The pool to use. */
  pool: pg.Pool;
  /** Whether `close()` ends the pool (true when the store created it). */
  ownsPool: boolean;
  /** Schema holding the table. */
  schema: string;
  /**
   * Most milliseconds one statement waits for its answer; also the most the store waits for
   * a connection from a pool that has no `connectionTimeoutMillis` of its own. A connection
   * that times out is closed, never reused.
   * @default 10_000
   */
  queryTimeoutMs?: number;
}

/**
 * The PostgreSQL side of a store over a `pg.Pool`: hot-path statements run as named prepared
 * statements, locks are session advisory locks.
 *
 * No wait is unbounded, on any pool: getting a connection waits at most the pool's
 * `connectionTimeoutMillis` (or `queryTimeoutMs` when it has none), and every statement at
 * most `queryTimeoutMs` for its answer, after which its connection is destroyed rather than
 * returned to the pool. The pool's own settings are never changed.
 */
export function createPostgresBackend({
  pool,
  ownsPool,
  schema,
  queryTimeoutMs = DEFAULT_QUERY_TIMEOUT_MS,
}: PostgresBackendOptions): SessionBackend {
  const wait = connectWait(pool, ownsPool, queryTimeoutMs);
  const acquire = (): Promise<Lease> =>
    new Promise((resolve, reject) =>
      checkOut(pool, wait, (error, client) =>
        error === undefined ? resolve(new Lease(client!, queryTimeoutMs)) : reject(error),
      ),
    );
  // Kysely (migrations, locks, pruning) gets its connections through the same bounded leases.
  const leases = {
    async connect() {
      const lease = await acquire();
      return {
        query: (text: string, values: readonly unknown[]) => lease.query({ text, values: values as unknown[] }),
        release: () => lease.release(),
      };
    },
    end: async () => undefined,
  };
  const kysely = new Kysely<any>({ dialect: new PostgresDialect({ pool: leases as unknown as pg.Pool }) });
  const names = new Map<string, string>();
  let report: (error: unknown) => void = () => undefined;
  const onPoolError = (error: unknown) => report(error);
  // Without a listener pg re-throws an idle client's error and the process dies.
  pool.on('error', onPoolError);
  // The connections of a pool the store created, so that close() frees their sockets even when
  // the server cannot answer the goodbye (a partition would keep them half-closed until it heals).
  const opened = new Set<pg.Client>();
  if (ownsPool) {
    pool.on('connect', (client) => opened.add(client));
    pool.on('remove', (client) => opened.delete(client));
  }

  return {
    name: 'postgres',
    location: describePool(pool),
    schema,
    db: kysely,
    columnTypes: { id: 'text', data: 'json', time: 'timestamptz' },
    partialIndexes: true,
    statements: postgresStatements,
    encodeTime: (ms) => new Date(ms),

    execute<Row>(query: PreparedQuery, values: readonly unknown[]): Promise<ExecuteResult<Row>> {
      let name = names.get(query.sql);
      if (name === undefined) {
        name = `sessionsql_${createHash('sha256').update(query.sql).digest('hex').slice(0, 24)}`;
        names.set(query.sql, name);
      }
      const config = {
        name,
        text: query.sql,
        values: values as unknown[],
        types: queryTypes,
        query_timeout: queryTimeoutMs,
      };
      // One promise and callbacks inside: a Lease per statement cost a fifth more CPU.
      return new Promise((resolve, reject) =>
        checkOut(pool, wait, (connectError, client) => {
          if (connectError !== undefined) {
            reject(connectError);
            return;
          }
          let broken: Error | undefined;
          const onError = (error: Error) => {
            broken ??= error;
          };
          const done = (error: Error | null | undefined, result?: pg.QueryResult) => {
            client!.off('error', onError);
            if (error) {
              const failure = statementFailure(error, queryTimeoutMs);
              if (isConnectionError(failure)) broken ??= failure;
              // With an error pg-pool discards the client (see Lease.release).
              client!.release(broken);
              reject(failure);
            } else {
              client!.release(broken);
              resolve({ rows: result!.rows as Row[], affectedRows: result!.rowCount ?? 0 });
            }
          };
          client!.on('error', onError);
          try {
            client!.query(config as pg.QueryConfig, done);
          } catch (error) {
            done(error as Error);
          }
        }),
      );
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

    async tableSize(db, where) {
      const table = `"${where.schema}"."${where.table}"`;
      const { rows } = await sql<{ table_bytes: string; index_bytes: string }>`select
          pg_table_size(${table}::regclass) as table_bytes, pg_indexes_size(${table}::regclass) as index_bytes`.execute(
        db,
      );
      return { tableBytes: Number(rows[0]?.table_bytes ?? 0), indexBytes: Number(rows[0]?.index_bytes ?? 0) };
    },

    async analyzeTable(db, where) {
      // VACUUM also marks the pages all-visible, so that counts read only the indexes; it
      // cannot run in a transaction, and a lease is none.
      await sql`vacuum (analyze) ${sql.table(`${where.schema}.${where.table}`)}`.execute(db);
    },

    isDataRejection: (error) => DATA_REJECTIONS.has(String((error as { code?: unknown })?.code)),
    isConnectionError,

    onBackgroundError(listener) {
      report = listener;
    },

    async close() {
      pool.off('error', onPoolError);
      if (!ownsPool) return;
      await pool.end();
      for (const client of opened) {
        // pg has written its Terminate message and ended the socket; once that is flushed to
        // the kernel (which still delivers it) the socket need not wait for the server's answer.
        const stream = (client as unknown as { connection?: { stream?: Socket } }).connection?.stream;
        if (stream === undefined || stream.destroyed) continue;
        if (stream.writableFinished) stream.destroy();
        else {
          stream.once('finish', () => stream.destroy());
          setTimeout(() => stream.destroy(), 1000).unref();
        }
      }
      opened.clear();
    },
  };
}
