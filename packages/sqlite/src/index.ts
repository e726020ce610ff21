export { SessionStoreError, type SessionStoreErrorCode } from '@sessionsql/core';
export { createSqliteBackend, type SqliteDatabase } from './sqlite-backend.js';
export { SqliteSessionStore, type SqliteSessionStoreOptions } from './sqlite-session-store.js';
