/** What only one dialect has: SQLite files and handles, PostgreSQL pools and advisory locks. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  ExpressSessionStore,
  type LockOutcome,
  type PreparedQuery,
  type SessionBackend,
  type SessionStoreError,
} from '@sessionsql/core';
import { PostgresSessionStore } from '@sessionsql/postgres';
import { createSqliteBackend, SqliteSessionStore } from '@sessionsql/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { selectedDialects } from './dialects.js';
import { advisoryKey, session } from './store-suite.js';

const run = promisify(execFile);
const dialects = selectedDialects();

/** Starts `count` processes at once that each open a store on the same new table and migrate it. */
async function migrateFromProcesses(count: number, storeExpression: string) {
  const script = `
    const { SqliteSessionStore } = require('@sessionsql/sqlite');
    const { PostgresSessionStore } = require('@sessionsql/postgres');
    const store = ${storeExpression};
    store.ready().then(() => store.set('p' + process.pid, { cookie: {} })).then(() => store.close())
      .then(() => console.log('up'), (e) => { console.error(e); process.exit(1); });`;
  return Promise.all(
    Array.from({ length: count }, () => run(process.execPath, ['-e', script], { cwd: process.cwd() })),
  );
}

describe.runIf(dialects.includes('sqlite-file'))('sqlite-file: files and handles', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sessionsql-sqlite-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('opens a file it creates in WAL mode with a busy timeout, and closes it', async () => {
    const file = join(dir, 'wal.sqlite');
    const store = new SqliteSessionStore({ database: file, pruneIntervalMs: false });
    await store.set('a', session());
    await store.close();
    const db = new Database(file);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.prepare('select count(*) as n from sessions').get()).toEqual({ n: 1 });
    db.close();
  });

  it('leaves a Database handle passed in open after close()', async () => {
    const db = new Database(join(dir, 'handle.sqlite'));
    const store = new SqliteSessionStore({ database: db, pruneIntervalMs: false });
    await store.set('a', session());
    await store.close();
    expect(db.open).toBe(true);
    expect(db.prepare('select count(*) as n from sessions').get()).toEqual({ n: 1 });
    db.close();
  });

  it('serves callback calls through a backend written as a class (methods called on their object)', async () => {
    const inner = createSqliteBackend(join(dir, 'class-backend.sqlite'));
    /** A backend whose methods need `this`, as any class-based dialect's would. */
    class ClassBackend implements SessionBackend {
      readonly name = inner.name;
      readonly location = inner.location;
      readonly schema = inner.schema;
      readonly db = inner.db;
      readonly columnTypes = inner.columnTypes;
      readonly partialIndexes = inner.partialIndexes;
      readonly #inner = inner;
      encodeTime(ms: number) {
        return this.#inner.encodeTime(ms);
      }
      execute<Row>(query: PreparedQuery, values: readonly unknown[]) {
        return this.#inner.execute<Row>(query, values);
      }
      executeSync<Row>(query: PreparedQuery, values: readonly unknown[]) {
        return this.#inner.executeSync!<Row>(query, values);
      }
      withLock<T>(name: string, wait: boolean, task: Parameters<SessionBackend['withLock']>[2]) {
        return this.#inner.withLock(name, wait, task) as Promise<LockOutcome<T>>;
      }
      onBackgroundError(report: (error: unknown) => void) {
        this.#inner.onBackgroundError(report);
      }
      isDataRejection(error: unknown) {
        return this.#inner.isDataRejection(error);
      }
      isConnectionError(error: unknown) {
        return this.#inner.isConnectionError(error);
      }
      close() {
        return this.#inner.close();
      }
    }
    const store = new ExpressSessionStore(new ClassBackend(), { pruneIntervalMs: false });
    await store.ready();
    const viaCallback = <T>(call: (cb: (err: unknown, value?: T) => void) => void) =>
      new Promise<{ err: unknown; value?: T }>((resolve) => call((err, value) => resolve({ err, value })));
    expect((await viaCallback((cb) => store.set('c', session({ v: 1 }), cb))).err).toBeNull();
    const got = await viaCallback((cb) => store.get('c', cb));
    expect(got.err).toBeNull();
    expect(got.value).toMatchObject({ v: 1 });
    expect((await viaCallback((cb) => store.destroy('c', cb))).err).toBeNull();
    expect((await viaCallback((cb) => store.get('c', cb))).value).toBeNull();
    await store.close();
  });

  it('with touchAfter, a read and its touch run one statement; without it, two', async () => {
    const statements: string[] = [];
    const db = new Database(join(dir, 'touch-after.sqlite'), { verbose: (sql) => statements.push(String(sql)) });
    const lazy = new SqliteSessionStore({
      database: db,
      tableName: 'lazy',
      touchAfterMs: 60_000,
      pruneIntervalMs: false,
    });
    const eager = new SqliteSessionStore({ database: db, tableName: 'eager', pruneIntervalMs: false });
    for (const store of [lazy, eager]) {
      await store.set('r', session({ v: 1 }));
      statements.length = 0;
      expect(await store.get('r')).toMatchObject({ v: 1 });
      await store.touch('r', session({ v: 1 }));
      expect(
        statements.map((sql) => sql.split(' ')[0]),
        store === lazy ? 'lazy' : 'eager',
      ).toEqual(store === lazy ? ['select'] : ['select', 'update']);
      await store.close();
    }
    db.close();
  });

  it('a save that keeps the loaded user leaves user_id out; another process changing the user meanwhile sets it', async () => {
    const statements: string[] = [];
    const file = join(dir, 'keeps-user.sqlite');
    const db = new Database(file, { verbose: (sql) => statements.push(String(sql)) });
    const store = new SqliteSessionStore({ database: db, tableName: 'keeps', pruneIntervalMs: false });
    const elsewhere = new SqliteSessionStore({ database: file, tableName: 'keeps', pruneIntervalMs: false });
    const updates = () => statements.filter((sql) => sql.startsWith('update'));
    const setsUser = (sql: string) => /set .*"user_id" =/.test(sql);
    await store.set('k', session({ userId: 'alice', v: 1 }));
    await store.get('k');
    statements.length = 0;
    await store.set('k', session({ userId: 'alice', v: 2 }));
    expect(updates().map(setsUser)).toEqual([false]);
    // Signed out in another process: the save that keeps alice changes no row, then sets her.
    await elsewhere.get('k');
    await elsewhere.set('k', session({ v: 3 }));
    statements.length = 0;
    await store.set('k', session({ userId: 'alice', v: 4 }));
    expect(updates().map(setsUser)).toEqual([false, true]);
    expect(await elsewhere.get('k')).toMatchObject({ userId: 'alice', v: 4 });
    expect(await elsewhere.listSessionHandlesForUser('alice')).toEqual([store.handleOf('k')]);
    // A save that changes the user sets it at once.
    statements.length = 0;
    await store.set('k', session({ v: 5 }));
    expect(updates().map(setsUser)).toEqual([true]);
    expect(await elsewhere.countSessionsForUser('alice')).toBe(0);
    await store.close();
    await elsewhere.close();
    db.close();
  });

  it('fails clearly when the file cannot be opened', () => {
    expect(() => new SqliteSessionStore({ database: join(dir, 'missing-dir', 'x.sqlite') })).toThrow(
      /cannot open the SQLite database .*missing-dir.*directory exists/,
    );
  });

  it('rejects a database option that is not a path or a handle', () => {
    expect(() => new SqliteSessionStore({ database: 42 as unknown as string })).toThrow(TypeError);
    expect(() => new SqliteSessionStore({ database: '' })).toThrow(TypeError);
    expect(() => new SqliteSessionStore(undefined as unknown as { database: string })).toThrow(TypeError);
  });

  it('two processes starting at once on one new file both come up', async () => {
    const file = join(dir, 'race.sqlite');
    const outputs = await migrateFromProcesses(
      3,
      `new SqliteSessionStore({ database: ${JSON.stringify(file)}, pruneIntervalMs: false })`,
    );
    expect(outputs.map((o) => o.stdout.trim())).toEqual(['up', 'up', 'up']);
    const db = new Database(file);
    expect(db.prepare('select count(*) as n from sessions').get()).toEqual({ n: 3 });
    db.close();
  });
});

