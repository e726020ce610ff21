/**
 * Every store the benchmarks compare, opened on its own table (PostgreSQL) or file (SQLite).
 * Each is used through express-session's callback API, the way express-session calls it.
 *
 * The limit rows are no store at all: the raw driver running sessionsql's own statements
 * (prepared once), plus the JSON encoding and the callback every store needs. A store cannot
 * beat them on that driver; how close it gets is what its own code costs.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PostgresSessionStore } from '@sessionsql/postgres';
import { SqliteSessionStore } from '@sessionsql/sqlite';
import Database from 'better-sqlite3';
import connectPgSimple from 'connect-pg-simple';
import { ConnectSessionKnexStore } from 'connect-session-knex';
import session, { type SessionData } from 'express-session';
import knex from 'knex';
import pg from 'pg';
import type { BenchEnv } from './bench-env.js';

const require = createRequire(import.meta.url);

export type Callback<T = unknown> = (error: unknown, value?: T) => void;

/** The part of express-session's store API the benchmarks drive. */
export interface CallbackStore {
  get(sid: string, callback: Callback<SessionData | null | undefined>): void;
  set(sid: string, sess: SessionData, callback: Callback): void;
  touch(sid: string, sess: SessionData, callback: Callback): void;
  destroy(sid: string, callback: Callback): void;
}

/** An open contender. */
export interface OpenContender {
  readonly store: CallbackStore;
  /** The same as an express-session `Store`, for the end-to-end app. */
  readonly sessionStore: session.Store;
  close(): Promise<void>;
}

/** A limit row's callback functions as an express-session `Store`. */
class CallbackSessionStore extends session.Store {
  constructor(readonly inner: CallbackStore) {
    super();
  }
  override get(sid: string, callback: Callback<SessionData | null | undefined>): void {
    this.inner.get(sid, callback);
  }
  override set(sid: string, sess: SessionData, callback?: Callback): void {
    this.inner.set(sid, sess, callback ?? (() => undefined));
  }
  override touch(sid: string, sess: SessionData, callback?: Callback): void {
    this.inner.touch(sid, sess, callback ?? (() => undefined));
  }
  override destroy(sid: string, callback?: Callback): void {
    this.inner.destroy(sid, callback ?? (() => undefined));
  }
}

export type ContenderRole = 'sessionsql' | 'peer' | 'limit' | 'ceiling';

export interface Contender {
  readonly id: string;
  readonly label: string;
  readonly database: 'sqlite' | 'postgres' | 'memory';
  readonly role: ContenderRole;
  /** Opens it on table or file `name`; `options.touchAfterMs` only applies to sessionsql. */
  open(env: BenchEnv, name: string, options?: { touchAfterMs?: number }): Promise<OpenContender>;
}

/** Pool size of every PostgreSQL contender (sessionsql's default). */
export const POOL_SIZE = 10;

