export { assertIdentifier, MAX_TABLE_NAME_LENGTH } from './identifiers.js';
export type {
  BackendName,
  ExecuteResult,
  LockOutcome,
  PreparedQuery,
  SessionBackend,
  SessionColumnTypes,
} from './session-backend.js';
export { sessionMigrations, type TableLocation } from './session-migrations.js';
export { SessionStoreError, type SessionStoreErrorCode } from './session-store-error.js';
export {
  defaultGetUserId,
  type GetUserId,
  type ResolvedStoreOptions,
  resolveStoreOptions,
  type SessionStoreOptions,
} from './session-store-options.js';
export type { Callback } from './settle.js';
export {
  type ClearForUserOptions,
  type DumpedSession,
  type DumpOptions,
  type ListForUserOptions,
  type SessionsById,
  SqlSessionStore,
  type UserSession,
} from './sql-session-store.js';
