import { type SessionObject, SessionRecordStore } from '@sessionsql/core';
import { openRecordStore, openRecordStoreFromEnv } from '../open-record-store.js';
import type { SessionDbOptions, SessionEnv } from '../session-db-options.js';
import { reportStoreError } from './report-error.js';

/**
 * The [`@hono/session`](https://github.com/honojs/middleware/tree/main/packages/session)
 * `Storage` over a {@link SessionRecordStore}: pass it to `useSessionStorage()` before
 * `useSession()`. The per-user operations ("sign out other devices", "your devices") are on
 * {@link HonoSessionStorage.records}.
 *
 * Meaning:
 * - `get` resolves `null` for a missing or expired session, never an expired one, and waits
 *   for this storage's unfinished writes to the same id first (read your own writes);
 * - `set` is one atomic write; see `SessionRecordStore.save` expiring `ttlMs` after it: `@hono/session` passes no expiry (it
 *   keeps it in its encrypted cookie, from `duration`), so make `ttlMs` at least
 *   `duration.absolute` × 1000. It calls `set` only when the data changes, never for a read,
 *   so a session that is only read is never written;
 * - `set` and `delete` return nothing and `@hono/session` does not wait for them: they never
 *   throw or reject, and a failure goes to the record store's `onError` (else its `'error'`
 *   listeners, else a process warning). `flush()` waits for them.
 *
 * The current session's id, for `records.clearSessionsForUser(user, { except })`, is
 * `c.var.session.id`, after `await c.var.session.get()`. (Call `get()` before `delete()` too,
 * or only the cookie is removed.) `@hono/session` keeps the id at sign-in: it has no way to
 * issue a new one in the same request.
 *
 * @example
 * ```ts
 * import { useSession, useSessionStorage } from '@hono/session';
 * import { HonoSessionStorage } from 'sessionsql/hono';
 *
 * const storage = HonoSessionStorage.fromEnv(process.env, { ttlMs: 86_400_000 });
 * await storage.records.ready();
 * app.use(useSessionStorage(storage), useSession({ secret, duration: { absolute: 86_400 } }));
 * ```
 */
export class HonoSessionStorage<Data extends object = SessionObject> {
  /** The framework-neutral store underneath: per-user operations, `dump`, `deleteExpired`, `ready`. */
  readonly records: SessionRecordStore;
  /** The last unfinished write per session id; it never rejects. */
  readonly #pending = new Map<string, Promise<void>>();

  /**
   * @param records the record store to keep sessions in, e.g. from `openRecordStore`; it may
   *   be shared with other adapters.
   */
  constructor(records: SessionRecordStore) {
    if (!(records instanceof SessionRecordStore)) {
      throw new TypeError(
        'sessionsql: new HonoSessionStorage() needs a SessionRecordStore (from openRecordStore()); or use HonoSessionStorage.fromUrl(url).',
      );
    }
    this.records = records;
  }

  /**
   * A storage on the database `url` names (`sqlite:path.db`, `postgres://…`; the forms of
   * `DefaultSessionStore.fromUrl`), with the store options in `options`.
   * @example const storage = HonoSessionStorage.fromUrl('sqlite:data/sessions.db', { ttlMs: 86_400_000 })
   */
  static fromUrl<Data extends object = SessionObject>(
    url: string,
    options?: Omit<SessionDbOptions, 'url'>,
  ): HonoSessionStorage<Data> {
    return new HonoSessionStorage<Data>(openRecordStore({ ...options, url }));
  }

  /**
   * A storage configured by `SESSION_DB_URL`, `SESSION_DEPLOYMENT` and `SESSION_DATA_DIR` (see
   * `DefaultSessionStore.fromEnv`); unset, sessions go to `sessions.sqlite` in the current directory.
   * @example const storage = HonoSessionStorage.fromEnv(process.env, { ttlMs: 86_400_000 })
   */
  static fromEnv<Data extends object = SessionObject>(
    env?: SessionEnv,
    options?: Omit<SessionDbOptions, 'url' | 'deployment'>,
  ): HonoSessionStorage<Data> {
    return new HonoSessionStorage<Data>(openRecordStoreFromEnv(env, options));
  }

  /** Loads a live session's data; `null` when missing or expired. */
  async get(sid: string): Promise<Data | null> {
    const pending = this.#pending.get(sid);
    if (pending !== undefined) await pending;
    return this.records.loadData<Data>(sid);
  }

  /** Starts saving a session (one atomic write; see `SessionRecordStore.save`) expiring `ttlMs` from now; never throws. */
  set(sid: string, value: Data): void {
    this.#write(sid, 'set', () => {
      if (typeof value !== 'object' || value === null) {
        throw new TypeError(`sessionsql: the session data must be an object (got ${typeof value}).`);
      }
      const { clock, ttlMs } = this.records.options;
      return this.records.save(sid, value as SessionObject, clock() + ttlMs);
    });
  }

  /** Starts deleting a session; never throws. Deleting an unknown id is not an error. */
  delete(sid: string): void {
    this.#write(sid, 'delete', () => this.records.delete(sid));
  }

  /** Resolves once every write started so far has finished (failed ones were reported); never rejects. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending.values());
  }

  /**
   * Waits for unfinished writes, then stops the record store's background pruner and closes
   * the connections it opened itself (a record store shared with other adapters is closed for
   * them too).
   */
  async close(): Promise<void> {
    await this.flush();
    await this.records.close();
  }

  /** Runs `write` after the previous write to `sid`, reporting a failure instead of throwing. */
  #write(sid: string, operation: string, write: () => Promise<void>): void {
    const start = (): Promise<void> => {
      try {
        return write();
      } catch (error) {
        return Promise.reject(error);
      }
    };
    const previous = this.#pending.get(sid);
    const written = (previous === undefined ? start() : previous.then(start)).catch((error: unknown) =>
      reportStoreError(this.records, operation, error),
    );
    this.#pending.set(sid, written);
    void written.then(() => {
      if (this.#pending.get(sid) === written) this.#pending.delete(sid);
    });
  }
}
