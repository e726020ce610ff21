/**
 * The limit rows: no store at all, the raw driver with statements prepared once, plus the JSON
 * encoding and the callback every store needs.
 *
 * - `limit-*` runs sessionsql's own statements on sessionsql's table (raw ids, no hashing): a
 *   store cannot beat it on that driver; how close sessionsql gets is what its code costs.
 * - `minimal-*` runs the fewest statements on the smallest table any store needs (id primary
 *   key, data, expiry with an index): how close sessionsql gets is what its schema and its
 *   features (users, times, hashed ids) cost as well.
 */
import { join } from 'node:path';
import { PostgresSessionStore } from '@sessionsql/postgres';
import { SqliteSessionStore } from '@sessionsql/sqlite';
import type Database from 'better-sqlite3';
import type { SessionData } from 'express-session';
import pg from 'pg';
import {
  CallbackSessionStore,
  type CallbackStore,
  type Contender,
  expiryOf,
  openSqlite,
  POOL_SIZE,
  userIdOf,
} from './contender-kit.js';

/**
 * Values of the set and touch statements of one limit row, from the session and the time: the
 * raw-driver row binds sessionsql's columns, the minimal row only id, data and expiry.
 */
interface StatementValues<Time> {
  set(sid: string, sess: SessionData, now: number, time: (ms: number) => Time): unknown[];
  touch(sid: string, sess: SessionData, now: number, time: (ms: number) => Time): unknown[];
}

/** The four calls over prepared better-sqlite3 statements (`get` plucks the data column). */
function sqliteStore(
  statements: Record<'get' | 'set' | 'touch' | 'destroy', Database.Statement>,
  values: StatementValues<number>,
): CallbackStore {
  const ms = (value: number) => value;
  return {
    get(sid, callback) {
      const data = statements.get.get(sid, Date.now()) as string | undefined;
      process.nextTick(callback, null, data === undefined ? null : JSON.parse(data));
    },
    set(sid, sess, callback) {
      statements.set.run(...values.set(sid, sess, Date.now(), ms));
      process.nextTick(callback, null);
    },
    touch(sid, sess, callback) {
      statements.touch.run(...values.touch(sid, sess, Date.now(), ms));
      process.nextTick(callback, null);
    },
    destroy(sid, callback) {
      statements.destroy.run(sid);
      process.nextTick(callback, null);
    },
  };
}

/** JSON arrives as text and is parsed once, as sessionsql does. */
const jsonAsText = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 114 || oid === 3802) return (value: string) => value;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** The four calls over named prepared statements on `pool` (`name` keeps them apart per table). */
function postgresStore(
  pool: pg.Pool,
  name: string,
  sql: Record<'get' | 'set' | 'touch' | 'destroy', string>,
  values: StatementValues<Date>,
): CallbackStore {
  const statement = (label: keyof typeof sql) => ({
    name: `bench_${name}_${label}`,
    text: sql[label],
    types: jsonAsText,
  });
  const [get, set, touch, destroy] = (['get', 'set', 'touch', 'destroy'] as const).map(statement) as [
    ReturnType<typeof statement>,
    ReturnType<typeof statement>,
    ReturnType<typeof statement>,
    ReturnType<typeof statement>,
  ];
  const date = (ms: number) => new Date(ms);
  const run = (query: { name: string; text: string }, args: unknown[], callback: (error: unknown) => void) =>
    void pool.query({ ...query, values: args }).then(
      () => callback(null),
      (e: unknown) => callback(e),
    );
  return {
    get(sid, callback) {
      pool.query({ ...get, values: [sid, new Date()] }).then(
        (r) => callback(null, r.rows.length === 0 ? null : JSON.parse(r.rows[0].data)),
        (e) => callback(e),
      );
    },
    set: (sid, sess, callback) => run(set, values.set(sid, sess, Date.now(), date), callback),
    touch: (sid, sess, callback) => run(touch, values.touch(sid, sess, Date.now(), date), callback),
    destroy: (sid, callback) => run(destroy, [sid], callback),
  };
}

/** sessionsql's columns: id, data, expiry, user, created, updated. */
function sessionsqlValues<Time>(): StatementValues<Time> {
  return {
    set: (sid, sess, now, time) => [
      sid,
      JSON.stringify(sess),
      time(expiryOf(sess, now)),
      userIdOf(sess),
      time(now),
      time(now),
    ],
    touch: (sid, sess, now, time) => [time(expiryOf(sess, now)), time(now), sid, time(now)],
  };
}

/** The minimal table's columns: id, data, expiry. */
function minimalValues<Time>(): StatementValues<Time> {
  return {
    set: (sid, sess, now, time) => [sid, JSON.stringify(sess), time(expiryOf(sess, now))],
    touch: (sid, sess, now, time) => [time(expiryOf(sess, now)), sid, time(now)],
  };
}

