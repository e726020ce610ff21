import type { SessionBackend } from './session-backend.js';
import { SessionStoreError } from './session-store-error.js';

/**
 * Fields of driver errors that may quote the statement's values (PostgreSQL's `detail`,
 * `where`, `hint`, `internalQuery`; pg's `query`): a session's data or id must never travel
 * with an error, so these are left out of the `cause` the store attaches.
 */
const UNSAFE_FIELDS = [
  'detail',
  'where',
  'hint',
  'internalQuery',
  'internalPosition',
  'position',
  'query',
  'parameters',
];

/**
 * A copy of a driver error without the fields that may carry session data, keeping what
 * tells the cause: name, message, code, severity, routine, table, column, constraint, stack.
 */
export function scrubCause(cause: unknown): unknown {
  if (typeof cause !== 'object' || cause === null) return cause;
  const error = cause as { [key: string]: unknown };
  if (!UNSAFE_FIELDS.some((field) => error[field] !== undefined)) return cause;
  const copy = new Error(String(error.message ?? ''));
  for (const field of ['name', 'code', 'severity', 'routine', 'schema', 'table', 'column', 'constraint', 'stack']) {
    if (error[field] !== undefined)
      Object.defineProperty(copy, field, {
        value: error[field],
        enumerable: field !== 'stack' && field !== 'name',
        writable: true,
        configurable: true,
      });
  }
  return copy;
}

/** The driver's own words for a failure, for the end of our message. */
export function describeCause(cause: unknown): string {
  const error = cause as { message?: unknown; code?: unknown } | null;
  if (error && typeof error.message === 'string' && error.message !== '') return error.message;
  // Node reports "connection refused" on every address of a host as an AggregateError with no message.
  if (error && typeof error.code === 'string') return error.code;
  return String(cause);
}

/**
 * Builds the store's errors for one backend and table, so that every message names the same
 * database and table and says what to do.
 */
export class StoreErrors {
  readonly #backend: SessionBackend;
  /** `sqlite table sessions (data/sessions.sqlite)`. */
  readonly table: string;

  constructor(backend: SessionBackend, table: string) {
    this.#backend = backend;
    const schema = backend.schema;
    this.table = `${backend.name} table ${schema === undefined ? '' : `${schema}.`}${table} (${backend.location})`;
  }

  /** A failed statement of `operation`: connection, refused data or plain query failure. */
  query(operation: string, cause: unknown): SessionStoreError {
    if (this.#backend.isConnectionError(cause)) return this.connection(cause);
    if (operation === 'set' && this.#backend.isDataRejection(cause)) {
      return new SessionStoreError(
        'DATA_REJECTED',
        `sessionsql: ${this.#backend.name} refused the session data (${describeCause(cause)}); nothing was written. Remove the offending value from the session.`,
        { cause: scrubCause(cause) },
      );
    }
    return new SessionStoreError(
      'QUERY_FAILED',
      `sessionsql: ${operation} on ${this.table} failed: ${describeCause(cause)}`,
      { cause: scrubCause(cause) },
    );
  }

  /** The database could not be reached or refused the connection. */
  connection(cause: unknown): SessionStoreError {
    const { name, location } = this.#backend;
    return new SessionStoreError(
      'CONNECTION_FAILED',
      `sessionsql: cannot connect to ${name} at ${location}: ${describeCause(cause)}${
        // A backend's own error (a timeout, SSL) already says what to change.
        String((cause as { code?: unknown })?.code).startsWith('SESSIONSQL_')
          ? ''
          : '. Check that the server is running and reachable from here, and that the user, password and database name are right.'
      }`,
      { cause: scrubCause(cause) },
    );
  }

  /** Creating or upgrading the table failed (or the connection did). */
  migration(cause: unknown): SessionStoreError {
    if (this.#backend.isConnectionError(cause)) return this.connection(cause);
    return new SessionStoreError(
      'MIGRATION_FAILED',
      `sessionsql: creating the session table ${this.table} failed: ${describeCause(cause)}. Check that the database user may create tables there, or create it with store.migrate() as a user who may.`,
      { cause: scrubCause(cause) },
    );
  }

  /** A pooled connection failed while idle; no caller is waiting for it. */
  idleConnection(cause: unknown): SessionStoreError {
    const { name, location } = this.#backend;
    return new SessionStoreError(
      'CONNECTION_FAILED',
      `sessionsql: an idle ${name} connection to ${location} failed (${describeCause(cause)}); it is replaced on the next query.`,
      { cause: scrubCause(cause) },
    );
  }

  /** A background prune failed; it runs again at the next interval. */
  prune(cause: unknown): SessionStoreError {
    return new SessionStoreError(
      'PRUNE_FAILED',
      `sessionsql: deleting expired sessions from ${this.table} failed; it is tried again at the next interval. ${describeCause(cause)}`,
      { cause: scrubCause(cause) },
    );
  }

  /** A stored row could not be decoded; the session is treated as missing. `why` holds no data. */
  corrupt(why: string): SessionStoreError {
    return new SessionStoreError(
      'CORRUPT_SESSION',
      `sessionsql: a stored session in ${this.table} could not be decoded (${why}) and is treated as missing; the next save overwrites it.`,
    );
  }

  /** A stored row could not be decrypted; the session is treated as missing. `why` holds no data. */
  decryption(why: string): SessionStoreError {
    return new SessionStoreError(
      'DECRYPTION_FAILED',
      `sessionsql: a stored session in ${this.table} could not be decrypted: ${why}. It is treated as missing.`,
    );
  }

  /** `operation` was called after `close()`. */
  closed(operation: string): SessionStoreError {
    return new SessionStoreError(
      'STORE_CLOSED',
      `sessionsql: ${operation}() was called after store.close(); create a new store instead.`,
    );
  }
}

/**
 * Sends an error that has no caller to `onError`, else to the emitter's `'error'` listeners,
 * else to a process warning; never throws.
 */
export function reportError(
  error: SessionStoreError,
  onError: ((error: SessionStoreError) => void) | undefined,
  emitter: { listenerCount(event: string): number; emit(event: string, error: unknown): boolean },
): void {
  try {
    if (onError !== undefined) onError(error);
    else if (emitter.listenerCount('error') > 0) emitter.emit('error', error);
    else process.emitWarning(error.message, { code: `SESSIONSQL_${error.code}` });
  } catch (thrown) {
    // A throwing error handler must not turn a reported problem into a crash.
    process.emitWarning(`sessionsql: the error handler threw: ${(thrown as Error)?.message ?? String(thrown)}`);
  }
}
