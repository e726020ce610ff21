/**
 * One harness per dialect: each test gets its own table (and, on PostgreSQL, each file its own
 * schema) so that files and tests never see each other's rows. Dialects are rows of
 * {@link HARNESSES}; a new dialect adds one row there (and its name in dialects-env.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExpressSessionStore, SessionBackend, SessionStoreOptions } from '@sessionsql/core';
import { createPostgresBackend, PostgresSessionStore } from '@sessionsql/postgres';
import { createSqliteBackend, SqliteSessionStore } from '@sessionsql/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, beforeEach, inject } from 'vitest';
import { type DialectName, selectedDialects } from './dialects-env.js';

export { type DialectName, selectedDialects };

export interface StoreHarness {
  readonly dialect: DialectName;
  /** Name of this test's table, and the same qualified for raw SQL. */
  readonly table: string;
  readonly qualifiedTable: string;
  /** Creates an express-session store on this test's table; every store is closed after the test. */
  createStore(options?: SessionStoreOptions & Record<string, unknown>): ExpressSessionStore;
  /**
   * Opens a backend on this test's database (pass `tableName: h().table` to the store built
   * on it); closed after the test.
   */
  createBackend(): SessionBackend;
  /** Runs raw SQL for setup and checks (`?` placeholders are turned into `$n` on PostgreSQL). */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Inserts `count` rows directly, ids `${prefix}${i}`, all with the same expiry. */
  insertRows(count: number, expiresAt: number, prefix?: string, userId?: string | null): Promise<void>;
  /** The table's indexes but its primary key, each as `name(column, …)`, then ` partial` for a partial one, by name. */
  indexes(): Promise<string[]>;
}

/** What a dialect's row builds for one test. */
interface TestDatabase {
  readonly qualifiedTable: string;
  createStore(options: SessionStoreOptions & Record<string, unknown>): ExpressSessionStore;
  createBackend(): SessionBackend;
  query<Row>(text: string, params: unknown[]): Promise<Row[]>;
  insertRows(count: number, expiresAt: number, prefix: string, userId: string | null): Promise<void>;
  indexes(): Promise<string[]>;
  close(): Promise<void> | void;
}

/** One dialect's test setup: `file` runs once per test file, `test` once per test. */
interface DialectHarness<FileState> {
  file(): Promise<FileState>;
  test(state: FileState, table: string): TestDatabase;
  closeFile(state: FileState): Promise<void> | void;
}

let counter = 0;
const uniq = () => `${process.pid}_${Date.now().toString(36)}_${counter++}`;

function sqliteHarness(onFile: boolean): DialectHarness<string> {
  return {
    file: async () => (onFile ? mkdtempSync(join(tmpdir(), 'sessionsql-test-')) : ''),
    closeFile: (dir) => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
    test(dir, table) {
      const db = onFile ? new Database(join(dir, `${table}.sqlite`)) : new Database(':memory:');
      const database = onFile ? db.name : db;
      return {
        qualifiedTable: `"${table}"`,
        createStore: (options) =>
          new SqliteSessionStore({ database, tableName: table, pruneIntervalMs: false, ...options }),
        createBackend: () => createSqliteBackend(database),
        query: async <Row>(text: string, params: unknown[]) => {
          const statement = db.prepare(text);
          if (statement.reader) return statement.all(...params) as Row[];
          statement.run(...params);
          return [];
        },
        async insertRows(count, expiresAt, prefix, userId) {
          db.prepare(
            `with recursive c(i) as (select 1 union all select i + 1 from c where i < ?)
             insert into "${table}" (id, data, expires_at, user_id, created_at, updated_at)
             select ? || i, '{"cookie":{}}', ?, ?, ?, ? from c`,
          ).run(count, prefix, expiresAt, userId, Date.now(), Date.now());
        },
        indexes: async () =>
          (
            db
              .prepare(
                "select name, sql from sqlite_master where type = 'index' and tbl_name = ? and sql is not null order by name",
              )
              .all(table) as { name: string; sql: string }[]
          ).map(({ name, sql }) => {
            const columns = db.prepare('select name from pragma_index_info(?) order by seqno').pluck().all(name);
            return `${name}(${columns.join(', ')})${/\swhere\s/i.test(sql) ? ' partial' : ''}`;
          }),
        close: () => {
          db.close();
        },
      };
    },
  };
}

