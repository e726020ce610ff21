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
    const get = db.prepare(`select "data" from ${t} where "id" = ? and "expires_at" > ?`).pluck();
    const set = db.prepare(
      `insert into ${t} ("id", "data", "expires_at") values (?, ?, ?) on conflict ("id") do update set "data" = "excluded"."data", "expires_at" = "excluded"."expires_at"`,
    );
    const touch = db.prepare(`update ${t} set "expires_at" = ? where "id" = ? and "expires_at" > ?`);
    const destroy = db.prepare(`delete from ${t} where "id" = ?`);
    const store: CallbackStore = {
      get(sid, callback) {
        const data = get.get(sid, Date.now()) as string | undefined;
        process.nextTick(callback, null, data === undefined ? null : JSON.parse(data));
      },
      set(sid, sess, callback) {
        set.run(sid, JSON.stringify(sess), expiryOf(sess, Date.now()));
        process.nextTick(callback, null);
      },
      touch(sid, sess, callback) {
        const now = Date.now();
        touch.run(expiryOf(sess, now), sid, now);
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

/** pg on the minimal table (jsonb data, as sessionsql's), named prepared statements, same pool size. */
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
      `create table if not exists ${t} ("id" text primary key, "data" jsonb not null, "expires_at" timestamptz not null);
       create index if not exists "${name}_expires_at_idx" on ${t} ("expires_at")`,
    );
    const statement = (label: string, text: string) => ({ name: `bench_${name}_${label}`, text, types: jsonAsText });
    const get = statement('get', `select "data" from ${t} where "id" = $1 and "expires_at" > $2`);
    const set = statement(
      'set',
      `insert into ${t} ("id", "data", "expires_at") values ($1, $2, $3) on conflict ("id") do update set "data" = "excluded"."data", "expires_at" = "excluded"."expires_at"`,
    );
    const touch = statement('touch', `update ${t} set "expires_at" = $1 where "id" = $2 and "expires_at" > $3`);
    const destroy = statement('destroy', `delete from ${t} where "id" = $1`);
    const done = (callback: (error: unknown) => void) => [() => callback(null), (e: unknown) => callback(e)] as const;
    const store: CallbackStore = {
      get(sid, callback) {
        pool.query({ ...get, values: [sid, new Date()] }).then(
          (r) => callback(null, r.rows.length === 0 ? null : JSON.parse(r.rows[0].data)),
          (e) => callback(e),
        );
      },
      set(sid, sess, callback) {
        pool
          .query({ ...set, values: [sid, JSON.stringify(sess), new Date(expiryOf(sess, Date.now()))] })
          .then(...done(callback));
      },
      touch(sid, sess, callback) {
        const now = Date.now();
        pool.query({ ...touch, values: [new Date(expiryOf(sess, now)), sid, new Date(now)] }).then(...done(callback));
      },
      destroy(sid, callback) {
        pool.query({ ...destroy, values: [sid] }).then(...done(callback));
      },
    };
    return { store, sessionStore: new CallbackSessionStore(store), close: () => pool.end() };
  },
};
