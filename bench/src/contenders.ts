/**
 * Every store the benchmarks compare, opened on its own table (PostgreSQL) or file (SQLite).
 * Each is used through express-session's callback API, the way express-session calls it.
 *
 * The limit rows are no store at all (limit-contenders.ts): the raw driver running sessionsql's
 * own statements, and the raw driver on the minimal table any store needs.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { PostgresSessionStore } from '@sessionsql/postgres';
import { SqliteSessionStore } from '@sessionsql/sqlite';
import type Database from 'better-sqlite3';
import connectPgSimple from 'connect-pg-simple';
import { ConnectSessionKnexStore } from 'connect-session-knex';
import session from 'express-session';
import knex from 'knex';
import pg from 'pg';
import { type CallbackStore, type Contender, openSqlite, POOL_SIZE } from './contender-kit.js';
import { minimalPostgres, minimalSqlite, rawPostgres, rawSqlite } from './limit-contenders.js';

const require = createRequire(import.meta.url);

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

/** sessionsql on PostgreSQL with one statement per operation (`coalesceStatements: false`): today's behaviour, side by side. */
const sessionsqlPostgresOneByOne: Contender = {
  id: 'sessionsql-pg-one-by-one',
  label: 'sessionsql (PostgreSQL), coalesceStatements: false',
  database: 'postgres',
  role: 'sessionsql',
  storeOnly: true,
  async open(env, name) {
    const store = new PostgresSessionStore({
      connectionString: env.postgresUrl,
      schemaName: env.schema,
      tableName: name,
      poolConfig: { max: POOL_SIZE },
      pruneIntervalMs: false,
      coalesceStatements: false,
    });
    await store.ready();
    return { store, sessionStore: store, close: () => store.close() };
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
  minimalSqlite,
  betterSqlite3SessionStore,
  knexSqlite,
  sessionsqlPostgres,
  sessionsqlPostgresOneByOne,
  rawPostgres,
  minimalPostgres,
  pgSimple,
  knexPostgres,
  memory,
];

export function contenderById(id: string): Contender {
  const found = CONTENDERS.find((c) => c.id === id);
  if (!found) throw new Error(`unknown contender ${id}; known: ${CONTENDERS.map((c) => c.id).join(', ')}`);
  return found;
}
