import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import {
  type ExecuteResult,
  type LockOutcome,
  type PreparedQuery,
  prepareQuery,
  type QueryParams,
  type SessionBackend,
  type SessionQueries,
  type TableLocation,
} from '@sessionsql/core';
import { Kysely, PostgresDialect, type RawBuilder, sql } from 'kysely';
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

/** Default of `queryTimeoutMs`: how long one statement may wait for PostgreSQL's answer. */
export const DEFAULT_QUERY_TIMEOUT_MS = 10_000;

/** The longest delay `setTimeout` takes. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * A connection failure the backend recognized, with a message saying what happened and what
 * to change; pg's own error is the `cause`. `code` is one of `SESSIONSQL_QUERY_TIMEOUT` (no
 * answer to a statement within `queryTimeoutMs`), `SESSIONSQL_CONNECT_TIMEOUT` (a new
 * connection not set up in time), `SESSIONSQL_POOL_TIMEOUT` (no free connection in time),
 * `SESSIONSQL_SSL_REFUSED`, `SESSIONSQL_SSL_CERTIFICATE`.
 */
class PostgresConnectionError extends Error {
  readonly code: string;

  constructor(code: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'PostgresConnectionError';
    this.code = code;
  }
}

/** Errors raised while getting a connection: every one of them is a connection failure. */
const CONNECT_FAILURES = new WeakSet<object>();

function isConnectionError(error: unknown): boolean {
  if (error instanceof PostgresConnectionError) return true;
  if (typeof error === 'object' && error !== null && CONNECT_FAILURES.has(error)) return true;
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = String(e?.code ?? '');
  if (CONNECTION_CODES.has(code) || code.startsWith('28') || code.startsWith('08')) return true;
  const message = String(e?.message ?? '');
  return /^Connection terminated|timeout expired|connection timeout|timeout exceeded when trying to connect|not queryable|^Query read timeout/i.test(
    message,
  );
}

/** pg's words for an error, or its code (Node's AggregateError of a refused host has no message). */
function wordsOf(error: unknown): string {
  const e = error as { message?: unknown; code?: unknown } | null;
  if (typeof e?.message === 'string' && e.message !== '') return e.message;
  return typeof e?.code === 'string' ? e.code : String(error);
}

/** How long the store waits for a connection, and what to change to wait longer. */
interface ConnectWait {
  readonly ms: number;
  /** Whether the pool times out itself (`connectionTimeoutMillis`); otherwise the backend's timer does. */
  readonly byPool: boolean;
  readonly hint: string;
}

function connectWait(pool: pg.Pool, ownsPool: boolean, queryTimeoutMs: number): ConnectWait {
  const own = (pool as unknown as { options?: pg.PoolConfig }).options?.connectionTimeoutMillis;
  if (typeof own === 'number' && own > 0 && Number.isFinite(own)) {
    return {
      ms: own,
      byPool: true,
      hint: ownsPool
        ? 'if the server is only slow, raise poolConfig.connectionTimeoutMillis or connect_timeout (seconds) in the URL'
        : "this wait is your pg.Pool's connectionTimeoutMillis",
    };
  }
  return {
    ms: queryTimeoutMs,
    byPool: false,
    hint: 'this wait is queryTimeoutMs, as the pg.Pool has no connectionTimeoutMillis of its own',
  };
}

/**
 * What a failure to get a connection means, said plainly: a timeout names the wait and what
 * sets it, a refused or unverifiable SSL says what to change; any other error is kept as is
 * and counted as a connection failure.
 */