/** The pragmas sessionsql sets on a file it opens; given to every SQLite contender alike. */
function openSqlite(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

function expiryOf(sess: SessionData, now: number): number {
  const expires = (sess.cookie as { expires?: unknown } | undefined)?.expires;
  const ms = expires === undefined || expires === null ? Number.NaN : new Date(expires as string).getTime();
  return Number.isFinite(ms) ? ms : now + 86_400_000;
}

function userIdOf(sess: SessionData): string | null {
  const id = (sess as { userId?: unknown }).userId;
  return typeof id === 'string' ? id : null;
}

const sessionsqlSqlite: Contender = {
  id: 'sessionsql-sqlite',
  label: 'sessionsql (SQLite)',
  database: 'sqlite',
  role: 'sessionsql',
  async open(env, name, options) {
    const store = new SqliteSessionStore({
      database: join(env.dir, `${name}.sqlite`),
      tableName: name,
      pruneIntervalMs: false,
      ...(options?.touchAfterMs === undefined ? {} : { touchAfterMs: options.touchAfterMs }),
    });
    await store.ready();
    return { store, sessionStore: store, close: () => store.close() };
  },
};

const sessionsqlPostgres: Contender = {
  id: 'sessionsql-pg',
  label: 'sessionsql (PostgreSQL)',
  database: 'postgres',
  role: 'sessionsql',
  async open(env, name, options) {
    const store = new PostgresSessionStore({
      connectionString: env.postgresUrl,
      schemaName: env.schema,
      tableName: name,
      poolConfig: { max: POOL_SIZE },
      pruneIntervalMs: false,
      ...(options?.touchAfterMs === undefined ? {} : { touchAfterMs: options.touchAfterMs }),
    });
    await store.ready();
    return { store, sessionStore: store, close: () => store.close() };
  },
};

/** better-sqlite3 with sessionsql's statements, prepared once, on sessionsql's table. */
const rawSqlite: Contender = {
  id: 'limit-better-sqlite3',
  label: 'limit: raw better-sqlite3',
  database: 'sqlite',
  role: 'limit',
  async open(env, name) {
    const file = join(env.dir, `${name}.sqlite`);
    const schemaOwner = new SqliteSessionStore({ database: file, tableName: name, pruneIntervalMs: false });
    await schemaOwner.migrate();
    await schemaOwner.close();
    const db = openSqlite(file);
    const t = `"${name}"`;
    const get = db.prepare(`select "data" from ${t} where "id" = ? and "expires_at" > ?`).pluck();
    const set = db.prepare(
      `insert into ${t} ("id", "data", "expires_at", "user_id", "created_at", "updated_at") values (?, ?, ?, ?, ?, ?) on conflict ("id") do update set "data" = "excluded"."data", "expires_at" = "excluded"."expires_at", "user_id" = "excluded"."user_id", "updated_at" = "excluded"."updated_at", "created_at" = case when ${t}."expires_at" <= "excluded"."updated_at" then "excluded"."created_at" else ${t}."created_at" end`,
    );
    const touch = db.prepare(`update ${t} set "expires_at" = ?, "updated_at" = ? where "id" = ? and "expires_at" > ?`);
    const destroy = db.prepare(`delete from ${t} where "id" = ?`);
    const store: CallbackStore = {
      get(sid, callback) {
        const data = get.get(sid, Date.now()) as string | undefined;
        process.nextTick(callback, null, data === undefined ? null : JSON.parse(data));
      },
      set(sid, sess, callback) {
        const now = Date.now();
        set.run(sid, JSON.stringify(sess), expiryOf(sess, now), userIdOf(sess), now, now);
        process.nextTick(callback, null);
      },
      touch(sid, sess, callback) {
        const now = Date.now();
        touch.run(expiryOf(sess, now), now, sid, now);
        process.nextTick(callback, null);
      },
      destroy(sid, callback) {
        destroy.run(sid);
        process.nextTick(callback, null);
      },
    };
    return { store, sessionStore: new CallbackSessionStore(store), close: async () => void db.close() };
  },
};

/** jsonb arrives as text and is parsed once, as sessionsql does. */
const jsonAsText = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 114 || oid === 3802) return (value: string) => value;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** pg with sessionsql's statements as named prepared statements, on a pool of the same size. */
const rawPostgres: Contender = {
  id: 'limit-pg',
  label: 'limit: raw pg (prepared)',
  database: 'postgres',
  role: 'limit',
  async open(env, name) {
    const schemaOwner = new PostgresSessionStore({
      connectionString: env.postgresUrl,
      schemaName: env.schema,
      tableName: name,
      pruneIntervalMs: false,
    });
    await schemaOwner.migrate();
    await schemaOwner.close();
    const pool = new pg.Pool({ connectionString: env.postgresUrl, max: POOL_SIZE });
    const t = `"${env.schema}"."${name}"`;
    const statement = (label: string, text: string) => ({ name: `bench_${name}_${label}`, text, types: jsonAsText });
    const get = statement('get', `select "data" from ${t} where "id" = $1 and "expires_at" > $2`);
    const set = statement(
      'set',
      `insert into ${t} ("id", "data", "expires_at", "user_id", "created_at", "updated_at") values ($1, $2, $3, $4, $5, $6) on conflict ("id") do update set "data" = "excluded"."data", "expires_at" = "excluded"."expires_at", "user_id" = "excluded"."user_id", "updated_at" = "excluded"."updated_at", "created_at" = case when ${t}."expires_at" <= "excluded"."updated_at" then "excluded"."created_at" else ${t}."created_at" end`,
    );
    const touch = statement(
      'touch',
      `update ${t} set "expires_at" = $1, "updated_at" = $2 where "id" = $3 and "expires_at" > $4`,
    );
    const destroy = statement('destroy', `delete from ${t} where "id" = $1`);
    const store: CallbackStore = {
      get(sid, callback) {
        pool.query({ ...get, values: [sid, new Date()] }).then(
          (r) => callback(null, r.rows.length === 0 ? null : JSON.parse(r.rows[0].data)),
          (e) => callback(e),
        );
      },
      set(sid, sess, callback) {
        const now = Date.now();
        const at = new Date(now);
        pool
          .query({ ...set, values: [sid, JSON.stringify(sess), new Date(expiryOf(sess, now)), userIdOf(sess), at, at] })
          .then(
            () => callback(null),
            (e) => callback(e),
          );
      },
      touch(sid, sess, callback) {
        const now = Date.now();
        const at = new Date(now);
        pool.query({ ...touch, values: [new Date(expiryOf(sess, now)), at, sid, at] }).then(
          () => callback(null),
          (e) => callback(e),
        );
      },
      destroy(sid, callback) {
        pool.query({ ...destroy, values: [sid] }).then(
          () => callback(null),
          (e) => callback(e),
        );
      },
    };
    return { store, sessionStore: new CallbackSessionStore(store), close: () => pool.end() };
  },
};

