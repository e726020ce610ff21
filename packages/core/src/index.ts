export { ExpressSessionStore, SqlSessionStore } from './express/express-session-store.js';
export type { ExpressSessionData } from './express/express-session-types.js';
export { assertIdentifier, MAX_TABLE_NAME_LENGTH } from './identifiers.js';
export type {
  BackendName,
  ExecuteResult,
  LockOutcome,
  PreparedQuery,
  SessionBackend,
  SessionColumnTypes,
} from './session-backend.js';
export type { EncryptionKey } from './session-cipher.js';
export { sessionKey } from './session-codec.js';
export { sessionMigrations, type TableLocation } from './session-migrations.js';
export { prepareQuery, type QueryParams, rawStatement, type SessionQueries } from './session-queries.js';
export type {
  ClearForUserOptions,
  DumpedSession,
  DumpOptions,
  ListForUserOptions,
  SessionObject,
  SessionRecord,
  SessionsById,
  UserSession,
} from './session-record.js';
export { type RecordStoreConfig, SessionRecordStore } from './session-record-store.js';
export { SessionStoreError, type SessionStoreErrorCode } from './session-store-error.js';
export {
  assertKnownOptions,
  defaultGetUserId,
  type GetUserId,
  type ResolvedStoreOptions,
  resolveStoreOptions,
  type SessionStoreOptions,
  STORE_OPTION_KEYS,
} from './session-store-options.js';
export type { ImportedSession, SessionTable, SessionTableStats, StoredRow } from './session-table.js';
export type { Callback } from './settle.js';
export { reportError } from './store-errors.js';
