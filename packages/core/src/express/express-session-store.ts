import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import type { BackendName, SessionBackend } from '../session-backend.js';
import { toMs } from '../session-codec.js';
import type {
  ClearForUserOptions,
  DumpedSession,
  DumpOptions,
  ListForUserOptions,
  SessionsById,
  UserSession,
} from '../session-record.js';
import { type RecordStoreConfig, SessionRecordStore } from '../session-record-store.js';
import type { ResolvedStoreOptions, SessionStoreOptions } from '../session-store-options.js';
import { type Callback, settle } from '../settle.js';
import { reportError } from '../store-errors.js';
import type { ExpressSessionData, ExpressStoreBase } from './express-session-types.js';

/**
 * express-session, loaded here rather than imported so that an app on another framework can
 * use every sessionsql package without installing it (it is an optional peer dependency).
 */
const expressSession = loadExpressSession();

function loadExpressSession(): { Store: { prototype: object } } | undefined {
  try {
    return createRequire(import.meta.url)('express-session');
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' && String((cause as Error).message).includes("'express-session'")) return;
    throw cause;
  }
}

/** Splits `(options?, callback?)` arguments where the options may be left out. */
function optionsAndCallback<O, T>(
  a: O | Callback<T> | undefined,
  b: Callback<T> | undefined,
): [O | undefined, Callback<T> | undefined] {
  return typeof a === 'function' ? [undefined, a as Callback<T>] : [a, b];
}

/**
 * The express-session `Store` over a {@link SessionRecordStore}: `SqliteSessionStore`,
 * `PostgresSessionStore` and `DefaultSessionStore` are this class over their dialect. It is
 * an `express-session` `Store` (`instanceof session.Store` holds).
 *
 * Every method returns a promise and also takes an optional Node-style callback; the outcome
 * reaches the caller exactly once, through the callback when one is given (the promise then
 * never rejects), otherwise through the promise.
 *
 * Meaning:
 * - `get` resolves `null` for a missing or expired session, never an expired one;
 * - `set` is one atomic write; see `SessionRecordStore.save`; the expiry comes from `cookie.expires`, else `ttlMs`;
 * - `touch` only moves the expiry of a live session and never creates one;
 * - `all` and `length` see live sessions only;
 * - times are milliseconds since the Unix epoch.
 */
export class ExpressSessionStore extends EventEmitter {
  /** The framework-neutral store underneath; share it with other adapters or use it directly. */
  readonly records: SessionRecordStore;
  // What express-session's Store gives every store; inherited from Store.prototype (linked below).
  declare regenerate: ExpressStoreBase['regenerate'];
  declare load: ExpressStoreBase['load'];
  declare createSession: ExpressStoreBase['createSession'];

  /**
   * @param backend the database, usually built by a dialect package; a function is called
   *   once the options are validated, so that nothing is opened for bad options.
   * @param options see {@link SessionStoreOptions}; unknown keys are refused.
   * @param config for subclasses that add options of their own.
   */
  constructor(
    backend: SessionBackend | (() => SessionBackend) | SessionRecordStore,
    options?: SessionStoreOptions,
    config: RecordStoreConfig = {},
  ) {
    if (expressSession === undefined) {
      throw new Error(
        'sessionsql: this store is an express-session Store, and express-session is not installed; install it with `npm install express-session`, or use the adapter of your framework (sessionsql/fastify, sessionsql/koa, sessionsql/hono).',
      );
    }
    if (backend instanceof SessionRecordStore && (options !== undefined || config.ownKeys !== undefined)) {
      throw new TypeError(
        'sessionsql: new ExpressSessionStore(records) takes no options: the record store already has them. Give the options to the record store instead.',
      );
    }
    super();
    const records =
      backend instanceof SessionRecordStore
        ? backend
        : new SessionRecordStore(backend, options, { owner: 'ExpressSessionStore', ...config });
    this.records = records;
    records.on('error', (error) => {
      // Listeners on this store get the record store's errors; a warning only when no one listens anywhere.
      if (this.listenerCount('error') > 0) this.emit('error', error);
      else if (records.listenerCount('error') === 1) reportError(error, undefined, this);
    });
  }

  /** Which database this store uses. */
  get backend(): BackendName {
    return this.records.backend;
  }

  /** The resolved options, frozen. */
  get options(): ResolvedStoreOptions {
    return this.records.options;
  }

  /** Loads a live session; resolves `null` when it is missing or expired. */
  get(sid: string): Promise<ExpressSessionData | null>;
  get(sid: string, callback: Callback<ExpressSessionData | null>): Promise<undefined>;
  get(sid: string, callback?: Callback<ExpressSessionData | null>): Promise<ExpressSessionData | null | undefined> {
    if (callback === undefined) return this.records.loadData<ExpressSessionData>(sid);
    this.records.loadData<ExpressSessionData>(sid, callback);
    return RESOLVED;
  }