/** sessionsql's upsert, as its statement compiles (`t` the quoted table). */
const sessionsqlUpsert = (t: string, p: (n: number) => string) =>
  `insert into ${t} ("id", "data", "expires_at", "user_id", "created_at", "updated_at") values (${[1, 2, 3, 4, 5, 6].map(p).join(', ')}) on conflict ("id") do update set "data" = "excluded"."data", "expires_at" = "excluded"."expires_at", "user_id" = "excluded"."user_id", "updated_at" = "excluded"."updated_at", "created_at" = case when ${t}."expires_at" <= "excluded"."updated_at" then "excluded"."created_at" else ${t}."created_at" end`;

/** better-sqlite3 with sessionsql's statements, prepared once, on sessionsql's table. */
export const rawSqlite: Contender = {
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
    const store = sqliteStore(
      {
        get: db.prepare(`select "data" from ${t} where "id" = ? and "expires_at" > ?`).pluck(),
        set: db.prepare(sessionsqlUpsert(t, () => '?')),
        touch: db.prepare(`update ${t} set "expires_at" = ?, "updated_at" = ? where "id" = ? and "expires_at" > ?`),
        destroy: db.prepare(`delete from ${t} where "id" = ?`),
      },
      sessionsqlValues(),
    );
    return { store, sessionStore: new CallbackSessionStore(store), close: async () => void db.close() };
  },
};

/** pg with sessionsql's statements as named prepared statements, on a pool of the same size. */
export const rawPostgres: Contender = {
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
    const store = postgresStore(
      pool,
      name,
      {
        get: `select "data" from ${t} where "id" = $1 and "expires_at" > $2`,
        set: sessionsqlUpsert(t, (n) => `$${n}`),
        touch: `update ${t} set "expires_at" = $1, "updated_at" = $2 where "id" = $3 and "expires_at" > $4`,
        destroy: `delete from ${t} where "id" = $1`,
      },
      sessionsqlValues(),
    );
    return { store, sessionStore: new CallbackSessionStore(store), close: () => pool.end() };
  },
};

/** better-sqlite3 on the minimal table: id, data, expiry (indexed). */
export const minimalSqlite: Contender = {
  id: 'minimal-better-sqlite3',
  label: 'limit: minimal store, better-sqlite3',
  database: 'sqlite',
  role: 'limit',
  async open(env, name) {
    const db = openSqlite(join(env.dir, `${name}.sqlite`));
    const t = `"${name}"`;
    db.exec(
      `create table if not exists ${t} ("id" text primary key, "data" text not null, "expires_at" integer not null);
       create index if not exists "${name}_expires_at_idx" on ${t} ("expires_at")`,
    );
    const store = sqliteStore(
      {
        get: db.prepare(`select "data" from ${t} where "id" = ? and "expires_at" > ?`).pluck(),
        set: db.prepare(
          `insert into ${t} ("id", "data", "expires_at") values (?, ?, ?) on conflict ("id") do update set "data" = "excluded"."data", "expires_at" = "excluded"."expires_at"`,
        ),
        touch: db.prepare(`update ${t} set "expires_at" = ? where "id" = ? and "expires_at" > ?`),
        destroy: db.prepare(`delete from ${t} where "id" = ?`),
      },
      minimalValues(),
    );
    return { store, sessionStore: new CallbackSessionStore(store), close: async () => void db.close() };
  },
};

/** pg on the minimal table (json data, as sessionsql's and connect-pg-simple's), named prepared statements, same pool size. */
export const minimalPostgres: Contender = {
  id: 'minimal-pg',
  label: 'limit: minimal store, pg',
  database: 'postgres',
  role: 'limit',
  async open(env, name) {
    const pool = new pg.Pool({ connectionString: env.postgresUrl, max: POOL_SIZE });
    const t = `"${env.schema}"."${name}"`;
    await pool.query(`create schema if not exists "${env.schema}"`);
    await pool.query(
      `create table if not exists ${t} ("id" text primary key, "data" json not null, "expires_at" timestamptz not null);
       create index if not exists "${name}_expires_at_idx" on ${t} ("expires_at")`,
    );
    const store = postgresStore(
      pool,
      name,
      {
        get: `select "data" from ${t} where "id" = $1 and "expires_at" > $2`,
        set: `insert into ${t} ("id", "data", "expires_at") values ($1, $2, $3) on conflict ("id") do update set "data" = "excluded"."data", "expires_at" = "excluded"."expires_at"`,
        touch: `update ${t} set "expires_at" = $1 where "id" = $2 and "expires_at" > $3`,
        destroy: `delete from ${t} where "id" = $1`,
      },
      minimalValues(),
    );
    return { store, sessionStore: new CallbackSessionStore(store), close: () => pool.end() };
  },
};
