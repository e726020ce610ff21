import type { ExecuteResult, PreparedQuery, SessionBackend } from './session-backend.js';
import type { TableLocation } from './session-migrations.js';
import type { SessionQueries } from './session-queries.js';
import type { SessionObject } from './session-record.js';
import type { SessionStoreError } from './session-store-error.js';
import type { ResolvedStoreOptions } from './session-store-options.js';
import type { StoreErrors } from './store-errors.js';

/**
 * What the parts of a record store (per-user operations, pruner) share with it: one backend,
 * one table, one set of statements, one way to run them. Internal to core.
 */
export interface StoreContext {
  readonly backend: SessionBackend;
  readonly options: ResolvedStoreOptions;
  readonly where: TableLocation;
  readonly queries: SessionQueries;
  readonly errors: StoreErrors;
  /** Runs a statement once the store is open and ready; failures become `SessionStoreError`s. */
  run<Row>(operation: string, query: PreparedQuery, values: readonly unknown[]): Promise<ExecuteResult<Row>>;
  /** Resolves once the table is migrated or reachable (at once when it already is). */
  ready(): Promise<void>;
  /** The current time in ms, from the `clock` option. */
  now(): number;
  /** `ms` as the backend binds a time. */
  time(ms: number): unknown;
  /**
   * A stored value of the session stored under `key` as its data and its JSON text
   * (decrypted), or null when it cannot be decoded or decrypted (reported as
   * CORRUPT_SESSION or DECRYPTION_FAILED).
   */
  decode(stored: string, key: string): { data: SessionObject; text: string } | null;
  /** What is stored for the session JSON `text` under `key` (encrypted with `encryptionKeys`). */
  seal(text: string, key: string): string;
  /** Whether `close()` was called. */
  closing(): boolean;
  /** Sends an error that has no caller to `onError`, the `'error'` event or a warning. */
  report(error: SessionStoreError): void;
  /** A database-wide lock name for this table and `purpose`. */
  lockName(purpose: string): string;
}