function connectFailure(error: unknown, wait: ConnectWait): unknown {
  const message = wordsOf(error);
  const code = String((error as { code?: unknown } | null)?.code ?? '');
  if (message === 'timeout exceeded when trying to connect') {
    return new PostgresConnectionError(
      'SESSIONSQL_POOL_TIMEOUT',
      `no free connection in the pool within ${wait.ms} ms: every connection stayed busy, or the server did not answer; ${wait.hint}`,
      error,
    );
  }
  if (/^Connection terminated due to connection timeout|^timeout expired/.test(message)) {
    return new PostgresConnectionError(
      'SESSIONSQL_CONNECT_TIMEOUT',
      `PostgreSQL did not complete a new connection within ${wait.ms} ms; ${wait.hint}`,
      error,
    );
  }
  if (message === 'The server does not support SSL connections') {
    return new PostgresConnectionError(
      'SESSIONSQL_SSL_REFUSED',
      'the server refused SSL: it takes no encrypted connections, but the connection settings ask for SSL (sslmode or ssl in the URL, or ssl in the pool settings). Turn SSL on in the server (ssl = on in postgresql.conf), or connect without it (sslmode=disable) on a network you trust',
      error,
    );
  }
  if (/CERT|SIGNATURE|ALTNAME|HOSTNAME/.test(code)) {
    return new PostgresConnectionError(
      'SESSIONSQL_SSL_CERTIFICATE',
      `the server's SSL certificate was not accepted (${message}): give the authority that signed it with sslrootcert=/path/to/ca.pem (sslmode=verify-full also checks the host name, verify-ca does not), or use sslmode=require to encrypt without checking it`,
      error,
    );
  }
  if (typeof error === 'object' && error !== null) CONNECT_FAILURES.add(error);
  return error;
}

/**
 * Checks a connection out of `pool` and calls `done` once, with it or with the failure (see
 * {@link connectFailure}); the wait is bounded by the pool's own `connectionTimeoutMillis`, or
 * by a timer of `wait.ms` when it has none, and a connection arriving after that timer goes
 * back to the pool. Callbacks, not promises: this is on every statement's path.
 */
function checkOut(pool: pg.Pool, wait: ConnectWait, done: (error: unknown, client?: pg.PoolClient) => void): void {
  if (wait.byPool) {
    pool.connect((error, client) => (error ? done(connectFailure(error, wait)) : done(undefined, client)));
    return;
  }
  let settled = false;
  const timer = setTimeout(() => {
    settled = true;
    done(
      new PostgresConnectionError(
        'SESSIONSQL_POOL_TIMEOUT',
        `no connection from the pool within ${wait.ms} ms: every connection stayed busy, or the server did not answer; ${wait.hint}`,
        undefined,
      ),
    );
  }, wait.ms);
  pool.connect((error, client, release) => {
    if (settled) {
      if (!error) release();
      return;
    }
    settled = true;
    clearTimeout(timer);
    if (error) done(connectFailure(error, wait));
    else done(undefined, client);
  });
}

/** A statement's failure as the store reports it: pg's read timeout names `queryTimeoutMs`. */
function statementFailure(error: Error, timeoutMs: number): Error {
  if (error.message !== 'Query read timeout') return error;
  return new PostgresConnectionError(
    'SESSIONSQL_QUERY_TIMEOUT',
    `PostgreSQL did not answer within ${timeoutMs} ms (queryTimeoutMs); the connection was closed and the next call opens a new one. The network or the server may be down or overloaded; raise queryTimeoutMs if statements legitimately take longer`,
    error,
  );
}

/**
 * One connection checked out of the pool, for Kysely (migrations, locks, pruning). Each
 * statement waits at most `timeoutMs` for its answer (pg's `query_timeout`, set on each
 * statement); a connection that timed out or failed is never reused: later statements on it
 * fail at once and `release()` discards it (its socket is destroyed).
 */
class Lease {
  readonly #client: pg.PoolClient;
  readonly #timeoutMs: number;
  #broken: Error | undefined;
  readonly #onError = (error: Error) => {
    this.#broken ??= error;
  };

  constructor(client: pg.PoolClient, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    // A checked-out client has no pool listener: without one its 'error' would crash the process.
    client.on('error', this.#onError);
  }

  query(config: pg.QueryConfig): Promise<pg.QueryResult> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      const done = (error: Error | null | undefined, result?: pg.QueryResult) => {
        if (error === null || error === undefined) {
          resolve(result!);
          return;
        }
        const failure = statementFailure(error, this.#timeoutMs);
        if (isConnectionError(failure)) this.#broken ??= failure;
        reject(failure);
      };
      try {
        this.#client.query({ ...config, query_timeout: this.#timeoutMs } as pg.QueryConfig, done);
      } catch (error) {
        done(error as Error);
      }
    });
  }

  release(): void {
    this.#client.off('error', this.#onError);
    // With an error pg-pool removes the client and ends it; a client with a statement still
    // running has its socket destroyed rather than waiting for an answer that may never come.
    this.#client.release(this.#broken);
  }
}

