import { SessionRecordStore } from '@sessionsql/core';
import { openRecordStore, openRecordStoreFromEnv } from '../open-record-store.js';
import type { SessionDbOptions, SessionEnv } from '../session-db-options.js';
import { type FastifySessionData, fromStoredFastifySession, toStoredFastifySession } from './fastify-session-data.js';

/**
 * The `@fastify/session` store over a {@link SessionRecordStore}: pass it as the plugin's
 * `store` option. It speaks the plugin's callback API (`get`, `set`, `destroy`); the per-user
 * operations ("sign out other devices", "your devices") are on {@link FastifySessionStore.records}.
 *
 * Meaning:
 * - `get` calls back `null` for a missing or expired session, never an expired one;
 * - `set` is one atomic write; see `SessionRecordStore.save`; the expiry is the session cookie's `expires` (from the
 *   plugin's `cookie.maxAge` or `cookie.expires`), else now + `ttlMs` for a browser-session
 *   cookie;
 * - the cookie's expiry is kept in the expiry column, not in the data, so with `touchAfterMs`
 *   the save `@fastify/session` makes on every request (`rolling`, its default) is skipped for
 *   a session that only was read: at most one write per `touchAfterMs`;
 * - every outcome reaches the callback exactly once, on a later tick.
 *
 * The current session's id, for `records.clearSessionsForUser(user, { except })`, is
 * `request.session.sessionId`.
 *
 * @example
 * ```ts
 * import fastifyCookie from '@fastify/cookie';
 * import fastifySession from '@fastify/session';
 * import { FastifySessionStore } from 'sessionsql/fastify';
 *
 * const store = FastifySessionStore.fromEnv(process.env, { touchAfterMs: 60_000 });
 * await store.records.ready();
 * await app.register(fastifyCookie);
 * await app.register(fastifySession, { store, secret, cookie: { maxAge: 86_400_000 }, saveUninitialized: false });
 * ```
 */
export class FastifySessionStore {
  /** The framework-neutral store underneath: per-user operations, `dump`, `deleteExpired`, `ready`. */
  readonly records: SessionRecordStore;

  /**
   * @param records the record store to keep sessions in, e.g. from `openRecordStore`; it may
   *   be shared with other adapters.
   */
  constructor(records: SessionRecordStore) {
    if (!(records instanceof SessionRecordStore)) {
      throw new TypeError(
        'sessionsql: new FastifySessionStore() needs a SessionRecordStore (from openRecordStore()); or use FastifySessionStore.fromUrl(url).',
      );
    }
    this.records = records;
  }

  /**
   * A store on the database `url` names (`sqlite:path.db`, `postgres://…`; the forms of
   * `DefaultSessionStore.fromUrl`), with the store options in `options`.
   * @example const store = FastifySessionStore.fromUrl('sqlite:data/sessions.db', { touchAfterMs: 60_000 })
   */
  static fromUrl(url: string, options?: Omit<SessionDbOptions, 'url'>): FastifySessionStore {
    return new FastifySessionStore(openRecordStore({ ...options, url }));
  }

  /**
   * A store configured by `SESSION_DB_URL`, `SESSION_DEPLOYMENT` and `SESSION_DATA_DIR` (see
   * `DefaultSessionStore.fromEnv`); unset, sessions go to `sessions.sqlite` in the current directory.
   * @example const store = FastifySessionStore.fromEnv(process.env, { touchAfterMs: 60_000 })
   */
  static fromEnv(env?: SessionEnv, options?: Omit<SessionDbOptions, 'url' | 'deployment'>): FastifySessionStore {
    return new FastifySessionStore(openRecordStoreFromEnv(env, options));
  }

  /** Loads a live session, with `cookie.expires` from its stored expiry; `null` when missing or expired. */
  get(sessionId: string, callback: (error: unknown, session?: FastifySessionData | null) => void): void {
    this.records.load(sessionId, (error, record) => {
      if (error) return callback(error);
      let session: FastifySessionData | null;
      try {
        session = record ? fromStoredFastifySession(record) : null;
      } catch (thrown) {
        return callback(thrown);
      }
      callback(null, session);
    });
  }

  /** Creates or replaces a session (one atomic write; see `SessionRecordStore.save`), expiring when its cookie does. */
  set(sessionId: string, session: FastifySessionData, callback: (error?: unknown) => void): void {
    let stored: ReturnType<typeof toStoredFastifySession>;
    try {
      stored = toStoredFastifySession(session);
    } catch (error) {
      process.nextTick(callback, error);
      return;
    }
    const { clock, ttlMs } = this.records.options;
    this.records.save(sessionId, stored.data, stored.expiresAt ?? clock() + ttlMs, callback);
  }

  /** Deletes a session; deleting an unknown id is not an error. */
  destroy(sessionId: string, callback: (error?: unknown) => void): void {
    this.records.delete(sessionId, callback);
  }

  /**
   * Stops the record store's background pruner and closes the connections it opened itself
   * (a record store shared with other adapters is closed for them too).
   */
  close(): Promise<void> {
    return this.records.close();
  }
}
