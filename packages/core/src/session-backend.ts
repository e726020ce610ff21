import type { Kysely } from 'kysely';
import type { TableLocation } from './session-migrations.js';
import type { SessionQueries } from './session-queries.js';

/**
 * Name of a database dialect, shown in errors and as `store.backend`: `sqlite` and `postgres`
 * ship with sessionsql; another dialect package names its own.
 */
export type BackendName = 'sqlite' | 'postgres' | (string & {});

/**
 * A query compiled once by the store. `sql` uses the dialect's placeholders; the values are
 * passed to {@link SessionBackend.execute} in placeholder order.
 */
export interface PreparedQuery {
  /** The SQL text, compiled once; backends may cache a prepared statement keyed by it. */
  readonly sql: string;
  /** Whether the statement returns rows (`SELECT`, `RETURNING`). */
  readonly returnsRows: boolean;
  /**
   * Whether it returns at most one row (a lookup by primary key): a backend may fetch it with
   * a single-row call instead of building a list (better-sqlite3's `get`, about 1 µs less).
   */
  readonly oneRow: boolean;
}

/** Outcome of {@link SessionBackend.execute}. */
export interface ExecuteResult<Row> {
  /** The rows, for statements that return rows; empty otherwise. */
  readonly rows: Row[];
  /** Rows inserted, updated or deleted, for statements that change rows; 0 otherwise. */
  readonly affectedRows: number;
}

/**
 * SQL column types a dialect uses for the session table.
 */
export interface SessionColumnTypes {
  /** The session id (primary key) and the user id: `text` on SQLite and PostgreSQL. */
  readonly id: string;
  /**
   * Session data as JSON text: `json` on PostgreSQL (a table created by an earlier sessionsql has `jsonb`,
   * which the store uses the same way), `text` on SQLite.
   */
  readonly data: string;
  /**
   * Points in time. Whatever the type, the store binds and reads them through
   * {@link SessionBackend.encodeTime} and reads back milliseconds since the Unix epoch.
   */
  readonly time: string;
}

/**
 * The contract between the core store and a database dialect: everything that really differs
 * between SQLite and PostgreSQL, and nothing else. The store compiles its statements once with
 * {@link SessionBackend.db} and runs them through {@link SessionBackend.execute}.
 *
 * Meaning the store relies on:
 * - every time the store binds is milliseconds since the Unix epoch, passed through
 *   {@link SessionBackend.encodeTime}; times read back are a `Date`, a number of milliseconds
 *   or a string `Date.parse` accepts;
 * - session data is bound as a JSON string and read back as a JSON string;
 * - counts may be read back as a number, a bigint or a decimal string.
 */
export interface SessionBackend {
  /** Which database this is; shown in errors and as `store.backend`. */
  readonly name: BackendName;
  /** Where the data lives, safe to print (no password), e.g. `127.0.0.1:5432/app` or a file path. */
  readonly location: string;
  /** PostgreSQL schema holding the table, or undefined for the connection's default (SQLite). */
  readonly schema: string | undefined;
  /**
   * A Kysely instance over the backend's connection(s). The store compiles queries and runs
   * schema migrations with it; it never destroys it (the backend's {@link close} does).
   */
  readonly db: Kysely<any>;
  /** Column types for the schema. */
  readonly columnTypes: SessionColumnTypes;
  /**
   * Whether the database has partial indexes (`create index … where`); with them anonymous
   * sessions stay out of the user index.
   */
  readonly partialIndexes: boolean;
  /**
   * The statements whose syntax differs on this database (an upsert without `on conflict`, a
   * batched delete without `limit` in a subquery, …), compiled once per store with
   * {@link prepareQuery}; every statement left out is the portable one core compiles.
   */
  statements?(db: Kysely<any>, where: TableLocation): Partial<SessionQueries>;
  /** Converts milliseconds since the epoch to the value bound for a time column. */
  encodeTime(ms: number): unknown;
  /** Runs a compiled statement with its values in placeholder order. */
  execute<Row>(query: PreparedQuery, values: readonly unknown[]): Promise<ExecuteResult<Row>>;
  /**
   * The same as {@link execute}, returning (or throwing) at once. Only for drivers that run
   * statements on the calling thread (better-sqlite3); with it the store answers
   * express-session's callback calls without a promise chain per request.
   */
  executeSync?<Row>(query: PreparedQuery, values: readonly unknown[]): ExecuteResult<Row>;
  /**
   * Runs `task` while holding the exclusive lock `name`, shared by every process that uses the
   * same database. With `wait` false it does not wait for a held lock and resolves
   * `{ acquired: false }` instead. `task` gets a Kysely instance to run its statements on; on
   * PostgreSQL it is bound to the connection holding the lock, so that a pool of one
   * connection cannot deadlock.
   */
  withLock<T>(name: string, wait: boolean, task: (db: Kysely<any>) => Promise<T>): Promise<LockOutcome<T>>;
  /**
   * Registers where to send errors the driver raises outside any call (an idle PostgreSQL
   * connection dropped by the server). Until it is called such errors are ignored, never thrown.
   */
  onBackgroundError(report: (error: unknown) => void): void;
  /**
   * Classifies a driver error raised while writing session data: `true` when the database
   * refused the data itself (not the connection or the statement).
   */
  isDataRejection(error: unknown): boolean;
  /**
   * Classifies a driver error: `true` when the database could not be reached or refused the
   * connection (refused, unknown host, timeout, bad credentials, missing database).
   */
  isConnectionError(error: unknown): boolean;
  /**
   * Bytes on disk of the session table and of its indexes (for `records.table.stats()`);
   * leave it out when the database cannot tell.
   */
  tableSize?(db: Kysely<any>, where: TableLocation): Promise<{ tableBytes: number; indexBytes: number }>;
  /**
   * Brings the database's own statistics of the table up to date after a bulk load (for
   * `records.table.analyze()`); leave it out when the database needs nothing.
   */
  analyzeTable?(db: Kysely<any>, where: TableLocation): Promise<void>;
  /** Releases what the backend opened itself; connections the caller passed in stay open. */
  close(): Promise<void>;
}

/** Result of {@link SessionBackend.withLock}. */
export type LockOutcome<T> = { readonly acquired: true; readonly value: T } | { readonly acquired: false };
