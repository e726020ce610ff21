export { SessionStoreError, type SessionStoreErrorCode } from '@sessionsql/core';
export { createPostgresBackend, describePool, type PostgresBackendOptions } from './postgres-backend.js';
export {
  openPostgresBackend,
  POSTGRES_OPTION_KEYS,
  type PostgresConnectionOptions,
  PostgresSessionStore,
  type PostgresSessionStoreOptions,
} from './postgres-session-store.js';
