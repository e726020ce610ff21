import { defaultGetUserId, type SessionObject, SessionRecordStore } from '@sessionsql/core';
import { openRecordStore, openRecordStoreFromEnv } from '../open-record-store.js';
import type { SessionDbOptions, SessionEnv } from '../session-db-options.js';

/** One value of a hono-sessions session, as `session.set(key, value)` or `session.flash` stored it. */
export interface HonoSessionsEntry {
  value: unknown;
  flash: boolean;
}

/**
 * A hono-sessions session as its `Store` sees it (hono-sessions' `SessionData`): the values
 * under `_data`, the expiry `_expire` (ISO string, or `null` without `expireAfterSeconds`),
 * the last access `_accessed`, the `_delete` flag and the id `_id`.
 */
export interface HonoSessionsData {
  _id?: string;
  _data: { [key: string]: HonoSessionsEntry };
  _expire: string | null;
  _delete: boolean;
  _accessed: string | null;
}

/**
 * `getUserId` for hono-sessions' layout: the first user id among the values `userId`,
 * `user.id` and `passport.user` (`session.set('userId', …)` or `session.set('user', { id })`),
 * like the default `getUserId` reads them from a flat session. `HonoSessionsStore.fromUrl`
 * and `fromEnv` use it unless given another.
 * @example const records = openRecordStore({ url, getUserId: honoSessionsUserId })
 */
export function honoSessionsUserId(session: SessionObject): string | undefined {
  const entries = session._data;
  if (typeof entries !== 'object' || entries === null) return undefined;
  const value = (key: string): unknown => (entries as { [key: string]: { value?: unknown } | undefined })[key]?.value;
  return defaultGetUserId({ userId: value('userId'), user: value('user'), passport: value('passport') });
}

/**
 * The [hono-sessions](https://github.com/jcs224/hono_sessions) `Store` over a
 * {@link SessionRecordStore}: pass it as `sessionMiddleware`'s `store` option. The per-user
 * operations ("sign out other devices", "your devices") are on {@link HonoSessionsStore.records};
 * build the record store with `getUserId: honoSessionsUserId` for them to find the user.
 *
 * Meaning:
 * - `getSessionById` resolves `null` for a missing or expired session, never an expired one;
 * - `createSession` and `persistSessionData` are one atomic write; see `SessionRecordStore.save` expiring at `_expire`, else
 *   (no `expireAfterSeconds`) now + `ttlMs`;
 * - `_expire`, `_accessed` and `_id` change on every request and are not stored: `_expire`
 *   lives in the expiry column and is put back on load, `_id` is the id, and `_accessed` comes
 *   back `null` (the middleware sets it again with `autoExtendExpiration`). So the save
 *   hono-sessions makes on every request stores the same data for a session that was only
 *   read, and with `touchAfterMs` it is skipped: at most one write per `touchAfterMs`;
 * - every method returns a promise; errors reject it, once. (hono-sessions itself turns a
 *   failed `getSessionById` into a new session.)
 *
 * The current session's id, for `records.clearSessionsForUser(user, { except })`, is
 * `c.get('session').getCache()._id`. Rotate it at sign-in with `c.set('session_key_rotation', true)`.
 *
 * @example
 * ```ts
 * import { sessionMiddleware } from 'hono-sessions';
 * import { HonoSessionsStore } from 'sessionsql/hono';
 *
 * const store = HonoSessionsStore.fromEnv(process.env, { touchAfterMs: 60_000 });
 * await store.records.ready();
 * app.use('*', sessionMiddleware({ store, encryptionKey, expireAfterSeconds: 86_400, cookieOptions: { path: '/', httpOnly: true, sameSite: 'Lax' } }));
 * ```
 */
export class HonoSessionsStore {
  /** The framework-neutral store underneath: per-user operations, `dump`, `deleteExpired`, `ready`. */
  readonly records: SessionRecordStore;

