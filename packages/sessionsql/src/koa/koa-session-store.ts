import { type SessionObject, SessionRecordStore } from '@sessionsql/core';
import { openRecordStore, openRecordStoreFromEnv } from '../open-record-store.js';
import type { SessionDbOptions, SessionEnv } from '../session-db-options.js';

/**
 * A koa-session session as its external store sees it: the data plus koa-session's own
 * fields `_expire` (when the cookie expires, in ms since the epoch), `_maxAge` (ms), or
 * `_session: true` for a browser-session cookie (`maxAge: 'session'`).
 */
export interface KoaSessionData {
  _expire?: number;
  _maxAge?: number;
  _session?: boolean;
  [key: string]: unknown;
}

/** The options koa-session passes to the store's calls (`ctx` is the Koa context). */
export interface KoaStoreCallOptions {
  rolling?: boolean;
  changed?: boolean;
  ctx?: unknown;
}

/**
 * koa-session's external store over a {@link SessionRecordStore}: pass it as koa-session's
 * `store` option. The per-user operations ("sign out other devices", "your devices") are on
 * {@link KoaSessionStore.records}.
 *
 * Meaning:
 * - `get` resolves `null` for a missing or expired session, never an expired one;
 * - `set` is one atomic write; see `SessionRecordStore.save` expiring at the session's `_expire` (the cookie's expiry), else
 *   now + `maxAge`, else now + `ttlMs` (a `maxAge: 'session'` cookie);
 * - `_expire` is kept in the expiry column, not in the data, and put back by `get`, so a
 *   `rolling` or `renew` save of a session that was only read stores the same data: with
 *   `touchAfterMs` it is skipped, at most one write per `touchAfterMs`;
 * - every method returns a promise; errors reject it, once.
 *
 * The current session's id, for `records.clearSessionsForUser(user, { except })`, is
 * `ctx.session.externalKey` (in a request that called `ctx.session.regenerate()` it is still
 * the old id).
 *
 * @example
 * ```ts
 * import session from 'koa-session';
 * import { KoaSessionStore } from 'sessionsql/koa';
 *
 * const store = KoaSessionStore.fromEnv(process.env, { touchAfterMs: 60_000 });
 * await store.records.ready();
 * app.keys = [process.env.SESSION_SECRET!];
 * app.use(session({ store, maxAge: 86_400_000, rolling: true }, app));
 * ```
 */
export class KoaSessionStore {
  /** The framework-neutral store underneath: per-user operations, `dump`, `deleteExpired`, `ready`. */
  readonly records: SessionRecordStore;

  /**
   * @param records the record store to keep sessions in, e.g. from `openRecordStore`; it may
   *   be shared with other adapters.
   */
  constructor(records: SessionRecordStore) {
    if (!(records instanceof SessionRecordStore)) {
      throw new TypeError(
        'sessionsql: new KoaSessionStore() needs a SessionRecordStore (from openRecordStore()); or use KoaSessionStore.fromUrl(url).',
      );
    }
    this.records = records;
  }

  /**
   * A store on the database `url` names (`sqlite:path.db`, `postgres://…`; the forms of
   * `DefaultSessionStore.fromUrl`), with the store options in `options`.
   * @example const store = KoaSessionStore.fromUrl('sqlite:data/sessions.db', { touchAfterMs: 60_000 })
   */
  static fromUrl(url: string, options?: Omit<SessionDbOptions, 'url'>): KoaSessionStore {
    return new KoaSessionStore(openRecordStore({ ...options, url }));
  }

  /**
   * A store configured by `SESSION_DB_URL`, `SESSION_DEPLOYMENT` and `SESSION_DATA_DIR` (see
   * `DefaultSessionStore.fromEnv`); unset, sessions go to `sessions.sqlite` in the current directory.
   * @example const store = KoaSessionStore.fromEnv(process.env, { touchAfterMs: 60_000 })
   */
  static fromEnv(env?: SessionEnv, options?: Omit<SessionDbOptions, 'url' | 'deployment'>): KoaSessionStore {
    return new KoaSessionStore(openRecordStoreFromEnv(env, options));
  }

  /**
   * Loads a live session with `_expire` set from its stored expiry (left out for a
   * `maxAge: 'session'` session); `null` when missing or expired. `maxAge` is not needed.
   */
  async get(key: string, _maxAge?: number | 'session', _options?: KoaStoreCallOptions): Promise<KoaSessionData | null> {
    const record = await this.records.load<KoaSessionData>(key);
    if (record === null) return null;
    const session = record.data;
    if (session._session !== true) session._expire = record.expiresAt;
    return session;
  }

  /**
   * Creates or replaces a session (one atomic write; see `SessionRecordStore.save`). `maxAge` (ms, or `'session'`) is used
   * only when the session has no `_expire`. koa-session's `changed: false` is not turned into a
   * touch: it also marks forced saves (`regenerate()`, `save()`) that must create the session.
   */
  async set(
    key: string,
    session: KoaSessionData,
    maxAge?: number | 'session',
    _options?: KoaStoreCallOptions,
  ): Promise<void> {
    if (typeof session !== 'object' || session === null) {
      throw new TypeError(`sessionsql: set() needs the session object as its second argument (got ${typeof session}).`);
    }
    const { _expire, ...data } = session;
    await this.records.save(key, data as SessionObject, this.#expiry(_expire, maxAge));
  }

  /** Deletes a session; deleting an unknown key is not an error. */
  async destroy(key: string, _options?: KoaStoreCallOptions): Promise<void> {
    await this.records.delete(key);
  }

  /**
   * Stops the record store's background pruner and closes the connections it opened itself
   * (a record store shared with other adapters is closed for them too).
   */
  close(): Promise<void> {
    return this.records.close();
  }

  /** `_expire`, else now + `maxAge`, else now + `ttlMs`. */
  #expiry(expire: unknown, maxAge: unknown): number {
    if (typeof expire === 'number' && Number.isFinite(expire)) return expire;
    const { clock, ttlMs } = this.records.options;
    if (typeof maxAge === 'number' && Number.isFinite(maxAge) && maxAge > 0) return clock() + maxAge;
    return clock() + ttlMs;
  }
}