/** A statement written in SQL with kysely's `sql` tag (for prepareQuery). */
const raw = (db: Kysely<any>, statement: RawBuilder<unknown>) => ({ compile: () => statement.compile(db) });

/**
 * The batch statements (see `SessionQueries`): one array per column, unnested into rows. The
 * store coalesces concurrent gets, sets, updates, touches and deletes into them.
 */
function batchStatements(db: Kysely<any>, where: TableLocation): Partial<SessionQueries> {
  const table = sql.table(`${where.schema}.${where.table}`);
  const values = (p: QueryParams<'keys' | 'datas' | 'expiresAts' | 'userIds'>) =>
    sql`unnest(${p.keys}::text[], ${p.datas}::jsonb[], ${p.expiresAts}::timestamptz[], ${p.userIds}::text[]) as v(id, data, expires_at, user_id)`;
  const columns = ['keys', 'datas', 'expiresAts', 'userIds', 'now'] as const;
  return {
    getMany: prepareQuery(
      ['keys', 'now'],
      (p) =>
        raw(db, sql`select id, data, expires_at from ${table} where id = any(${p.keys}::text[]) and expires_at > ${p.now}`),
      true,
    ),
    setMany: prepareQuery(
      columns,
      (p) =>
        raw(
          db,
          sql`insert into ${table} as t (id, data, expires_at, user_id, created_at, updated_at)
            select v.id, v.data, v.expires_at, v.user_id, n.now, n.now from ${values(p)}, (select ${p.now}::timestamptz as now) n
            on conflict (id) do update set data = excluded.data, expires_at = excluded.expires_at, user_id = excluded.user_id,
              updated_at = excluded.updated_at,
              created_at = case when t.expires_at <= excluded.updated_at then excluded.created_at else t.created_at end`,
        ),
      false,
    ),
    updateMany: prepareQuery(
      columns,
      (p) =>
        raw(
          db,
          sql`update ${table} as t set data = v.data, expires_at = v.expires_at, user_id = v.user_id, updated_at = n.now
            from ${values(p)}, (select ${p.now}::timestamptz as now) n
            where t.id = v.id and t.expires_at > n.now returning t.id`,
        ),
      true,
    ),
    touchMany: prepareQuery(
      ['keys', 'expiresAts', 'now'],
      (p) =>
        raw(
          db,
          sql`update ${table} as t set expires_at = v.expires_at, updated_at = n.now
            from unnest(${p.keys}::text[], ${p.expiresAts}::timestamptz[]) as v(id, expires_at), (select ${p.now}::timestamptz as now) n
            where t.id = v.id and t.expires_at > n.now returning t.id`,
        ),
      true,
    ),
    destroyMany: prepareQuery(['keys'], (p) => raw(db, sql`delete from ${table} where id = any(${p.keys}::text[])`), false),
  };
}

/** A 64-bit advisory lock key derived from a lock name. */
function lockKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}

/**
 * Where a pool connects, without credentials: `host:port/database`, as pg resolves it (the
 * URL's `host` and `port` parameters win over its authority, then the `PG*` variables).
 */
export function describePool(pool: pg.Pool): string {
  const options = (pool as unknown as { options?: pg.PoolConfig }).options ?? {};
  let host: string | undefined;
  let port: string | undefined;
  let database: string | undefined;
  try {
    // A client that never connects: pg's own reading of the settings, nothing is opened.
    const resolved = new pg.Client(options) as unknown as { host?: string; port?: number; database?: string };
    host = resolved.host || undefined;
    port = Number.isFinite(resolved.port) ? String(resolved.port) : undefined;
    database = resolved.database ?? undefined;
  } catch {
    // Settings pg cannot read fail on connect, with pg's reason; never echo them, they may hold a password.
  }
  host ??= options.host ?? process.env.PGHOST ?? 'localhost';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `${host}:${port ?? options.port ?? process.env.PGPORT ?? 5432}/${database ?? options.database ?? process.env.PGDATABASE ?? ''}`;
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
      ...batchStatements(db, where),
    }),
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
