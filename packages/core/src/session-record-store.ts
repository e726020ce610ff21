import { EventEmitter } from 'node:events';
import { ExpiredPruner } from './expired-pruner.js';
import { LoadedSessions } from './loaded-sessions.js';
import { migrateSessionTable } from './migrate-session-table.js';
import { OperationPlans, type Plan } from './operation-plans.js';
import { runPlanNow } from './run-plan-now.js';
import type { BackendName, ExecuteResult, PreparedQuery, SessionBackend } from './session-backend.js';
import { SessionCipher } from './session-cipher.js';
import { assertSessionId, sessionKey } from './session-codec.js';
import type { TableLocation } from './session-migrations.js';
import { compileSessionQueries, type SessionQueries } from './session-queries.js';
import type {
  ClearForUserOptions,
  DumpedSession,
  DumpOptions,
  ListForUserOptions,
  SessionObject,
  SessionRecord,
  SessionsById,
  UserSession,
} from './session-record.js';
import type { SessionStoreError } from './session-store-error.js';
import {
  encryptionKeysOf,
  type ResolvedStoreOptions,
  resolveStoreOptions,
  type SessionStoreOptions,
} from './session-store-options.js';
import { SessionTable } from './session-table.js';
import { type Callback, settle } from './settle.js';
import { type BatchPart, StatementCoalescer } from './statement-coalescer.js';
import type { StoreContext } from './store-context.js';
import { reportError, StoreErrors } from './store-errors.js';
import { StoredData } from './stored-data.js';
import { UserSessions } from './user-sessions.js';

/** How a subclass or adapter builds a record store: the option keys it adds, and its name for errors. */
export interface RecordStoreConfig {
  /** Option keys the caller checks itself (`database`, `connectionString`, …); any other unknown key is refused. */
  readonly ownKeys?: readonly string[];
  /** Names the store in option errors, e.g. `SqliteSessionStore`. */
  readonly owner?: string;
}

/**
 * The framework-neutral session store shared by every dialect and every framework adapter:
 * records of (id, data, expiry, user) in one SQL table. Adapters for express-session,
 * Fastify, Koa and Hono translate their framework's calls into these.
 *
 * Meaning:
 * - `load` resolves `null` for a missing or expired session, never an expired one;
 * - `save` writes data, expiry and user (from `getUserId`) in one statement: an upsert of a
 *   new session, an update of one loaded here, so that a request that loaded a session before
 *   a sign-out never saves it back (unless statements are coalesced, an update that keeps the
 *   user leaves it out, and when the stored user was changed elsewhere meanwhile it changes
 *   nothing and the update that sets the user runs);
 * - `touch` only moves the expiry of a live session and never creates one;
 * - with `touchAfterMs`, a save or touch that follows a load and changes nothing but the
 *   expiry, by less than `touchAfterMs`, is not written;
 * - times are milliseconds since the Unix epoch.
 *
 * `load`, `save`, `touch` and `delete` also take a Node-style callback; the outcome then goes
 * only to the callback, exactly once, on a later tick.
 *
 * @example
 * ```ts
 * const records = new SessionRecordStore(createSqliteBackend('sessions.sqlite'), { ttlMs: 86_400_000 })
 * await records.save('sid', { userId: 'alice' }, Date.now() + 3_600_000)
 * const record = await records.load('sid') // { data: { userId: 'alice' }, expiresAt: … }
 * ```
 */
