import type { ExecuteResult, PreparedQuery, SessionBackend } from './session-backend.js';
import { assertExpiry, assertSessionId, encodeSession, toMs } from './session-codec.js';
import type { SessionObject } from './session-record.js';
import { isUserIdValue } from './session-store-options.js';
import type { Callback } from './settle.js';
import type { StoreContext } from './store-context.js';
import type { StoreErrors } from './store-errors.js';
import type { TouchThrottle } from './touch-throttle.js';

/**
 * One operation, decided before anything runs: either its value at once (a write the
 * throttle skips), or a statement and what to make of its result.
 */
export type Plan<T> =
  | { readonly query?: undefined; readonly value: T }
  | { readonly query: PreparedQuery; readonly values: readonly unknown[]; finish(result: ExecuteResult<any>): T };

const done = (): undefined => undefined;

/** What a callback call returns: the outcome goes to the callback. */
const RESOLVED: Promise<undefined> = Promise.resolve(undefined);

/**
 * Runs a planned operation of a ready store for a waiting callback without a promise chain
 * of ours: at once when the backend runs statements on this thread (SQLite), else from the
 * driver's promise to the callback (PostgreSQL). The outcome (a value, a `TypeError` from
 * planning, or a `SessionStoreError`) reaches the callback exactly once, on a later tick.
 */
export function runPlanNow<T>(
  db: SessionBackend,
  errors: StoreErrors,
  operation: string,
  plan: () => Plan<T>,
  callback: Callback<T>,
): Promise<undefined> {
  let value: T;
  try {
    const step = plan();
    if (step.query === undefined) value = step.value;
    else if (db.executeSync !== undefined) {
      let result: ExecuteResult<any>;
      try {
        // Called on the backend, never detached: a backend written as a class needs its `this`.
        result = db.executeSync(step.query, step.values);
      } catch (cause) {
        throw errors.query(operation, cause);
      }
      value = step.finish(result);
    } else {
      db.execute(step.query, step.values).then(
        (result) => {
          let finished: T;
          try {
            finished = step.finish(result);
          } catch (error) {
            process.nextTick(callback, error);
            return;
          }
          process.nextTick(callback, null, finished);
        },
        (cause: unknown) => process.nextTick(callback, errors.query(operation, cause)),
      );
      return RESOLVED;
    }
  } catch (error) {
    process.nextTick(callback, error);
    return RESOLVED;
  }
  process.nextTick(callback, null, value);
  return RESOLVED;
}

/**
 * Turns load, save, touch and delete calls into {@link Plan}s: checks the arguments, encodes
 * the data, finds the user, and asks the `touchAfterMs` throttle whether a write is needed.
 */
export class OperationPlans {
  readonly #store: StoreContext;
  readonly #throttle: TouchThrottle;

  constructor(store: StoreContext, throttle: TouchThrottle) {
    this.#store = store;
    this.#throttle = throttle;
  }

  /** Reads a live session; `withExpiry` also reads its expiry (needed by the throttle). */
  load<T>(id: string, withExpiry: boolean, make: (data: SessionObject, expiresAt: number) => T): Plan<T | null> {
    assertSessionId(id);
    const s = this.#store;
    const throttle = this.#throttle;
    return {
      query: withExpiry ? s.queries.getWithExpiry : s.queries.get,
      values: [id, s.time(s.now())],
      finish: ({ rows }: ExecuteResult<{ data: string; expires_at?: unknown }>) => {
        const row = rows[0];
        if (row === undefined) {
          if (throttle.enabled) throttle.forget(id);
          return null;
        }
        const data = s.decode(row.data);
        const expiresAt = withExpiry ? toMs(row.expires_at) : 0;
        if (throttle.enabled) throttle.loaded(id, data === null ? undefined : { expiresAt, text: row.data });
        return data === null ? null : make(data, expiresAt);
      },
    };
  }

  save(id: string, data: SessionObject, expiresAt: number): Plan<void> {
    assertSessionId(id);
    assertExpiry(expiresAt);
    const text = encodeSession(data);
    const userId = this.#userIdOf(data);
    const throttle = this.#throttle;
    if (throttle.enabled && throttle.skipSave(id, text, expiresAt)) return { value: undefined };
    const s = this.#store;
    const time = s.time(s.now());
    return { query: s.queries.set, values: [id, text, s.time(expiresAt), userId, time, time], finish: done };
  }

  touch(id: string, expiresAt: number): Plan<void> {
    assertSessionId(id);
    assertExpiry(expiresAt);
    const throttle = this.#throttle;
    if (throttle.enabled && throttle.skipTouch(id, expiresAt)) return { value: undefined };
    const s = this.#store;
    const time = s.time(s.now());
    return { query: s.queries.touch, values: [s.time(expiresAt), time, id, time], finish: done };
  }

  delete(id: string): Plan<void> {
    assertSessionId(id);
    this.#throttle.forget(id);
    return { query: this.#store.queries.destroy, values: [id], finish: done };
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
