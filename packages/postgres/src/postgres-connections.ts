/**
 * Connections to PostgreSQL and what goes wrong with them: a bounded wait for a pool
 * connection, bounded statements on a checked-out one (`Lease`), which driver errors mean the
 * server could not be reached, and where a pool connects (for messages, without credentials).
 */
import pg from 'pg';

/**
 * SQLSTATEs for data PostgreSQL cannot store: a `\u0000` in a string (22P05) or a lone
 * surrogate escape (22P02) in `jsonb` (the data type of tables created by an earlier
 * sessionsql; `json` stores both), bytes outside the server encoding (22021).
 */
export const DATA_REJECTIONS = new Set(['22P05', '22P02', '22021', '22025']);

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
export class PostgresConnectionError extends Error {
  readonly code: string;

  constructor(code: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'PostgresConnectionError';
    this.code = code;
  }
}

/** Errors raised while getting a connection: every one of them is a connection failure. */
const CONNECT_FAILURES = new WeakSet<object>();

export function isConnectionError(error: unknown): boolean {
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
export interface ConnectWait {
  readonly ms: number;
  /** Whether the pool times out itself (`connectionTimeoutMillis`); otherwise the backend's timer does. */
  readonly byPool: boolean;
  readonly hint: string;
}

export function connectWait(pool: pg.Pool, ownsPool: boolean, queryTimeoutMs: number): ConnectWait {
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
export function connectFailure(error: unknown, wait: ConnectWait): unknown {
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
export function checkOut(
  pool: pg.Pool,
  wait: ConnectWait,
  done: (error: unknown, client?: pg.PoolClient) => void,
): void {
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
export function statementFailure(error: Error, timeoutMs: number): Error {
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
export class Lease {
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