export class SessionRecordStore extends EventEmitter {
  /** Which database this store uses. */
  readonly backend: BackendName;
  /** The resolved options, frozen. */
  readonly options: ResolvedStoreOptions;
  readonly #db: SessionBackend;
  readonly #where: TableLocation;
  readonly #queries: SessionQueries;
  readonly #errors: StoreErrors;
  readonly #loaded: LoadedSessions;
  readonly #stored: StoredData;
  readonly #plans: OperationPlans;
  readonly #users: UserSessions;
  readonly #pruner: ExpiredPruner;
  readonly #statements: StatementCoalescer;
  #table: SessionTable | undefined;
  #migrated: boolean;
  #ready: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  /**
   * @param backend the database, usually built by a dialect package; a function is called
   *   once the options are validated, so that nothing is opened for bad options.
   * @param options see {@link SessionStoreOptions}; unknown keys are refused.
   * @param config for subclasses and adapters that add options of their own.
   */
  constructor(
    backend: SessionBackend | (() => SessionBackend),
    options?: SessionStoreOptions,
    config: RecordStoreConfig = {},
  ) {
    super();
    this.options = resolveStoreOptions(options, config.ownKeys, config.owner ?? 'SessionRecordStore');
    const keys = encryptionKeysOf(options?.encryptionKeys);
    const cipher = keys === undefined ? undefined : new SessionCipher(keys);
    const db = typeof backend === 'function' ? backend() : backend;
    this.#db = db;
    this.backend = db.name;
    this.#where = Object.freeze({ schema: db.schema, table: this.options.tableName });
    try {
      this.#queries = compileSessionQueries(db, this.#where);
    } catch (error) {
      // A backend this store opened must not stay open when the store cannot be built.
      if (typeof backend === 'function') db.close().catch(() => undefined);
      throw error;
    }
    this.#errors = new StoreErrors(db, this.options.tableName);
    this.#statements = new StatementCoalescer(db, this.options.coalesceStatements ? this.#queries : {}, () =>
      db.encodeTime(this.options.clock()),
    );
    this.#stored = new StoredData(cipher, this.options.readUnencrypted, this.#errors, (error) => this.#report(error));
    this.#loaded = new LoadedSessions(this.options.touchAfterMs);
    this.#migrated = !this.options.autoMigrate;
    const context = this.#context();
    this.#plans = new OperationPlans(context, this.#loaded, this.#statements.batching);
    this.#users = new UserSessions(context);
    db.onBackgroundError((cause) => context.report(this.#errors.idleConnection(cause)));
    this.#pruner = new ExpiredPruner(context);
  }

  /** Loads a live session with its expiry; resolves `null` when it is missing or expired. */
  load<Data = SessionObject>(id: string): Promise<SessionRecord<Data> | null>;
  load<Data = SessionObject>(id: string, callback: Callback<SessionRecord<Data> | null>): void;
  load(id: string, callback?: Callback<SessionRecord | null>): Promise<SessionRecord | null | undefined> {
    return this.#dispatch('get', callback, () =>
      this.#plans.load(id, true, (data, expiresAt) => ({ data, expiresAt })),
    );
  }

  /**
   * Loads only the data of a live session (the expiry column is read only when `touchAfterMs`
   * needs it); `null` when it is missing or expired.
   */
  loadData<Data = SessionObject>(id: string): Promise<Data | null>;
  loadData<Data = SessionObject>(id: string, callback: Callback<Data | null>): void;
  loadData(id: string, callback?: Callback<SessionObject | null>): Promise<SessionObject | null | undefined> {
    return this.#dispatch('get', callback, () => this.#plans.load(id, this.#loaded.throttled, (data) => data));
  }

  /** Creates or replaces a session, with its user from `getUserId` (one atomic write; see `SessionRecordStore.save`). */
  save(id: string, data: SessionObject, expiresAt: number): Promise<void>;
  save(id: string, data: SessionObject, expiresAt: number, callback: Callback<void>): void;
  save(id: string, data: SessionObject, expiresAt: number, callback?: Callback<void>): Promise<void> {
    return this.#dispatch('set', callback, () => this.#plans.save(id, data, expiresAt)) as Promise<void>;
  }

  /** Moves the expiry of a live session; an unknown or expired id is left alone. */
  touch(id: string, expiresAt: number): Promise<void>;
  touch(id: string, expiresAt: number, callback: Callback<void>): void;
  touch(id: string, expiresAt: number, callback?: Callback<void>): Promise<void> {
    return this.#dispatch('touch', callback, () => this.#plans.touch(id, expiresAt)) as Promise<void>;
  }

