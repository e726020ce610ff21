import { SessionRecordStore } from '@sessionsql/core';
import {
  SESSION_DB_OPTION_KEYS,
  type SessionDbOptions,
  type SessionEnv,
  sessionDbBackend,
  sessionDbFromEnv,
} from './session-db-options.js';

/**
 * The framework-neutral record store on the database `options.url` names (the same URLs as
 * `DefaultSessionStore`). The Fastify, Koa and Hono adapters are built on it; share one
 * between adapters, or use it directly.
 * @example const records = openRecordStore({ url: 'sqlite:data/sessions.db', touchAfterMs: 60_000 })
 */
export function openRecordStore(options: SessionDbOptions): SessionRecordStore {
  const { open } = sessionDbBackend(options);
  return new SessionRecordStore(open, options, { ownKeys: SESSION_DB_OPTION_KEYS, owner: 'openRecordStore' });
}

/**
 * {@link openRecordStore} configured by `SESSION_DB_URL`, `SESSION_DEPLOYMENT` and
 * `SESSION_DATA_DIR` (see `DefaultSessionStore.fromEnv`).
 */
export function openRecordStoreFromEnv(
  env: SessionEnv = process.env,
  options?: Omit<SessionDbOptions, 'url' | 'deployment'>,
): SessionRecordStore {
  return openRecordStore({ ...options, ...sessionDbFromEnv(env) });
}
