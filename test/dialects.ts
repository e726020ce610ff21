/**
 * One harness per dialect: each test gets its own table (and, on PostgreSQL, each file its own
 * schema) so that files and tests never see each other's rows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SessionStoreOptions, SqlSessionStore } from '@sessionsql/core';
import { PostgresSessionStore } from '@sessionsql/postgres';
import { SqliteSessionStore } from '@sessionsql/sqlite';
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
  /** Creates a store on this test's table; every store is closed after the test. */
  createStore(options?: SessionStoreOptions & Record<string, unknown>): SqlSessionStore;
  /** Runs raw SQL for setup and checks (`?` placeholders are turned into `$n` on PostgreSQL). */
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<Row[]>;
  /** Inserts `count` rows directly, ids `${prefix}${i}`, all with the same expiry. */
  insertRows(count: number, expiresAt: number, prefix?: string, userId?: string | null): Promise<void>;
}

let counter = 0;
const uniq = () => `${process.pid}_${Date.now().toString(36)}_${counter++}`;

/** Registers the hooks of `dialect` in the current `describe` and returns the live harness. */
export function useStoreHarness(dialect: DialectName): () => StoreHarness {
  let current: StoreHarness | undefined;
  let stores: SqlSessionStore[] = [];
  let cleanup: (() => Promise<void> | void)[] = [];
  let fileDir = '';
  let schema = '';
  let admin: pg.Pool | undefined;

  beforeAll(async () => {
    if (dialect === 'sqlite-file') fileDir = mkdtempSync(join(tmpdir(), 'sessionsql-test-'));
    if (dialect === 'postgres') {
      const url = inject('postgresUrl');
      if (!url) throw new Error('No PostgreSQL URL was provided by the global setup.');
      schema = `test_${uniq()}`;
      admin = new pg.Pool({ connectionString: url, max: 4 });
      admin.on('error', () => undefined);
    }
  });

  afterAll(async () => {
    if (fileDir) rmSync(fileDir, { recursive: true, force: true });
    if (admin) {
      await admin.query(`drop schema if exists "${schema}" cascade`);
      await admin.end();
    }
  });

  beforeEach(() => {
    const table = `sessions_${counter++}`;
    stores = [];
    cleanup = [];
    const track = <S extends SqlSessionStore>(store: S): S => {
      stores.push(store);
      return store;
    };
    if (dialect === 'postgres') {
      const pool = admin!;
      const url = inject('postgresUrl');
      const query = async <Row>(text: string, params: unknown[] = []) => {
        let n = 0;
        return (
          await pool.query(
            text.replace(/\?/g, () => `$${++n}`),
            params,
          )
        ).rows as Row[];
      };
      const qualifiedTable = `"${schema}"."${table}"`;
      current = {
        dialect,
        table,
        qualifiedTable,
        createStore: (options = {}) =>
          track(
            new PostgresSessionStore({
              connectionString: url,
              schemaName: schema,
              tableName: table,
              pruneIntervalMs: false,
              ...options,
            }),
          ),
        query,
        async insertRows(count, expiresAt, prefix = 'row-', userId = null) {
          await pool.query(
            `insert into ${qualifiedTable} (id, data, expires_at, user_id, created_at, updated_at)
             select $1 || i, '{"cookie":{}}'::jsonb, $2, $3, $4, $4 from generate_series(1, $5::int) i`,
            [prefix, new Date(expiresAt), userId, new Date(), count],
          );
        },
      };
      return;
    }
    const db = dialect === 'sqlite-memory' ? new Database(':memory:') : new Database(join(fileDir, `${table}.sqlite`));
    cleanup.push(() => {
      db.close();
    });
    const database = dialect === 'sqlite-memory' ? db : db.name;
    current = {
      dialect,
      table,
      qualifiedTable: `"${table}"`,
      createStore: (options = {}) =>
        track(new SqliteSessionStore({ database, tableName: table, pruneIntervalMs: false, ...options })),
      query: async <Row>(text: string, params: unknown[] = []) => {
        const statement = db.prepare(text);
        if (statement.reader) return statement.all(...params) as Row[];
        statement.run(...params);
        return [];
      },
      async insertRows(count, expiresAt, prefix = 'row-', userId = null) {
        db.prepare(
          `with recursive c(i) as (select 1 union all select i + 1 from c where i < ?)
           insert into "${table}" (id, data, expires_at, user_id, created_at, updated_at)
           select ? || i, '{"cookie":{}}', ?, ?, ?, ? from c`,
        ).run(count, prefix, expiresAt, userId, Date.now(), Date.now());
      },
    };
  });

  afterEach(async () => {
    await Promise.allSettled(stores.map((s) => s.close()));
    for (const fn of cleanup.reverse()) await fn();
    current = undefined;
  });

  return () => {
    if (current === undefined) throw new Error('The store harness is only available inside a test.');
    return current;
  };
}