describe.runIf(dialects.includes('postgres'))('postgres: pools, schemas and locks', () => {
  let url = '';
  let admin: pg.Pool;
  const schema = `test_pg_${process.pid}_${Date.now().toString(36)}`;
  beforeAll(() => {
    url = inject('postgresUrl');
    admin = new pg.Pool({ connectionString: url, max: 3 });
    admin.on('error', () => undefined);
  });
  afterAll(async () => {
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });

  it('creates the schema, and leaves a pool passed in open after close()', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const store = new PostgresSessionStore({ pool, schemaName: schema, tableName: 'own_pool', pruneIntervalMs: false });
    await store.set('a', session());
    await store.close();
    const { rows } = await pool.query(`select count(*)::int as n from "${schema}".own_pool`);
    expect(rows).toEqual([{ n: 1 }]);
    await pool.end();
  });

  it('with touchAfter, a read and its touch run one statement; without it, two', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    const statements: string[] = [];
    // Every statement the store sends, on whichever pooled connection it runs.
    pool.on('connect', (client) => {
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: unknown }).query = (config: { text?: string }, ...rest: unknown[]) => {
        statements.push(typeof config === 'string' ? config : String(config.text));
        return query(config, ...rest);
      };
    });
    for (const touchAfterMs of [60_000, 0]) {
      const store = new PostgresSessionStore({
        pool,
        schemaName: schema,
        tableName: `touch_after_${touchAfterMs}`,
        touchAfterMs,
        pruneIntervalMs: false,
      });
      await store.set('r', session({ v: 1 }));
      statements.length = 0;
      expect(await store.get('r')).toMatchObject({ v: 1 });
      await store.touch('r', session({ v: 1 }));
      expect(statements.map((sql) => sql.split(' ')[0])).toEqual(touchAfterMs ? ['select'] : ['select', 'update']);
      await store.close();
    }
    await pool.end();
  });

  it('works on a pool of one connection, migrations and pruning included', async () => {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const store = new PostgresSessionStore({
      pool,
      schemaName: schema,
      tableName: 'tiny_pool',
      pruneIntervalMs: false,
    });
    await store.set('old', session({}, Date.now() - 1));
    await store.set('new', session());
    expect(await store.deleteExpired()).toBe(1);
    expect(await store.length()).toBe(1);
    await store.close();
    await pool.end();
  });

  it('prunes on one instance at a time: a held prune lock makes deleteExpired skip', async () => {
    const store = new PostgresSessionStore({
      connectionString: url,
      schemaName: schema,
      tableName: 'locked',
      pruneIntervalMs: false,
    });
    await store.set('old', session({}, Date.now() - 1));
    const holder = await admin.connect();
    try {
      await holder.query('select pg_advisory_lock($1::bigint)', [advisoryKey(`sessionsql:${schema}.locked:prune`)]);
      expect(await store.deleteExpired()).toBe(0);
      await holder.query('select pg_advisory_unlock($1::bigint)', [advisoryKey(`sessionsql:${schema}.locked:prune`)]);
      expect(await store.deleteExpired()).toBe(1);
    } finally {
      holder.release();
      await store.close();
    }
  });

  it('survives the server dropping idle connections and reports it', async () => {
    const errors: SessionStoreError[] = [];
    const store = new PostgresSessionStore({
      connectionString: url,
      schemaName: schema,
      tableName: 'dropped',
      pruneIntervalMs: false,
      onError: (e) => errors.push(e),
    });
    await store.set('a', session());
    await admin.query(
      `select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'sessionsql-drop-test' or (datname = current_database() and pid <> pg_backend_pid() and state = 'idle' and backend_type = 'client backend' and query like '%dropped%')`,
    );
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0));
    expect(errors[0]!.code).toBe('CONNECTION_FAILED');
    expect(await store.get('a')).not.toBeNull();
    await store.close();
  });

  it('two processes starting at once on one new table both come up', async () => {
    const outputs = await migrateFromProcesses(
      3,
      `new PostgresSessionStore({ connectionString: ${JSON.stringify(url)}, schemaName: ${JSON.stringify(`${schema}_race`)}, pruneIntervalMs: false })`,
    );
    expect(outputs.map((o) => o.stdout.trim())).toEqual(['up', 'up', 'up']);
    const { rows } = await admin.query(`select count(*)::int as n from "${schema}_race".sessions`);
    expect(rows).toEqual([{ n: 3 }]);
    await admin.query(`drop schema "${schema}_race" cascade`);
  });

  it('validates pool, connectionString and schemaName in the constructor', () => {
    expect(() => new PostgresSessionStore({})).toThrow(/exactly one of `pool`.*`connectionString`/);
    expect(() => new PostgresSessionStore({ connectionString: url, pool: admin })).toThrow(TypeError);
    expect(() => new PostgresSessionStore({ connectionString: '' })).toThrow(TypeError);
    expect(() => new PostgresSessionStore({ pool: {} as pg.Pool })).toThrow(/pg.Pool/);
    expect(() => new PostgresSessionStore({ connectionString: url, schemaName: 'x"; drop' })).toThrow(/schemaName/);
  });
});
