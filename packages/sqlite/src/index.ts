export { createSqliteBackend, type SqliteDatabase } from './sqlite-backend.js';
export { SqliteSessionStore, type SqliteSessionStoreOptions } from './sqlite-session-store.js';
