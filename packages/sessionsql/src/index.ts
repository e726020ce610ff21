export {
  type ClearForUserOptions,
  type DumpedSession,
  type DumpOptions,
  type ListForUserOptions,
  SessionStoreError,
  type SessionStoreErrorCode,
  type SessionStoreOptions,
  type UserSession,
} from '@sessionsql/core';
export {
  DefaultSessionStore,
  type DefaultSessionStoreOptions,
  type Deployment,
  type SessionEnv,
} from './default-session-store.js';
export { ACCEPTED_URL_FORMS, parseSessionDbUrl, redactUrl, type SessionDbTarget } from './session-db-url.js';
