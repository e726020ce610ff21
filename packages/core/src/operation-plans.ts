import type { LoadedSessions } from './loaded-sessions.js';
import type { ExecuteResult, PreparedQuery } from './session-backend.js';
import {
  assertExpiry,
  assertHandle,
  assertSessionId,
  encodeSession,
  sessionKey,
  toMs,
  toUserId,
} from './session-codec.js';
import type { SessionObject } from './session-record.js';
import { isUserIdValue } from './session-store-options.js';
import type { BatchPart } from './statement-coalescer.js';
import type { StoreContext } from './store-context.js';

const NO_ARGS: readonly unknown[] = Object.freeze([]);

/**
 * One operation, decided before anything runs: either its value at once (a write the
 * throttle skips), or a statement and what to make of its result.
 */
export type Plan<T> =
  | { readonly query?: undefined; readonly value: T }
  | {
      readonly query: PreparedQuery;
      readonly values: readonly unknown[];
      /** How it may share a statement with others of its kind (see `StatementCoalescer`). */
      readonly batch?: BatchPart;
      /** The statement to run next when this one changed no row; `finish` then gets its result. */
      readonly otherwise?: { readonly query: PreparedQuery; readonly values: readonly unknown[] };
      finish(result: ExecuteResult<any>): T;
    };

/**
 * Turns load, save, touch and delete calls into {@link Plan}s: checks the arguments, encodes
 * the data, finds the user, and asks {@link LoadedSessions} which statement a write needs (an
 * update of a session loaded here, an upsert of a new one, or none under `touchAfterMs`).
 */
export class OperationPlans {
  readonly #store: StoreContext;
  readonly #loaded: LoadedSessions;
  readonly #batching: boolean;

  /** @param batching whether statements may be coalesced (see `StatementCoalescer`): only then are batch parts built. */
  constructor(store: StoreContext, loaded: LoadedSessions, batching: boolean) {
    this.#store = store;
    this.#loaded = loaded;
    this.#batching = batching;
  }

  /** Reads a live session; `withExpiry` also reads its expiry (needed by the throttle). */
  load<T>(id: string, withExpiry: boolean, make: (data: SessionObject, expiresAt: number) => T): Plan<T | null> {
    assertSessionId(id);
    const key = sessionKey(id);
    const s = this.#store;
    const loaded = this.#loaded;
    return {
      query: withExpiry ? s.queries.getWithExpiry : s.queries.get,
      values: [key, s.time(s.now())],
      batch: this.#batching ? { kind: 'get', key, args: NO_ARGS } : undefined,
      finish: ({ rows }: ExecuteResult<{ data: string; expires_at?: unknown }>) => {
        const row = rows[0];
        const decoded = row === undefined ? null : s.decode(row.data, key);
        const expiresAt = withExpiry && row !== undefined ? toMs(row.expires_at) : Number.NaN;
        if (decoded === null) loaded.loaded(key, undefined);
        else {
          // Only unbatched saves use the hint (see `save`): coalesced loads skip getUserId.
          const userId = this.#batching ? undefined : this.#userIdHint(decoded.data);
          loaded.loaded(key, { expiresAt, text: decoded.text, userId });
        }
        return decoded === null ? null : make(decoded.data, expiresAt);
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
    const key = sessionKey(id);
    const text = encodeSession(data);
    const userId = this.#userIdOf(data);
    const s = this.#store;
    const loaded = this.#loaded;
    const now = s.now();
    if (loaded.skipSave(key, text, expiresAt, now)) return { value: undefined };
    const time = s.time(now);
    const stored = s.seal(text, key);
    const expires = s.time(expiresAt);
    if (loaded.wasLoaded(key)) {
      const update = { query: s.queries.update, values: [stored, expires, userId, time, key, time] };
      const finish = ({ affectedRows }: ExecuteResult<unknown>) => {
        if (affectedRows === 0) loaded.deleted(key);
        else loaded.written(key, expiresAt, { text, userId });
      };
      if (this.#batching) {
        return { ...update, batch: { kind: 'update' as const, key, args: [stored, expires, userId] }, finish };
      }
      // A save that keeps the user it was loaded with (nearly every save of a request) first
      // leaves user_id out, so SQLite does not rewrite its user index entry (a load and save:
      // ~10% less); if the row's user was changed elsewhere meanwhile, that changes no row
      // and the update that sets the user runs. Coalesced saves (PostgreSQL) set the user in
      // one batch statement: there an unchanged indexed value costs nothing.
      if (userId !== loaded.userOf(key)) return { ...update, finish };
      return {
        query: s.queries.updateKeepingUser,
        values: [stored, expires, time, key, time, userId],
        otherwise: update,
        finish,
      };
    }
    return {
      query: s.queries.set,
      values: [key, stored, expires, userId, time, time],
      batch: this.#batching ? { kind: 'set', key, args: [stored, expires, userId] } : undefined,
      finish: () => undefined,
    };
  }

  /** Moves the expiry of a live session, unless `touchAfterMs` allows skipping it. */
  touch(id: string, expiresAt: number): Plan<void> {
    assertSessionId(id);
    assertExpiry(expiresAt);
    const key = sessionKey(id);
    const s = this.#store;
    const loaded = this.#loaded;
    const now = s.now();
    if (loaded.skipTouch(key, expiresAt, now)) return { value: undefined };
    const time = s.time(now);
    const expires = s.time(expiresAt);
    return {
      query: s.queries.touch,
      values: [expires, time, key, time],
      batch: this.#batching ? { kind: 'touch', key, args: [expires] } : undefined,
      finish: ({ affectedRows }) => {
        if (affectedRows > 0) loaded.written(key, expiresAt);
      },
    };
  }

  /**
   * Deletes a session by its id, or by its handle (`byHandle`, from a listing), and remembers
   * it so that a request still running cannot save it back.
   */
  delete(idOrHandle: string, byHandle = false): Plan<void> {
    if (byHandle) assertHandle(idOrHandle);
    else assertSessionId(idOrHandle);
    const key = byHandle ? idOrHandle : sessionKey(idOrHandle);
    const loaded = this.#loaded;
    return {
      query: this.#store.queries.destroy,
      values: [key],
      batch: this.#batching ? { kind: 'destroy', key, args: NO_ARGS } : undefined,
      finish: () => loaded.deleted(key),
    };
  }

  /** The user `data` names (null: none), or undefined where `getUserId` refuses it: for {@link LoadedSessions}. */
  #userIdHint(data: SessionObject): string | null | undefined {
    try {
      return this.#userIdOf(data);
    } catch {
      return undefined;
    }
  }

  #userIdOf(data: SessionObject): string | null {
    const userId = this.#store.options.getUserId(data);
    if (userId === undefined || userId === null) return null;
    if (isUserIdValue(userId)) return toUserId(userId);
    throw new TypeError(
      `sessionsql: getUserId returned ${userId === '' ? 'an empty string' : typeof userId}; return a non-empty string, a finite number, or undefined for an anonymous session.`,
    );
  }
}
