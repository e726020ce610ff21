import type { LoadedSessions } from './loaded-sessions.js';
import type { ExecuteResult, PreparedQuery } from './session-backend.js';
import { assertExpiry, assertSessionId, encodeSession, toMs } from './session-codec.js';
import type { SessionObject } from './session-record.js';
import { isUserIdValue } from './session-store-options.js';
import type { StoreContext } from './store-context.js';

/**
 * One operation, decided before anything runs: either its value at once (a write the
 * throttle skips), or a statement and what to make of its result.
 */
export type Plan<T> =
  | { readonly query?: undefined; readonly value: T }
  | { readonly query: PreparedQuery; readonly values: readonly unknown[]; finish(result: ExecuteResult<any>): T };

/**
 * Turns load, save, touch and delete calls into {@link Plan}s: checks the arguments, encodes
 * the data, finds the user, and asks {@link LoadedSessions} which statement a write needs (an
 * update of a session loaded here, an upsert of a new one, or none under `touchAfterMs`).
 */
export class OperationPlans {
  readonly #store: StoreContext;
  readonly #loaded: LoadedSessions;

  constructor(store: StoreContext, loaded: LoadedSessions) {
    this.#store = store;
    this.#loaded = loaded;
  }

  /** Reads a live session; `withExpiry` also reads its expiry (needed by the throttle). */
  load<T>(id: string, withExpiry: boolean, make: (data: SessionObject, expiresAt: number) => T): Plan<T | null> {
    assertSessionId(id);
    const s = this.#store;
    const loaded = this.#loaded;
    return {
      query: withExpiry ? s.queries.getWithExpiry : s.queries.get,
      values: [id, s.time(s.now())],
      finish: ({ rows }: ExecuteResult<{ data: string; expires_at?: unknown }>) => {
        const row = rows[0];
        const data = row === undefined ? null : s.decode(row.data);
        const expiresAt = withExpiry && row !== undefined ? toMs(row.expires_at) : Number.NaN;
        loaded.loaded(id, data === null ? undefined : { expiresAt, text: row!.data });
        return data === null ? null : make(data, expiresAt);
      },
    };
  }

  /**
   * Saves a session: nothing when `touchAfterMs` allows; an update of the live row when this
   * process loaded it (never reviving one signed out meanwhile); else an upsert.
   */
  save(id: string, data: SessionObject, expiresAt: number): Plan<void> {
    assertSessionId(id);
    assertExpiry(expiresAt);
    const text = encodeSession(data);
    const userId = this.#userIdOf(data);
    const s = this.#store;
    const loaded = this.#loaded;
    const now = s.now();
    if (loaded.skipSave(id, text, expiresAt, now)) return { value: undefined };
    const time = s.time(now);
    if (loaded.wasLoaded(id)) {
      return {
        query: s.queries.update,
        values: [text, s.time(expiresAt), userId, time, id, time],
        finish: ({ affectedRows }) => {
          if (affectedRows === 0) loaded.deleted(id);
          else loaded.written(id, expiresAt, text);
        },
      };
    }
    return {
      query: s.queries.set,
      values: [id, text, s.time(expiresAt), userId, time, time],
      finish: () => undefined,
    };
  }

  /** Moves the expiry of a live session, unless `touchAfterMs` allows skipping it. */
  touch(id: string, expiresAt: number): Plan<void> {
    assertSessionId(id);
    assertExpiry(expiresAt);
    const s = this.#store;
    const loaded = this.#loaded;
    const now = s.now();
    if (loaded.skipTouch(id, expiresAt, now)) return { value: undefined };
    const time = s.time(now);
    return {
      query: s.queries.touch,
      values: [s.time(expiresAt), time, id, time],
      finish: ({ affectedRows }) => {
        if (affectedRows > 0) loaded.written(id, expiresAt);
      },
    };
  }

  /** Deletes a session, and remembers it so that a request still running cannot save it back. */
  delete(id: string): Plan<void> {
    assertSessionId(id);
    const loaded = this.#loaded;
    return {
      query: this.#store.queries.destroy,
      values: [id],
      finish: () => loaded.deleted(id),
    };
  }

  #userIdOf(data: SessionObject): string | null {
    const userId = this.#store.options.getUserId(data);
    if (userId === undefined || userId === null) return null;
    if (isUserIdValue(userId)) return String(userId);
    throw new TypeError(
      `sessionsql: getUserId returned ${userId === '' ? 'an empty string' : typeof userId}; return a non-empty string, a finite number, or undefined for an anonymous session.`,
    );
  }
}