  /**
   * @param records the record store to keep sessions in, e.g. from
   *   `openRecordStore({ url, getUserId: honoSessionsUserId })`; it may be shared.
   */
  constructor(records: SessionRecordStore) {
    if (!(records instanceof SessionRecordStore)) {
      throw new TypeError(
        'sessionsql: new HonoSessionsStore() needs a SessionRecordStore (from openRecordStore()); or use HonoSessionsStore.fromUrl(url).',
      );
    }
    this.records = records;
  }

  /**
   * A store on the database `url` names (`sqlite:path.db`, `postgres://…`; the forms of
   * `DefaultSessionStore.fromUrl`); `getUserId` defaults to {@link honoSessionsUserId}.
   * @example const store = HonoSessionsStore.fromUrl('sqlite:data/sessions.db', { touchAfterMs: 60_000 })
   */
  static fromUrl(url: string, options?: Omit<SessionDbOptions, 'url'>): HonoSessionsStore {
    return new HonoSessionsStore(openRecordStore({ getUserId: honoSessionsUserId, ...options, url }));
  }

  /**
   * A store configured by `SESSION_DB_URL`, `SESSION_DEPLOYMENT` and `SESSION_DATA_DIR` (see
   * `DefaultSessionStore.fromEnv`); `getUserId` defaults to {@link honoSessionsUserId}.
   * @example const store = HonoSessionsStore.fromEnv(process.env, { touchAfterMs: 60_000 })
   */
  static fromEnv(env?: SessionEnv, options?: Omit<SessionDbOptions, 'url' | 'deployment'>): HonoSessionsStore {
    return new HonoSessionsStore(openRecordStoreFromEnv(env, { getUserId: honoSessionsUserId, ...options }));
  }

  /** Loads a live session with `_id` and `_expire` put back; `null` when missing, expired or without an id. */
  async getSessionById(sessionId?: string): Promise<HonoSessionsData | null> {
    if (typeof sessionId !== 'string' || sessionId === '') return null;
    const record = await this.records.load(sessionId);
    if (record === null) return null;
    // Stored without `_expire` when it had one: it comes back from the expiry column.
    const expire = '_expire' in record.data ? null : new Date(record.expiresAt).toISOString();
    const session = record.data as unknown as HonoSessionsData;
    session._id = sessionId;
    session._expire = expire;
    session._accessed = null;
    return session;
  }

  /** Saves a new session (one atomic write; see `SessionRecordStore.save`). */
  createSession(sessionId: string, initialData: HonoSessionsData): Promise<void> {
    return this.#save(sessionId, initialData);
  }

  /** Saves a session's data (one atomic write; see `SessionRecordStore.save`), skipped under `touchAfterMs` when only its expiry moved. */
  persistSessionData(sessionId: string, sessionData: HonoSessionsData): Promise<void> {
    return this.#save(sessionId, sessionData);
  }

  /** Deletes a session; deleting an unknown id is not an error. */
  async deleteSession(sessionId: string): Promise<void> {
    await this.records.delete(sessionId);
  }

  /**
   * Stops the record store's background pruner and closes the connections it opened itself
   * (a record store shared with other adapters is closed for them too).
   */
  close(): Promise<void> {
    return this.records.close();
  }

  async #save(sessionId: string, session: HonoSessionsData): Promise<void> {
    if (typeof session !== 'object' || session === null) {
      throw new TypeError(`sessionsql: hono-sessions gave no session object to store (got ${typeof session}).`);
    }
    const { _id, _accessed, _expire, ...stable } = session;
    const expire = typeof _expire === 'string' ? Date.parse(_expire) : Number.NaN;
    const { clock, ttlMs } = this.records.options;
    if (Number.isFinite(expire)) await this.records.save(sessionId, stable, expire);
    // `_expire: null` stays in the data: it tells getSessionById not to give the session one.
    else await this.records.save(sessionId, { ...stable, _expire: null }, clock() + ttlMs);
  }
}