  /** Deletes a session; deleting an unknown id is not an error. */
  delete(id: string): Promise<void>;
  delete(id: string, callback: Callback<void>): void;
  delete(id: string, callback?: Callback<void>): Promise<void> {
    return this.#dispatch('destroy', callback, () => this.#plans.delete(id)) as Promise<void>;
  }

  /** Every live session, keyed by handle (the stored hash of its id). */
  all<Data = SessionObject>(): Promise<SessionsById<Data>> {
    return this.#users.all<Data>();
  }

  /** The number of live sessions (rows; a session that cannot be decoded is counted too). */
  count(): Promise<number> {
    return this.#users.count();
  }

  /** Deletes every session, live or expired, and resolves how many it deleted. */
  clearAll(): Promise<number> {
    return this.#users.clearAll();
  }

  /**
   * Deletes the user's live sessions ("log out everywhere"), keeping `except` when given
   * ("log out other devices"); resolves how many it deleted.
   * @example await records.clearSessionsForUser(userId, { except: currentSessionId })
   */
  clearSessionsForUser(userId: string | number, options?: ClearForUserOptions): Promise<number> {
    return this.#users.clearForUser(userId, options);
  }

  /** The number of the user's live sessions. */
  countSessionsForUser(userId: string | number): Promise<number> {
    return this.#users.countForUser(userId);
  }

  /** The handles of the user's live sessions, newest first (see {@link UserSession.handle}). */
  listSessionHandlesForUser(userId: string | number): Promise<string[]> {
    return this.#users.handlesForUser(userId);
  }

  /**
   * The handle of the session `sessionId`, as listings show it: tells which listed session is
   * the current one.
   * @example devices.map((d) => ({ ...d, current: d.handle === records.handleOf(req.sessionID) }))
   */
  handleOf(sessionId: string): string {
    assertSessionId(sessionId);
    return sessionKey(sessionId);
  }

  /** Deletes the session a listing named by `handle` ("sign out this device"). */
  deleteByHandle(handle: string): Promise<void> {
    return this.#dispatch('destroy', undefined, () => this.#plans.delete(handle, true)) as Promise<void>;
  }

  /**
   * The user's live sessions, newest first, with their times and data: a "your devices" page.
   * @example const devices = await records.listSessionsForUser(userId, { limit: 20 })
   */
  listSessionsForUser<Data = SessionObject>(
    userId: string | number,
    options?: ListForUserOptions,
  ): Promise<UserSession<Data>[]> {
    return this.#users.listForUser<Data>(userId, options);
  }

  /**
   * Every live session, read in pages of `pageSize` ordered by id, so that a million rows
   * never sit in memory at once. Sessions saved or deleted while it runs may or may not appear.
   * @example for await (const s of records.dump()) backup.write(JSON.stringify(s) + '\n')
   */
  dump<Data = SessionObject>(options?: DumpOptions): AsyncGenerator<DumpedSession<Data>> {
    return this.#users.dump<Data>(options);
  }

  /**
   * Deletes expired sessions in batches of `pruneBatchSize` and resolves how many it deleted;
   * `onBatch` hears the running total after each batch. Only one store per database prunes at
   * a time; a call made while another holds the prune lock resolves 0 at once.
   */
  deleteExpired(options?: { onBatch?: (deletedSoFar: number) => void }): Promise<number> {
    return this.#pruner.deleteExpired(options?.onBatch);
  }

  /** Whole-table operations for operators: stats, and rows moved between databases. */
  get table(): SessionTable {
    this.#table ??= new SessionTable(this.#context());
    return this.#table;
  }