const postgresHarness: DialectHarness<{ url: string; schema: string; admin: pg.Pool }> = {
  async file() {
    const url = inject('postgresUrl');
    if (!url) throw new Error('No PostgreSQL URL was provided by the global setup.');
    const admin = new pg.Pool({ connectionString: url, max: 4 });
    admin.on('error', () => undefined);
    return { url, schema: `test_${uniq()}`, admin };
  },
  async closeFile({ schema, admin }) {
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  },
  test({ url, schema, admin }, table) {
    const qualifiedTable = `"${schema}"."${table}"`;
    return {
      qualifiedTable,
      createStore: (options) =>
        new PostgresSessionStore({
          connectionString: url,
          schemaName: schema,
          tableName: table,
          pruneIntervalMs: false,
          ...options,
        }),
      createBackend: () =>
        createPostgresBackend({ pool: new pg.Pool({ connectionString: url, max: 10 }), ownsPool: true, schema }),
      query: async <Row>(text: string, params: unknown[]) => {
        let n = 0;
        return (
          await admin.query(
            text.replace(/\?/g, () => `$${++n}`),
            params,
          )
        ).rows as Row[];
      },
      async insertRows(count, expiresAt, prefix, userId) {
        await admin.query(
          `insert into ${qualifiedTable} (id, data, expires_at, user_id, created_at, updated_at)
           select $1 || i, '{"cookie":{}}'::json, $2, $3, $4, $4 from generate_series(1, $5::int) i`,
          [prefix, new Date(expiresAt), userId, new Date(), count],
        );
      },
      indexes: async () =>
        (
          await admin.query<{ name: string; columns: string[]; partial: boolean }>(
            `select i.relname as name, array_agg(a.attname::text order by k.ord) as columns, x.indpred is not null as partial
               from pg_index x
               join pg_class i on i.oid = x.indexrelid
               join pg_class t on t.oid = x.indrelid
               join pg_namespace n on n.oid = t.relnamespace
               cross join lateral unnest(x.indkey) with ordinality k(attnum, ord)
               join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
              where n.nspname = $1 and t.relname = $2 and not x.indisprimary
              group by i.relname, x.indpred is not null order by 1`,
            [schema, table],
          )
        ).rows.map((r) => `${r.name}(${r.columns.join(', ')})${r.partial ? ' partial' : ''}`),
      close: () => undefined,
    };
  },
};

/** Dialect → harness: the one table to extend when a dialect is added. */
const HARNESSES: { readonly [D in DialectName]: DialectHarness<any> } = {
  'sqlite-memory': sqliteHarness(false),
  'sqlite-file': sqliteHarness(true),
  postgres: postgresHarness,
};

/** Registers the hooks of `dialect` in the current `describe` and returns the live harness. */
export function useStoreHarness(dialect: DialectName): () => StoreHarness {
  const harness = HARNESSES[dialect];
  let fileState: unknown;
  let current: StoreHarness | undefined;
  let closers: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    fileState = await harness.file();
  });
  afterAll(async () => {
    await harness.closeFile(fileState);
  });

  beforeEach(() => {
    const table = `sessions_${counter++}`;
    const database = harness.test(fileState, table);
    closers = [() => database.close()];
    const track = <T extends { close(): Promise<unknown> | unknown }>(made: T): T => {
      closers.unshift(() => made.close());
      return made;
    };
    current = {
      dialect,
      table,
      qualifiedTable: database.qualifiedTable,
      createStore: (options = {}) => track(database.createStore(options)),
      createBackend: () => track(database.createBackend()),
      query: (text, params = []) => database.query(text, params),
      insertRows: (count, expiresAt, prefix = 'row-', userId = null) =>
        database.insertRows(count, expiresAt, prefix, userId),
      indexes: () => database.indexes(),
    };
  });

  afterEach(async () => {
    for (const close of closers) await Promise.allSettled([Promise.resolve().then(close)]);
    current = undefined;
  });

  return () => {
    if (current === undefined) throw new Error('The store harness is only available inside a test.');
    return current;
  };
}