  /** Creates or replaces a session (one atomic write; see `SessionRecordStore.save`). */
  set(sid: string, sess: ExpressSessionData): Promise<void>;
  set(sid: string, sess: ExpressSessionData, callback: Callback<void>): Promise<void>;
  set(sid: string, sess: ExpressSessionData, callback?: Callback<void>): Promise<void> {
    return this.#write(callback, (cb) => {
      if (typeof sess !== 'object' || sess === null) {
        throw new TypeError(`sessionsql: set() needs the session object as its second argument (got ${String(sess)}).`);
      }
      const expiresAt = this.#expiry(sess);
      if (cb === undefined) return this.records.save(sid, sess as never, expiresAt);
      this.records.save(sid, sess as never, expiresAt, cb);
    });
  }

  /** Deletes a session; deleting an unknown id is not an error. */
  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: Callback<void>): Promise<void>;
  destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return this.#write(callback, (cb) => (cb === undefined ? this.records.delete(sid) : this.records.delete(sid, cb)));
  }

  /** Moves the expiry of a live session from `sess.cookie`; an unknown or expired id is left alone. */
  touch(sid: string, sess: ExpressSessionData): Promise<void>;
  touch(sid: string, sess: ExpressSessionData, callback: Callback<void>): Promise<void>;
  touch(sid: string, sess: ExpressSessionData, callback?: Callback<void>): Promise<void> {
    return this.#write(callback, (cb) => {
      const expiresAt = this.#expiry(sess);
      if (cb === undefined) return this.records.touch(sid, expiresAt);
      this.records.touch(sid, expiresAt, cb);
    });
  }

  /** Every live session, keyed by handle (the table stores a hash of each id, never the id). */
  all(): Promise<SessionsById<ExpressSessionData>>;
  all(callback: Callback<SessionsById<ExpressSessionData>>): Promise<undefined>;
  all(callback?: Callback<SessionsById<ExpressSessionData>>): Promise<SessionsById<ExpressSessionData> | undefined> {
    return settle(this.records.all<ExpressSessionData>(), callback);
  }

  /** The number of live sessions. */
  length(): Promise<number>;
  length(callback: Callback<number>): Promise<undefined>;
  length(callback?: Callback<number>): Promise<number | undefined> {
    return settle(this.records.count(), callback);
  }

  /** Deletes every session, live or expired. */
  clear(): Promise<void>;
  clear(callback: Callback<void>): Promise<void>;
  clear(callback?: Callback<void>): Promise<void> {
    return settle(
      this.records.clearAll().then(() => undefined),
      callback,
    ) as Promise<void>;
  }

  /**
   * Deletes the user's live sessions ("log out everywhere"), keeping `except` when given
   * ("log out other devices"); resolves how many it deleted.
   * @example await store.clearSessionsForUser(req.session.userId, { except: req.sessionID })
   */
  clearSessionsForUser(userId: string | number, options?: ClearForUserOptions): Promise<number>;
  clearSessionsForUser(userId: string | number, callback: Callback<number>): Promise<undefined>;
  clearSessionsForUser(
    userId: string | number,
    options: ClearForUserOptions | undefined,
    callback: Callback<number>,
  ): Promise<undefined>;
  clearSessionsForUser(
    userId: string | number,
    a?: ClearForUserOptions | Callback<number>,
    b?: Callback<number>,
  ): Promise<number | undefined> {
    const [options, callback] = optionsAndCallback(a, b);
    return settle(this.records.clearSessionsForUser(userId, options), callback);
  }

  /** The number of the user's live sessions. */
  countSessionsForUser(userId: string | number): Promise<number>;
  countSessionsForUser(userId: string | number, callback: Callback<number>): Promise<undefined>;
  countSessionsForUser(userId: string | number, callback?: Callback<number>): Promise<number | undefined> {
    return settle(this.records.countSessionsForUser(userId), callback);
  }

  /** The handles of the user's live sessions, newest first (see {@link UserSession.handle}). */
  listSessionHandlesForUser(userId: string | number): Promise<string[]>;
  listSessionHandlesForUser(userId: string | number, callback: Callback<string[]>): Promise<undefined>;
  listSessionHandlesForUser(userId: string | number, callback?: Callback<string[]>): Promise<string[] | undefined> {
    return settle(this.records.listSessionHandlesForUser(userId), callback);
  }

  /**
   * The handle listings show for the session `sessionId`.
   * @example const current = store.handleOf(req.sessionID)
   */
  handleOf(sessionId: string): string {
    return this.records.handleOf(sessionId);
  }

  /** Deletes the session a listing named by `handle` ("sign out this device"). */
  deleteByHandle(handle: string): Promise<void>;
  deleteByHandle(handle: string, callback: Callback<void>): Promise<void>;
  deleteByHandle(handle: string, callback?: Callback<void>): Promise<void> {
    return settle(this.records.deleteByHandle(handle), callback) as Promise<void>;
  }

  /**
   * The user's live sessions, newest first, with their times and data: a "your devices" page.
   * @example const devices = await store.listSessionsForUser(userId, { limit: 20 })
   */
  listSessionsForUser(
    userId: string | number,
    options?: ListForUserOptions,
  ): Promise<UserSession<ExpressSessionData>[]>;
  listSessionsForUser(
    userId: string | number,
    callback: Callback<UserSession<ExpressSessionData>[]>,
  ): Promise<undefined>;
  listSessionsForUser(
    userId: string | number,
    options: ListForUserOptions | undefined,
    callback: Callback<UserSession<ExpressSessionData>[]>,
  ): Promise<undefined>;
  listSessionsForUser(
    userId: string | number,
    a?: ListForUserOptions | Callback<UserSession<ExpressSessionData>[]>,
    b?: Callback<UserSession<ExpressSessionData>[]>,
  ): Promise<UserSession<ExpressSessionData>[] | undefined> {
    const [options, callback] = optionsAndCallback(a, b);
    return settle(this.records.listSessionsForUser<ExpressSessionData>(userId, options), callback);
  }

  /** Deletes every session, live or expired, and resolves how many it deleted. */
  clearAll(): Promise<number>;
  clearAll(callback: Callback<number>): Promise<undefined>;
  clearAll(callback?: Callback<number>): Promise<number | undefined> {
    return settle(this.records.clearAll(), callback);
  }

  /**
   * Every live session, read in pages of `pageSize` ordered by id.
   * @example for await (const s of store.dump()) backup.write(JSON.stringify(s) + '\n')
   */
  dump(options?: DumpOptions): AsyncGenerator<DumpedSession<ExpressSessionData>> {
    return this.records.dump<ExpressSessionData>(options);
  }

  /** Deletes expired sessions in batches; see {@link SessionRecordStore.deleteExpired}. */
  deleteExpired(): Promise<number> {
    return this.records.deleteExpired();
  }

  /** Creates or upgrades the session table; see {@link SessionRecordStore.migrate}. */
  migrate(): Promise<void> {
    return this.records.migrate();
  }

  /** Resolves once the store can serve requests; see {@link SessionRecordStore.ready}. */
  ready(): Promise<void> {
    return this.records.ready();
  }

  /**
   * Stops the background pruner and closes the connections the store opened itself. A pool
   * or database handle passed in by the caller stays open.
   */
  close(): Promise<void>;
  close(callback: Callback<void>): Promise<void>;
  close(callback?: Callback<void>): Promise<void> {
    return settle(this.records.close(), callback) as Promise<void>;
  }

  /** Runs a write; a `TypeError` for bad arguments goes where the outcome goes, once. */
  #write(
    callback: Callback<void> | undefined,
    run: (cb: Callback<void> | undefined) => Promise<void> | void,
  ): Promise<void> {
    if (callback === undefined) {
      try {
        return run(undefined) as Promise<void>;
      } catch (error) {
        return Promise.reject(error);
      }
    }
    try {
      run(callback);
    } catch (error) {
      process.nextTick(callback, error);
    }
    return RESOLVED as Promise<never>;
  }

  /** The expiry express-session asked for: `cookie.expires`, else now + `ttlMs`. */
  #expiry(sess: ExpressSessionData | undefined): number {
    const expires: unknown = sess?.cookie?.expires;
    if (expires !== undefined && expires !== null && expires !== false) {
      const ms = toMs(expires);
      if (Number.isFinite(ms)) return ms;
    }
    return this.records.options.clock() + this.records.options.ttlMs;
  }
}

/** What a callback call returns: the outcome goes to the callback. */
const RESOLVED: Promise<undefined> = Promise.resolve(undefined);

if (expressSession !== undefined) {
  // express-session stores must inherit from session.Store; linking the prototype here rather
  // than with `extends` keeps express-session optional for apps on other frameworks.
  Object.setPrototypeOf(ExpressSessionStore.prototype, expressSession.Store.prototype);
  Object.setPrototypeOf(ExpressSessionStore, expressSession.Store);
}

/** The former name of {@link ExpressSessionStore}. */
export const SqlSessionStore = ExpressSessionStore;
/** The former name of {@link ExpressSessionStore}. */
export type SqlSessionStore = ExpressSessionStore;
