export { createPostgresBackend, describePool, type PostgresBackendOptions } from './postgres-backend.js';
export {
  openPostgresBackend,
  PostgresSessionStore,
  type PostgresSessionStoreOptions,
} from './postgres-session-store.js';
