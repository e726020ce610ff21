import { resolve } from 'node:path';
import {
  type ExecuteResult,
  type LockOutcome,
  type PreparedQuery,
  type SessionBackend,
  SessionStoreError,
} from '@sessionsql/core';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type DialectAdapter,
  type Driver,
  Kysely,
  SqliteAdapter,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
} from 'kysely';
import { sqliteStatements } from './sqlite-statements.js';

/** A better-sqlite3 database handle. */
export type SqliteDatabase = Database.Database;

/** Milliseconds a statement waits for another process's write lock before failing. */
const BUSY_TIMEOUT_MS = 5000;

/** SQLite does support transactional DDL; kysely's default adapter plays it safe and says no. */
class TransactionalSqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

/**
 * Begins transactions with `BEGIN IMMEDIATE`: a migration takes the write lock before its
 * first read, so a second process starting at once waits for it (busy timeout) instead of
 * failing later on a stale snapshot.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class SessionSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.#config);
  }
  override createAdapter(): DialectAdapter {
    return new TransactionalSqliteAdapter();
  }
}

/**
 * Locks held in this process, by database file and lock name. SQLite's own locks cannot order
 * two connections of one process: a connection waiting on the busy timeout blocks the thread
 * the lock holder needs to finish.
 */
const heldLocks = new Map<string, Promise<unknown>>();
const memoryIds = new WeakMap<SqliteDatabase, number>();
let nextMemoryId = 0;

function lockScope(db: SqliteDatabase): string {
  if (db.memory) {
    let id = memoryIds.get(db);
    if (id === undefined) {
      id = nextMemoryId++;
      memoryIds.set(db, id);
    }
    return `memory:${id}`;
  }
  return resolve(db.name);
}

function isDatabaseHandle(value: unknown): value is SqliteDatabase {
  const v = value as SqliteDatabase | null;
  return typeof v === 'object' && v !== null && typeof v.prepare === 'function' && typeof v.pragma === 'function';
}

function isBusy(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/** Blocks this thread for `ms` milliseconds, as SQLite's own busy handler does. */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Runs `pragma`, again after a short and growing pause while it fails with SQLITE_BUSY, for at
 * most the busy timeout. Switching a new file to WAL needs its write lock after reading it, and
 * SQLite answers SQLITE_BUSY at once, without the busy timeout, when another process (also
 * opening the file) holds that lock: several processes starting on a new file would otherwise
 * fail now and then with "database is locked".
 */
function pragmaWhenFree(db: SqliteDatabase, pragma: string): unknown {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      return db.pragma(pragma);
    } catch (error) {
      const pause = Math.min(2 ** attempt, 100, deadline - Date.now());
      if (!isBusy(error) || pause <= 0) throw error;
      sleepSync(pause);
    }
  }
}

function open(database: string): SqliteDatabase {
  let db: SqliteDatabase | undefined;
  try {
    db = new Database(database);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (!db.memory) {
      pragmaWhenFree(db, 'journal_mode = WAL');
      // In WAL mode NORMAL never corrupts the file; a power cut may lose the last commits.
      db.pragma('synchronous = NORMAL');
    }
    return db;
  } catch (cause) {
    db?.close();
    throw new SessionStoreError(
      'CONNECTION_FAILED',
      `sessionsql: cannot open the SQLite database ${JSON.stringify(database)}: ${(cause as Error).message}. Check that its directory exists and is writable by this process.`,
      { cause },
    );
  }
}

/**
 * Opens the SQLite side of a store: a file path (opened in WAL mode with a busy timeout), the
 * string `':memory:'`, or a better-sqlite3 `Database` the caller owns and keeps open.
 */
