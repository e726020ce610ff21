/**
 * sessionsql for Koa: a koa-session external store on SQLite or PostgreSQL.
 * @example
 * ```ts
 * import { KoaSessionStore } from 'sessionsql/koa';
 * app.use(session({ store: KoaSessionStore.fromEnv(), maxAge: 86_400_000 }, app));
 * ```
 */
export { SessionStoreError, type SessionStoreErrorCode } from '@sessionsql/core';
export { type KoaSessionData, KoaSessionStore, type KoaStoreCallOptions } from './koa-session-store.js';
