import session, { type SessionData } from 'express-session';
import { CompiledQuery, type Kysely, Migrator } from 'kysely';
import type { BackendName, ExecuteResult, PreparedQuery, SessionBackend } from './session-backend.js';
import { sessionMigrationProvider, type TableLocation } from './session-migrations.js';
import { compileSessionQueries, type SessionQueries } from './session-queries.js';
import { SessionStoreError } from './session-store-error.js';
import {
  isUserIdValue,
  type ResolvedStoreOptions,
  resolveStoreOptions,
  type SessionStoreOptions,
  wholeNumber,
} from './session-store-options.js';
import { type Callback, settle } from './settle.js';

/** Sessions keyed by id, as returned by {@link SqlSessionStore.all}. */
export type SessionsById = { [sessionId: string]: SessionData };

/** A user's live session, as listed by {@link SqlSessionStore.listSessionsForUser}. */
export interface UserSession {
  readonly id: string;
  readonly userId: string;
  /** When the session was first saved, in milliseconds since the epoch. */
  readonly createdAt: number;
  /** When the session was last saved or touched, in milliseconds since the epoch. */
  readonly updatedAt: number;
  /** When the session expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly data: SessionData;
}

/** One live session as yielded by {@link SqlSessionStore.dump}. */
export interface DumpedSession {
  readonly id: string;
  /** The session's user, or null for an anonymous session. */
  readonly userId: string | null;
  /** When the session expires, in milliseconds since the epoch. */
  readonly expiresAt: number;
  readonly data: SessionData;
}

/** Options of {@link SqlSessionStore.clearSessionsForUser}. */
export interface ClearForUserOptions {
  /** A session id to keep ("log out other devices": the current session's id). */
  except?: string;
}

/** Options of {@link SqlSessionStore.listSessionsForUser}. */
export interface ListForUserOptions {
  /** At most this many sessions. @default 100 */
  limit?: number;
  /** Skip this many (newest first). @default 0 */
  offset?: number;
}

/** Options of {@link SqlSessionStore.dump}. */
export interface DumpOptions {
  /** Rows read per query; at most this many sit in memory at once. @default 1000 */
  pageSize?: number;
}

function toUserId(userId: unknown): string {
  if (isUserIdValue(userId)) return String(userId);
  throw new TypeError(
    `sessionsql: a user id must be a non-empty string or a finite number (got ${userId === '' ? 'an empty string' : typeof userId}).`,
  );
}

/** Upper bound for `limit`, `offset` and `pageSize`. */
const MAX_PAGE = 1_000_000_000;

/** Splits `(options?, callback?)` arguments where the options may be left out. */
function optionsAndCallback<O, T>(
  a: O | Callback<T> | undefined,
  b: Callback<T> | undefined,
): [O | undefined, Callback<T> | undefined] {
  return typeof a === 'function' ? [undefined, a as Callback<T>] : [a, b];
}

function assertSessionId(sid: unknown): asserts sid is string {
  if (typeof sid !== 'string' || sid.length === 0) {
    throw new TypeError(
      `sessionsql: a session id must be a non-empty string (got ${sid === '' ? 'an empty string' : typeof sid}).`,
    );
  }
}

function encodeSession(sess: unknown): string {
  if (typeof sess !== 'object' || sess === null) {
    throw new TypeError(`sessionsql: set() needs the session object as its second argument (got ${String(sess)}).`);
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(sess);
  } catch (cause) {
    throw new TypeError(
      `sessionsql: the session cannot be saved because its data cannot be encoded as JSON (${(cause as Error).message}). Keep only JSON values in the session: no circular references, BigInt values or class instances with a throwing toJSON.`,
      { cause },
    );
  }
  if (typeof text !== 'string' || text[0] !== '{') {
    throw new TypeError('sessionsql: the session cannot be saved because it does not encode to a JSON object.');
  }
  return text;
}

function toMs(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  return Date.parse(String(value));
}

function describeCause(cause: unknown): string {
  const error = cause as { message?: unknown; code?: unknown; errors?: unknown } | null;
  if (error && typeof error.message === 'string' && error.message !== '') return error.message;
  // Node reports "connection refused" on every address of a host as an AggregateError with no message.
  if (error && typeof error.code === 'string') return error.code;
  return String(cause);
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** What a callback call returns: the outcome goes to the callback. */
const RESOLVED: Promise<undefined> = Promise.resolve(undefined);

/**
 * One store operation, decided before anything runs: either its value at once (a touch that
 * need not write), or a statement and what to make of its result.
 */
type Plan<T> =
  | { readonly query?: undefined; readonly value: T }
  | { readonly query: PreparedQuery; readonly values: readonly unknown[]; finish(result: ExecuteResult<any>): T };

/**
 * Most sessions whose stored expiry `touchAfter` remembers between a request's `get` and its
 * `touch`; the oldest entry goes first, so memory stays bounded whatever the traffic.
 */
const MAX_REMEMBERED_EXPIRIES = 10_000;

/**
 * The express-session store shared by every dialect: `SqliteSessionStore` and
 * `PostgresSessionStore` are this class over their {@link SessionBackend}.
 *
 * Every method returns a promise and also takes an optional Node-style callback; the outcome
 * reaches the caller exactly once, through the callback when one is given (the promise then
 * never rejects), otherwise through the promise.
 *
 * Meaning:
 * - `get` resolves `null` for a missing or expired session, never an expired one;
 * - `set` is one atomic upsert; the expiry comes from `cookie.expires`, else `ttlMs`;
 * - `touch` only moves the expiry of a live session and never creates one;
 * - `all` and `length` see live sessions only;
 * - times are milliseconds since the Unix epoch.
 */
export class SqlSessionStore extends session.Store {
  /** Which database this store uses. */
  readonly backend: BackendName;
  readonly #db: SessionBackend;
  readonly #options: ResolvedStoreOptions;
  readonly #where: TableLocation;
  readonly #queries: SessionQueries;
  #migrated: boolean;
  #ready: Promise<void> | undefined;
  #pruning: Promise<number> | undefined;
  #pruneTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  /** With `touchAfter`: session id → expiry (ms) as stored, learned by `get`, used by `touch`. */
  readonly #storedExpiry = new Map<string, number>();

  /**
   * @param backend the database, usually built by a dialect package; a function is called
   *   once the options are validated, so that nothing is opened for bad options.
   * @param options options shared by every dialect; see {@link SessionStoreOptions}.
   */
  constructor(backend: SessionBackend | (() => SessionBackend), options?: SessionStoreOptions) {
    super();
    this.#options = resolveStoreOptions(options);
    if (typeof backend === 'function') backend = backend();
    this.#db = backend;
    this.backend = backend.name;
    this.#where = Object.freeze({ schema: backend.schema, table: this.#options.tableName });
    this.#queries = compileSessionQueries(backend.db, this.#where);
    this.#migrated = !this.#options.autoMigrate;
    backend.onBackgroundError((cause) =>
      this.#report(
        new SessionStoreError(
          'CONNECTION_FAILED',
          `sessionsql: an idle ${backend.name} connection to ${backend.location} failed (${(cause as Error)?.message ?? String(cause)}); it is replaced on the next query.`,
          { cause },
        ),
      ),
    );
    this.#schedulePrune();
  }

  /** The resolved options, frozen. */
  get options(): ResolvedStoreOptions {
    return this.#options;
  }

  /** Loads a live session; resolves `null` when it is missing or expired. */
  override get(sid: string): Promise<SessionData | null>;
  override get(sid: string, callback: Callback<SessionData | null>): Promise<undefined>;
  override get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null | undefined> {
    return this.#dispatch('get', callback, () => this.#planGet(sid));
  }

  /** Creates or replaces a session (one atomic upsert). */
  override set(sid: string, sess: SessionData): Promise<void>;
  override set(sid: string, sess: SessionData, callback: Callback<void>): Promise<void>;
  override set(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> {
    return this.#dispatch('set', callback, () => this.#planSet(sid, sess));
  }

  /** Deletes a session; deleting an unknown id is not an error. */
  override destroy(sid: string): Promise<void>;
  override destroy(sid: string, callback: Callback<void>): Promise<void>;
  override destroy(sid: string, callback?: Callback<void>): Promise<void> {
    return this.#dispatch('destroy', callback, () => this.#planDestroy(sid));
  }

  /** Moves the expiry of a live session from `sess.cookie`; an unknown or expired id is left alone. */
  override touch(sid: string, sess: SessionData): Promise<void>;
  override touch(sid: string, sess: SessionData, callback: Callback<void>): Promise<void>;
  override touch(sid: string, sess: SessionData, callback?: Callback<void>): Promise<void> {
    return this.#dispatch('touch', callback, () => this.#planTouch(sid, sess));
  }

  /** Every live session, keyed by session id. */
  override all(): Promise<SessionsById>;
  override all(callback: Callback<SessionsById>): Promise<undefined>;
  override all(callback?: Callback<SessionsById>): Promise<SessionsById | undefined> {
    return settle(this.#all(), callback);
  }

  /** The number of live sessions. */
  override length(): Promise<number>;
  override length(callback: Callback<number>): Promise<undefined>;
  override length(callback?: Callback<number>): Promise<number | undefined> {
    return settle(this.#length(), callback);
  }

  /** Deletes every session, live or expired. */
  override clear(): Promise<void>;
  override clear(callback: Callback<void>): Promise<void>;
  override clear(callback?: Callback<void>): Promise<void> {
    return settle(this.#clear(), callback);
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
    return settle(this.#clearForUser(userId, options), callback);
  }

  /** The number of the user's live sessions. */
  countSessionsForUser(userId: string | number): Promise<number>;
  countSessionsForUser(userId: string | number, callback: Callback<number>): Promise<undefined>;
  countSessionsForUser(userId: string | number, callback?: Callback<number>): Promise<number | undefined> {
    return settle(this.#countForUser(userId), callback);
  }

  /** The ids of the user's live sessions, newest first. */
  listSessionIdsForUser(userId: string | number): Promise<string[]>;
  listSessionIdsForUser(userId: string | number, callback: Callback<string[]>): Promise<undefined>;
  listSessionIdsForUser(userId: string | number, callback?: Callback<string[]>): Promise<string[] | undefined> {
    return settle(this.#idsForUser(userId), callback);
  }

  /**
   * The user's live sessions, newest first, with their times and data: a "your devices" page.
   * @example const devices = await store.listSessionsForUser(userId, { limit: 20 })
   */
  listSessionsForUser(userId: string | number, options?: ListForUserOptions): Promise<UserSession[]>;
  listSessionsForUser(userId: string | number, callback: Callback<UserSession[]>): Promise<undefined>;
  listSessionsForUser(
    userId: string | number,
    options: ListForUserOptions | undefined,
    callback: Callback<UserSession[]>,
  ): Promise<undefined>;
  listSessionsForUser(
    userId: string | number,
    a?: ListForUserOptions | Callback<UserSession[]>,
    b?: Callback<UserSession[]>,
  ): Promise<UserSession[] | undefined> {
    const [options, callback] = optionsAndCallback(a, b);
    return settle(this.#listForUser(userId, options), callback);
  }

  /** Deletes every session, live or expired, and resolves how many it deleted. */
  clearAll(): Promise<number>;
  clearAll(callback: Callback<number>): Promise<undefined>;
  clearAll(callback?: Callback<number>): Promise<number | undefined> {
    return settle(this.#clearAll(), callback);
  }

  /**
   * Every live session, read in pages of `pageSize` ordered by id, so that a million rows
   * never sit in memory at once. Sessions saved or deleted while it runs may or may not appear.
   * @example for await (const s of store.dump()) backup.write(JSON.stringify(s) + '\n')
   */
  async *dump(options?: DumpOptions): AsyncGenerator<DumpedSession, void, undefined> {
    const pageSize = wholeNumber('pageSize', options?.pageSize, 1000, 1, MAX_PAGE);
    const now = this.#time(this.#now());
    let afterId = '';
    for (;;) {
      const { rows } = await this.#run<{ id: string; user_id: string | null; data: string; expires_at: unknown }>(
        'dump',
        this.#queries.dumpPage,
        [now, afterId, pageSize],
      );
      for (const row of rows) {
        const data = this.#decode(row.data);
        if (data !== null) yield { id: row.id, userId: row.user_id, expiresAt: toMs(row.expires_at), data };
      }
      if (rows.length < pageSize) return;
      afterId = rows[rows.length - 1]!.id;
    }
  }

  /**
   * Deletes expired sessions in batches of `pruneBatchSize` and resolves how many it deleted.
   * On PostgreSQL only one store in the whole cluster prunes at a time; a call made while
   * another instance holds the prune lock resolves 0 at once.
   */
  deleteExpired(): Promise<number> {
    this.#pruning ??= this.#deleteExpired().finally(() => {
      this.#pruning = undefined;
    });
    return this.#pruning;
  }

  /**
   * Creates or upgrades the session table (kysely `Migrator`, with the store's own migration
   * table `<tableName>_migrations`), holding a database-wide lock so that several processes
   * starting at once all come up. Safe to call any time; it does nothing when up to date.
   */
  async migrate(): Promise<void> {
    this.#assertOpen('migrate');
    const { schema } = this.#db;
    const table = this.#where.table;
    try {
      await this.#db.withLock(this.#lockName('migrate'), true, async (db) => {
        const migrator = new Migrator({
          db,
          provider: sessionMigrationProvider(this.#where, this.#db.columnTypes),
          migrationTableName: `${table}_migrations`,
          migrationLockTableName: `${table}_migrations_lock`,
          ...(schema === undefined ? {} : { migrationTableSchema: schema }),
        });
        const { error } = await migrator.migrateToLatest();
        if (error !== undefined) throw error;
      });
    } catch (cause) {
      if (this.#db.isConnectionError(cause)) throw this.#connectionError(cause);
      throw new SessionStoreError(
        'MIGRATION_FAILED',
        `sessionsql: creating the session table ${this.#describeTable()} failed: ${describeCause(cause)}. Check that the database user may create tables there, or create it with store.migrate() as a user who may.`,
        { cause },
      );
    }
  }

  /**
   * Resolves once the store can serve requests: the table is migrated (with `autoMigrate`) or
   * reachable (without). Await it at startup to fail fast instead of on the first request; a
   * failure is not remembered, so the next call tries again.
   */
  ready(): Promise<void> {
    this.#ready ??= (this.#options.autoMigrate ? this.migrate() : this.#probe()).then(
      () => {
        this.#migrated = true;
      },
      (error: unknown) => {
        this.#ready = undefined;
        throw error;
      },
    );
    return this.#ready;
  }

  /**
   * Stops the background pruner, waits for a running prune, and closes the connections the
   * store opened itself. A pool or database handle passed in by the caller stays open.
   */
  close(): Promise<void>;
  close(callback: Callback<void>): Promise<void>;
  close(callback?: Callback<void>): Promise<void> {
    this.#closing ??= this.#close();
    return settle(this.#closing, callback);
  }

  /**
   * Runs one express-session operation planned by `plan`. When a callback waits on a ready
   * store, the statement runs without the promise path's readiness steps: now when the backend
   * runs statements on this thread (SQLite), else from the driver's promise to the callback
   * (PostgreSQL). Either way the outcome reaches the caller once, and the callback
   * runs on a later tick.
   */
  #dispatch<T>(operation: string, callback: Callback<T> | undefined, plan: () => Plan<T>): Promise<T | undefined> {
    if (callback === undefined || !this.#migrated || this.#closing !== undefined) {
      return settle(this.#perform(operation, plan), callback);
    }
    const sync = this.#db.executeSync;
    let value: T;
    try {
      const step = plan();
      if (step.query === undefined) value = step.value;
      else if (sync !== undefined) value = step.finish(this.#executeSync(sync, operation, step));
      else {
        const done = this.#db.execute(step.query, step.values).then(step.finish, (cause: unknown) => {
          throw this.#queryError(operation, cause);
        });
        return settle(done, callback);
      }
    } catch (error) {
      process.nextTick(callback, error);
      return RESOLVED;
    }
    process.nextTick(callback, null, value);
    return RESOLVED;
  }

  async #perform<T>(operation: string, plan: () => Plan<T>): Promise<T> {
    const step = plan();
    if (step.query === undefined) return step.value;
    return step.finish(await this.#run(operation, step.query, step.values));
  }

  #executeSync<T>(
    sync: NonNullable<SessionBackend['executeSync']>,
    operation: string,
    step: Extract<Plan<T>, { query: PreparedQuery }>,
  ): ExecuteResult<any> {
    try {
      return sync(step.query, step.values);
    } catch (cause) {
      throw this.#queryError(operation, cause);
    }
  }

  #planGet(sid: string): Plan<SessionData | null> {
    assertSessionId(sid);
    const remember = this.#options.touchAfterMs > 0;
    return {
      query: remember ? this.#queries.getWithExpiry : this.#queries.get,
      values: [sid, this.#time(this.#now())],
      finish: ({ rows }: ExecuteResult<{ data: string; expires_at?: unknown }>) => {
        const row = rows[0];
        if (row === undefined) {
          if (remember) this.#storedExpiry.delete(sid);
          return null;
        }
        if (remember) this.#rememberExpiry(sid, toMs(row.expires_at));
        return this.#decode(row.data);
      },
    };
  }

  #planSet(sid: string, sess: SessionData): Plan<void> {
    assertSessionId(sid);
    const data = encodeSession(sess);
    const userId = this.#userIdOf(sess);
    const now = this.#now();
    const time = this.#time(now);
    this.#storedExpiry.delete(sid);
    return {
      query: this.#queries.set,
      values: [sid, data, this.#time(this.#expiry(sess, now)), userId, time, time],
      finish: () => undefined,
    };
  }

  #planDestroy(sid: string): Plan<void> {
    assertSessionId(sid);
    this.#storedExpiry.delete(sid);
    return { query: this.#queries.destroy, values: [sid], finish: () => undefined };
  }

  #planTouch(sid: string, sess: SessionData): Plan<void> {
    assertSessionId(sid);
    const now = this.#now();
    const expiry = this.#expiry(sess, now);
    const touchAfterMs = this.#options.touchAfterMs;
    if (touchAfterMs > 0) {
      const stored = this.#storedExpiry.get(sid);
      this.#storedExpiry.delete(sid);
      // Written recently enough: the stored expiry is at most touchAfter short of the cookie's.
      if (stored !== undefined && stored >= expiry - touchAfterMs) return { value: undefined };
    }
    const time = this.#time(now);
    return { query: this.#queries.touch, values: [this.#time(expiry), time, sid, time], finish: () => undefined };
  }

  #rememberExpiry(sid: string, expiresAt: number): void {
    const remembered = this.#storedExpiry;
    remembered.delete(sid);
    remembered.set(sid, expiresAt);
    if (remembered.size > MAX_REMEMBERED_EXPIRIES) remembered.delete(remembered.keys().next().value!);
  }

  async #all(): Promise<SessionsById> {
    const { rows } = await this.#run<{ id: string; data: string }>('all', this.#queries.all, [this.#time(this.#now())]);
    const result: SessionsById = {};
    for (const row of rows) {
      const data = this.#decode(row.data);
      // defineProperty: an id such as "__proto__" must become a key, not a prototype.
      if (data !== null)
        Object.defineProperty(result, row.id, { value: data, enumerable: true, writable: true, configurable: true });
    }
    return result;
  }

  async #length(): Promise<number> {
    const { rows } = await this.#run<{ count: unknown }>('length', this.#queries.length, [this.#time(this.#now())]);
    return Number(rows[0]?.count ?? 0);
  }

  async #clear(): Promise<void> {
    await this.#run('clear', this.#queries.clear, []);
  }

  async #clearForUser(userId: string | number, options: ClearForUserOptions | undefined): Promise<number> {
    const id = toUserId(userId);
    const except = options?.except;
    if (except !== undefined) assertSessionId(except);
    const { affectedRows } = await this.#run('clearSessionsForUser', this.#queries.clearForUser, [
      id,
      this.#time(this.#now()),
      except ?? '',
    ]);
    return affectedRows;
  }

  async #countForUser(userId: string | number): Promise<number> {
    const id = toUserId(userId);
    const { rows } = await this.#run<{ count: unknown }>('countSessionsForUser', this.#queries.countForUser, [
      id,
      this.#time(this.#now()),
    ]);
    return Number(rows[0]?.count ?? 0);
  }

  async #idsForUser(userId: string | number): Promise<string[]> {
    const id = toUserId(userId);
    const { rows } = await this.#run<{ id: string }>('listSessionIdsForUser', this.#queries.idsForUser, [
      id,
      this.#time(this.#now()),
    ]);
    return rows.map((row) => row.id);
  }

  async #listForUser(userId: string | number, options: ListForUserOptions | undefined): Promise<UserSession[]> {
    const id = toUserId(userId);
    const limit = wholeNumber('limit', options?.limit, 100, 1, MAX_PAGE);
    const offset = wholeNumber('offset', options?.offset, 0, 0, MAX_PAGE);
    const { rows } = await this.#run<{
      id: string;
      user_id: string;
      data: string;
      expires_at: unknown;
      created_at: unknown;
      updated_at: unknown;
    }>('listSessionsForUser', this.#queries.listForUser, [id, this.#time(this.#now()), limit, offset]);
    const sessions: UserSession[] = [];
    for (const row of rows) {
      const data = this.#decode(row.data);
      if (data === null) continue;
      sessions.push({
        id: row.id,
        userId: row.user_id,
        createdAt: toMs(row.created_at),
        updatedAt: toMs(row.updated_at),
        expiresAt: toMs(row.expires_at),
        data,
      });
    }
    return sessions;
  }

  async #clearAll(): Promise<number> {
    const { affectedRows } = await this.#run('clearAll', this.#queries.clear, []);
    return affectedRows;
  }

  #userIdOf(sess: SessionData): string | null {
    const userId = this.#options.getUserId(sess);
    if (userId === undefined || userId === null) return null;
    if (isUserIdValue(userId)) return String(userId);
    throw new TypeError(
      `sessionsql: getUserId returned ${userId === '' ? 'an empty string' : typeof userId}; return a non-empty string, a finite number, or undefined for an anonymous session.`,
    );
  }

  async #deleteExpired(): Promise<number> {
    this.#assertOpen('deleteExpired');
    if (!this.#migrated) await this.ready();
    const now = this.#time(this.#now());
    const batch = this.#options.pruneBatchSize;
    const outcome = await this.#db.withLock(this.#lockName('prune'), false, async (db) => {
      let deleted = 0;
      for (;;) {
        const affectedRows = await this.#executeOn(db, 'deleteExpired', this.#queries.deleteExpiredBatch, [now, batch]);
        deleted += affectedRows;
        if (affectedRows < batch || this.#closing !== undefined) return deleted;
        // Between batches other queries get their turn (better-sqlite3 runs on this thread).
        await nextTurn();
      }
    });
    return outcome.acquired ? outcome.value : 0;
  }

  #schedulePrune(): void {
    const interval = this.#options.pruneIntervalMs;
    if (interval === false || this.#closing !== undefined) return;
    const delay = Math.round(interval * (0.5 + Math.random()));
    this.#pruneTimer = setTimeout(() => {
      this.#pruneTimer = undefined;
      this.deleteExpired()
        .catch((cause: unknown) => {
          if (this.#closing !== undefined) return;
          this.#report(
            new SessionStoreError(
              'PRUNE_FAILED',
              `sessionsql: deleting expired sessions from ${this.#describeTable()} failed; it is tried again at the next interval. ${describeCause(cause)}`,
              { cause },
            ),
          );
        })
        .finally(() => this.#schedulePrune());
    }, delay);
    this.#pruneTimer.unref();
  }

  async #close(): Promise<void> {
    if (this.#pruneTimer !== undefined) clearTimeout(this.#pruneTimer);
    await Promise.allSettled([this.#pruning, this.#ready]);
    await this.#db.close();
  }

  async #probe(): Promise<void> {
    await this.#execute('ready', this.#queries.get, ['', this.#time(this.#now())]);
  }

  async #run<Row>(operation: string, query: PreparedQuery, values: readonly unknown[]): Promise<ExecuteResult<Row>> {
    this.#assertOpen(operation);
    if (!this.#migrated) await this.ready();
    return this.#execute(operation, query, values);
  }

  async #execute<Row>(
    operation: string,
    query: PreparedQuery,
    values: readonly unknown[],
  ): Promise<ExecuteResult<Row>> {
    try {
      return await this.#db.execute<Row>(query, values);
    } catch (cause) {
      throw this.#queryError(operation, cause);
    }
  }

  async #executeOn(db: Kysely<any>, operation: string, query: PreparedQuery, values: unknown[]): Promise<number> {
    try {
      const result = await db.executeQuery(CompiledQuery.raw(query.sql, values));
      return Number(result.numAffectedRows ?? 0);
    } catch (cause) {
      throw this.#queryError(operation, cause);
    }
  }

  #queryError(operation: string, cause: unknown): SessionStoreError {
    const detail = describeCause(cause);
    if (this.#db.isConnectionError(cause)) return this.#connectionError(cause);
    if (operation === 'set' && this.#db.isDataRejection(cause)) {
      return new SessionStoreError(
        'DATA_REJECTED',
        `sessionsql: ${this.#db.name} refused the session data (${detail}); nothing was written. Remove the offending value from the session.`,
        { cause },
      );
    }
    return new SessionStoreError(
      'QUERY_FAILED',
      `sessionsql: ${operation} on ${this.#describeTable()} failed: ${detail}`,
      {
        cause,
      },
    );
  }

  #connectionError(cause: unknown): SessionStoreError {
    return new SessionStoreError(
      'CONNECTION_FAILED',
      `sessionsql: cannot connect to ${this.#db.name} at ${this.#db.location}: ${describeCause(cause)}. Check that the server is running and reachable from here, and that the user, password and database name are right.`,
      { cause },
    );
  }

  #assertOpen(operation: string): void {
    if (this.#closing !== undefined) {
      throw new SessionStoreError(
        'STORE_CLOSED',
        `sessionsql: ${operation}() was called after store.close(); create a new store instead.`,
      );
    }
  }

  #decode(text: string): SessionData | null {
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as SessionData;
      throw new Error(`expected a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value}`);
    } catch (cause) {
      this.#report(
        new SessionStoreError(
          'CORRUPT_SESSION',
          `sessionsql: a stored session in ${this.#describeTable()} could not be decoded (${(cause as Error).message}) and is treated as missing; the next save overwrites it.`,
          { cause },
        ),
      );
      return null;
    }
  }

  #report(error: SessionStoreError): void {
    try {
      if (this.#options.onError !== undefined) this.#options.onError(error);
      else if (this.listenerCount('error') > 0) this.emit('error', error);
      else process.emitWarning(error.message, { code: `SESSIONSQL_${error.code}` });
    } catch (thrown) {
      // A throwing error handler must not turn a reported problem into a crash.
      process.emitWarning(`sessionsql: the error handler threw: ${(thrown as Error)?.message ?? String(thrown)}`);
    }
  }

  #expiry(sess: SessionData | undefined, now: number): number {
    const expires: unknown = sess?.cookie?.expires;
    if (expires !== undefined && expires !== null && expires !== false) {
      const ms = toMs(expires);
      if (Number.isFinite(ms)) return ms;
    }
    return now + this.#options.ttlMs;
  }

  #now(): number {
    return this.#options.clock();
  }

  #time(ms: number): unknown {
    return this.#db.encodeTime(ms);
  }

  #lockName(purpose: string): string {
    return `sessionsql:${this.#where.schema ?? ''}.${this.#where.table}:${purpose}`;
  }

  #describeTable(): string {
    const { schema, table } = this.#where;
    return `${this.#db.name} table ${schema === undefined ? '' : `${schema}.`}${table} (${this.#db.location})`;
  }
}
