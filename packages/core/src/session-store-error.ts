/**
 * What went wrong, as a stable string to branch on.
 *
 * - `QUERY_FAILED`: the database rejected or could not run a statement (see `cause`).
 * - `MIGRATION_FAILED`: creating or upgrading the session table failed; the next call retries.
 * - `CONNECTION_FAILED`: the database could not be reached or refused the connection.
 * - `CORRUPT_SESSION`: a stored row could not be decoded; the session is treated as missing.
 * - `PRUNE_FAILED`: the background deletion of expired sessions failed; it runs again later.
 * - `DATA_REJECTED`: the database refused the session data (for example a `\u0000` in a
 *   string in a PostgreSQL table created by an earlier sessionsql, whose data column is `jsonb`); nothing was
 *   written.
 * - `DECRYPTION_FAILED`: a stored session could not be decrypted (its key is not in
 *   `encryptionKeys`, it was altered, or it is plaintext while encryption is required); the
 *   session is treated as missing.
 * - `STORE_CLOSED`: the store was used after `close()`.
 */
export type SessionStoreErrorCode =
  | 'QUERY_FAILED'
  | 'MIGRATION_FAILED'
  | 'CONNECTION_FAILED'
  | 'CORRUPT_SESSION'
  | 'PRUNE_FAILED'
  | 'DATA_REJECTED'
  | 'DECRYPTION_FAILED'
  | 'STORE_CLOSED';

/**
 * The one error class sessionsql throws for database-side failures. The driver's own error,
 * when there is one, is in `cause`. Caller mistakes (a non-string id, bad options) are plain
 * `TypeError`s instead.
 *
 * @example
 * ```ts
 * try { await store.migrate() } catch (err) {
 *   if (err instanceof SessionStoreError && err.code === 'MIGRATION_FAILED') console.error(err.cause)
 * }
 * ```
 */
export class SessionStoreError extends Error {
  /** Stable machine-readable reason; see {@link SessionStoreErrorCode}. */
  readonly code: SessionStoreErrorCode;

  constructor(code: SessionStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SessionStoreError';
    this.code = code;
  }
}
