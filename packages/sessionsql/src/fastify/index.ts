/**
 * sessionsql for Fastify: a `@fastify/session` store on SQLite or PostgreSQL.
 * @example
 * ```ts
 * import { FastifySessionStore } from 'sessionsql/fastify';
 * await app.register(fastifySession, { store: FastifySessionStore.fromEnv(), secret });
 * ```
 */
export { SessionStoreError, type SessionStoreErrorCode } from '@sessionsql/core';
export type { FastifySessionCookie, FastifySessionData } from './fastify-session-data.js';
export { FastifySessionStore } from './fastify-session-store.js';