const pgSimple: Contender = {
  id: 'connect-pg-simple',
  label: 'connect-pg-simple 10',
  database: 'postgres',
  role: 'peer',
  async open(env, name) {
    const PgStore = connectPgSimple(session);
    const pool = new pg.Pool({ connectionString: env.postgresUrl, max: POOL_SIZE });
    // Its own table.sql, with the constraint and index named per table: createTableIfMissing
    // names them "session_pkey" and "IDX_session_expire", so a second table in one schema fails.
    const t = `"${env.schema}"."${name}"`;
    await pool.query(
      `create table if not exists ${t} ("sid" varchar not null collate "default", "sess" json not null, "expire" timestamp(6) not null, constraint "${name}_pkey" primary key ("sid"));
       create index if not exists "${name}_expire_idx" on ${t} ("expire")`,
    );
    const store = new PgStore({ pool, schemaName: env.schema, tableName: name, pruneSessionInterval: false });
    return {
      store: store as unknown as CallbackStore,
      sessionStore: store,
      close: async () => {
        store.close();
        await pool.end();
      },
    };
  },
};

/** connect-session-knex's promise also rejects when it has called back with the error; the callback is what counts. */
function knexStore(store: ConnectSessionKnexStore): CallbackStore {
  const quiet = (p: Promise<unknown>) => void p.catch(() => undefined);
  return {
    get: (sid, cb) => quiet(store.get(sid, cb)),
    set: (sid, sess, cb) => quiet(store.set(sid, sess, cb)),
    touch: (sid, sess, cb) => quiet(store.touch(sid, sess, () => cb(null))),
    destroy: (sid, cb) => quiet(store.destroy(sid, cb)),
  };
}

const knexPostgres: Contender = {
  id: 'connect-session-knex-pg',
  label: 'connect-session-knex 5 (pg)',
  database: 'postgres',
  role: 'peer',
  async open(env, name) {
    const db = knex({
      client: 'pg',
      connection: env.postgresUrl,
      searchPath: [env.schema],
      pool: { min: 0, max: POOL_SIZE },
    });
    const store = new ConnectSessionKnexStore({ knex: db, tableName: name, cleanupInterval: 0 });
    await store.ready;
    return { store: knexStore(store), sessionStore: store, close: () => db.destroy() };
  },
};

const knexSqlite: Contender = {
  id: 'connect-session-knex-sqlite',
  label: 'connect-session-knex 5 (SQLite)',
  database: 'sqlite',
  role: 'peer',
  async open(env, name) {
    const db = knex({
      client: 'better-sqlite3',
      connection: { filename: join(env.dir, `${name}.sqlite`) },
      useNullAsDefault: true,
      pool: {
        afterCreate: (conn: Database.Database, done: (error: unknown, conn: unknown) => void) => {
          conn.pragma('journal_mode = WAL');
          conn.pragma('synchronous = NORMAL');
          done(null, conn);
        },
      },
    });
    const store = new ConnectSessionKnexStore({ knex: db, tableName: name, cleanupInterval: 0 });
    await store.ready;
    return { store: knexStore(store), sessionStore: store, close: () => db.destroy() };
  },
};

const betterSqlite3SessionStore: Contender = {
  id: 'better-sqlite3-session-store',
  label: 'better-sqlite3-session-store 0.1',
  database: 'sqlite',
  role: 'peer',
  async open(env, name) {
    const SqliteStore = require('better-sqlite3-session-store')(session);
    const db = openSqlite(join(env.dir, `${name}.sqlite`));
    // It always starts an interval of its own (15 min, not unref'd); the run exits explicitly.
    const store = new SqliteStore({ client: db, expired: { clear: false, intervalMs: 2_147_483_647 } });
    return { store, sessionStore: store, close: async () => void db.close() };
  },
};

const memory: Contender = {
  id: 'memorystore',
  label: "express-session's MemoryStore",
  database: 'memory',
  role: 'ceiling',
  async open() {
    const store = new session.MemoryStore();
    return { store: store as unknown as CallbackStore, sessionStore: store, close: async () => undefined };
  },
};

/** Every contender, in the order tables list them. */
export const CONTENDERS: readonly Contender[] = [
  sessionsqlSqlite,
  rawSqlite,
  betterSqlite3SessionStore,
  knexSqlite,
  sessionsqlPostgres,
  rawPostgres,
  pgSimple,
  knexPostgres,
  memory,
];

export function contenderById(id: string): Contender {
  const found = CONTENDERS.find((c) => c.id === id);
  if (!found) throw new Error(`unknown contender ${id}; known: ${CONTENDERS.map((c) => c.id).join(', ')}`);
  return found;
}