  /**
   * Creates or upgrades the session table, holding a database-wide lock so that several
   * processes starting at once all come up. Safe to call any time; it does nothing when up
   * to date.
   */
  async migrate(): Promise<void> {
    if (this.#closing !== undefined) throw this.#errors.closed('migrate');
    const stored = this.#stored;
    await migrateSessionTable(this.#db, this.#where, this.#lockName('migrate'), this.#errors, (text, key) =>
      stored.seal(text, key),
    );
  }

  /**
   * Resolves once the store can serve requests: the table is migrated (with `autoMigrate`) or
   * reachable (without). Await it at startup to fail fast instead of on the first request; a
   * failure is not remembered, so the next call tries again.
   */
  ready(): Promise<void> {
    this.#ready ??= (this.options.autoMigrate ? this.migrate() : this.#probe()).then(
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
   * Stops the background pruner, waits for a running prune and for the calls already made,
   * and closes the connections the store opened itself. A pool or database handle passed in
   * by the caller stays open.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Calls accepted before close() still waiting to share a statement go out first.
      await Promise.allSettled([this.#pruner.stop(), this.#ready, this.#statements.drain()]);
      await this.#db.close();
    })();
    return this.#closing;
  }

  /**
   * Runs one operation planned by `plan`. When a callback waits on a ready store, the
   * statement skips the promise path's readiness steps (see {@link runPlanNow}).
   */
  #dispatch<T>(operation: string, callback: Callback<T> | undefined, plan: () => Plan<T>): Promise<T | undefined> {
    if (this.#closing !== undefined) return settle(Promise.reject<T>(this.#errors.closed(operation)), callback);
    if (callback === undefined || !this.#migrated) return settle(this.#perform(operation, plan), callback);
    return runPlanNow(this.#db, this.#statements, this.#errors, operation, plan, callback);
  }

  async #perform<T>(operation: string, plan: () => Plan<T>): Promise<T> {
    const step = plan();
    if (step.query === undefined) return step.value;
    let result = await this.#run(operation, step.query, step.values, step.batch);
    if (result.affectedRows === 0 && step.otherwise !== undefined) {
      result = await this.#run(operation, step.otherwise.query, step.otherwise.values);
    }
    return step.finish(result);
  }

  async #probe(): Promise<void> {
    // Reads the table without migrating it (autoMigrate: false): fails when it is not there.
    await this.#execute('ready', this.#queries.get, ['', this.#db.encodeTime(this.options.clock())]);
  }

  async #run<Row>(
    operation: string,
    query: PreparedQuery,
    values: readonly unknown[],
    batch?: BatchPart,
  ): Promise<ExecuteResult<Row>> {
    if (this.#closing !== undefined) throw this.#errors.closed(operation);
    if (!this.#migrated) await this.ready();
    return this.#execute(operation, query, values, batch);
  }

  async #execute<Row>(
    operation: string,
    query: PreparedQuery,
    values: readonly unknown[],
    batch?: BatchPart,
  ): Promise<ExecuteResult<Row>> {
    try {
      return await this.#statements.execute<Row>(query, values, batch);
    } catch (cause) {
      throw this.#errors.query(operation, cause);
    }
  }

  #report(error: SessionStoreError): void {
    reportError(error, this.options.onError, this);
  }

  /** A database-wide lock name for this table and `purpose`. */
  #lockName(purpose: string): string {
    return `sessionsql:${this.#where.schema ?? ''}.${this.#where.table}:${purpose}`;
  }

  #context(): StoreContext {
    return {
      backend: this.#db,
      options: this.options,
      where: this.#where,
      queries: this.#queries,
      errors: this.#errors,
      run: (operation, query, values) => this.#run(operation, query, values),
      ready: () => (this.#migrated ? Promise.resolve() : this.ready()),
      now: () => this.options.clock(),
      time: (ms) => this.#db.encodeTime(ms),
      decode: (stored, key) => this.#stored.decode(stored, key),
      seal: (text, key) => this.#stored.seal(text, key),
      closing: () => this.#closing !== undefined,
      report: (error) => this.#report(error),
      lockName: (purpose) => this.#lockName(purpose),
    };
  }
}
