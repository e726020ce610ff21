export {
  type ClearForUserOptions,
  type DumpedSession,
  type DumpOptions,
  ExpressSessionStore,
  type ListForUserOptions,
  type SessionObject,
  type SessionRecord,
  SessionRecordStore,
  SessionStoreError,
  type SessionStoreErrorCode,
  type SessionStoreOptions,
  SqlSessionStore,
  sessionKey,
  type UserSession,
} from '@sessionsql/core';
export { DefaultSessionStore, type DefaultSessionStoreOptions } from './default-session-store.js';
export { openRecordStore, openRecordStoreFromEnv } from './open-record-store.js';
export {
  type Deployment,
  type PoolSettings,
  SESSION_DB_OPTION_KEYS,
  type SessionDbOptions,
  type SessionEnv,
} from './session-db-options.js';
export { ACCEPTED_URL_FORMS, parseSessionDbUrl, redactUrl, type SessionDbTarget } from './session-db-url.js';