export function createSqliteBackend(database: string | SqliteDatabase): SessionBackend {
  if (typeof database !== 'string' && !isDatabaseHandle(database)) {
    throw new TypeError(
      'sessionsql: option `database` must be a file path, ":memory:" or a better-sqlite3 Database (for example `new SqliteSessionStore({ database: "sessions.sqlite" })`).',
    );
  }
  if (database === '') {
    throw new TypeError(
      'sessionsql: option `database` is an empty string; give a file path such as "sessions.sqlite" or ":memory:".',
    );
  }
  const owned = typeof database === 'string';
  const db = typeof database === 'string' ? open(database) : database;
  const kysely = new Kysely<any>({ dialect: new SessionSqliteDialect({ database: db }) });
  const statements = new Map<string, Database.Statement>();
  const scope = lockScope(db);

  function executeSync<Row>(query: PreparedQuery, values: readonly unknown[]): ExecuteResult<Row> {
    let statement = statements.get(query.sql);
    if (statement === undefined) {
      statement = db.prepare(query.sql);
      statements.set(query.sql, statement);
    }
    if (query.oneRow) {
      const row = statement.get(...values) as Row | undefined;
      return { rows: row === undefined ? [] : [row], affectedRows: 0 };
    }
    if (query.returnsRows) return { rows: statement.all(...values) as Row[], affectedRows: 0 };
    return { rows: [], affectedRows: statement.run(...values).changes };
  }

  return {
    name: 'sqlite',
    location: db.memory ? ':memory:' : db.name,
    schema: undefined,
    db: kysely,
    columnTypes: { id: 'text', data: 'text', time: 'integer' },
    partialIndexes: true,
    statements: sqliteStatements,
    encodeTime: (ms) => ms,

    async execute<Row>(query: PreparedQuery, values: readonly unknown[]): Promise<ExecuteResult<Row>> {
      return executeSync<Row>(query, values);
    },
    executeSync,

    async withLock<T>(_name: string, wait: boolean, task: (db: Kysely<any>) => Promise<T>): Promise<LockOutcome<T>> {
      // One lock per file, whatever its name: two connections of this process must never hold
      // write transactions on one file at once (the waiting one would block the thread that the
      // holder needs to commit), even for different tables.
      const key = scope;
      let held = heldLocks.get(key);
      if (held !== undefined && !wait) return { acquired: false };
      while (held !== undefined) {
        await held.catch(() => undefined);
        held = heldLocks.get(key);
      }
      const running = task(kysely);
      heldLocks.set(key, running);
      try {
        return { acquired: true, value: await running };
      } finally {
        heldLocks.delete(key);
      }
    },

    async tableSize(_kysely, where) {
      // dbstat knows each b-tree's pages, but walks them all: a million-row table is a 1 GB
      // walk (0.4 s), each index a small one. Only the indexes and the file's other b-trees are
      // walked (one `name =` lookup each, dbstat's fast path); the table is the pages left over.
      const btreeBytes = db
        .prepare('select coalesce(sum(pgsize), 0) from dbstat where name = ? and aggregate = 1')
        .pluck();
      const btrees = db.prepare('select name, type, tbl_name from sqlite_master where rootpage > 0').all() as {
        name: string;
        type: string;
        tbl_name: string;
      }[];
      let indexBytes = 0;
      let otherBytes = Number(btreeBytes.get('sqlite_schema'));
      for (const btree of btrees) {
        if (btree.name === where.table) continue;
        const bytes = Number(btreeBytes.get(btree.name));
        if (btree.type === 'index' && btree.tbl_name === where.table) indexBytes += bytes;
        else otherBytes += bytes;
      }
      const pageSize = Number(db.pragma('page_size', { simple: true }));
      const usedPages =
        Number(db.pragma('page_count', { simple: true })) - Number(db.pragma('freelist_count', { simple: true }));
      return { tableBytes: Math.max(0, usedPages * pageSize - otherBytes - indexBytes), indexBytes };
    },

    async analyzeTable(_kysely, where) {
      db.exec(`analyze "${where.table}"`);
    },

    isDataRejection: (error) => (error as { code?: unknown })?.code === 'SQLITE_TOOBIG',
    isConnectionError: (error) => (error as { code?: unknown })?.code === 'SQLITE_CANTOPEN',

    onBackgroundError() {
      // better-sqlite3 is synchronous: every error reaches the call that caused it.
    },

    async close() {
      statements.clear();
      if (owned && db.open) db.close();
    },
  };
}
