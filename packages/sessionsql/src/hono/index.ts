/**
 * sessionsql for Hono, on SQLite or PostgreSQL, for both session middlewares:
 * - `HonoSessionsStore`: the `Store` of [hono-sessions](https://github.com/jcs224/hono_sessions);
 * - `HonoSessionStorage`: the `Storage` of [`@hono/session`](https://github.com/honojs/middleware/tree/main/packages/session).
 * @example
 * ```ts
 * import { HonoSessionsStore } from 'sessionsql/hono';
 * app.use('*', sessionMiddleware({ store: HonoSessionsStore.fromEnv(), encryptionKey, expireAfterSeconds: 86_400 }));
 * ```
 */
export { SessionStoreError, type SessionStoreErrorCode } from '@sessionsql/core';
export { HonoSessionStorage } from './hono-session-storage.js';
export {
  type HonoSessionsData,
  type HonoSessionsEntry,
  HonoSessionsStore,
  honoSessionsUserId,
} from './hono-sessions-store.js';
