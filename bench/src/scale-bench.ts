/**
 * Scale: sessionsql on a large table (1,000,000 rows) against a small one (10,000): get-hit
 * latency, countSessionsForUser, and deleteExpired of 1,000,000 expired rows while gets go on.
 * Tables are filled by one SQL statement in one transaction (generate_series / recursive CTE).
 */
import { join } from 'node:path';
import { type SqlSessionStore, sessionKey } from '@sessionsql/core';
import { PostgresSessionStore } from '@sessionsql/postgres';
import { SqliteSessionStore } from '@sessionsql/sqlite';
import Database from 'better-sqlite3';
import pg from 'pg';
import { type BenchEnv, DAY_MS, sampleSession } from './bench-env.js';
import { POOL_SIZE } from './contender-kit.js';
import { quantile, type Summary, summarize } from './stats.js';

export interface ScaleBenchConfig {
  /** Rows of the large table, and expired rows in the prune test. */
  readonly largeRows: number;
  /** Operations timed per measurement. */
  readonly samples: number;
}

export const SMALL_ROWS = 10_000;
/** Sessions per user in the filled tables. */
const SESSIONS_PER_USER = 10;
const ROUNDS = 3;

export interface ScaleDialectResult {
  readonly smallRows: number;
  readonly largeRows: number;
  /** get (hit) latency at concurrency 1, ms, per round. */
  readonly getSmallP50Ms: Summary;
  readonly getLargeP50Ms: Summary;
  readonly getSmallP99Ms: Summary;
  readonly getLargeP99Ms: Summary;
  /**
   * The same get by the raw driver (sessionsql's statement, prepared once, plus JSON.parse):
   * what the table's size alone costs, whatever the store.
   */
  readonly rawGetSmallP50Ms: Summary;
  readonly rawGetLargeP50Ms: Summary;
  /** countSessionsForUser on the large table, ms. */
  readonly countLargeP50Ms: Summary;
  readonly countLargeP99Ms: Summary;
  readonly prune: {
    readonly expiredRows: number;
    readonly deleted: number;
    readonly seconds: number;
    readonly getsDuring: number;
    readonly getP50Ms: number;
    readonly getP99Ms: number;
    readonly getMaxMs: number;
  };
}

export type ScaleBenchResults = Partial<Record<'sqlite' | 'postgres', ScaleDialectResult>>;

const DATA = JSON.stringify(sampleSession(0));

/**
 * The id of row `i` as each dialect's `fill` builds it in SQL (a million rows at once); the
 * table holds its SHA-256, so rows are spread over the index as real ids are.
 */
const scaleId = (prefix: string, i: number) => `${prefix}${i}`.padEnd(32, '_');

interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  open(table: string): SqlSessionStore;
  /** Inserts `count` rows with ids `scaleId(prefix, i)`, users `user-<i / 10>`, expiring at `expiresAt`. */
  fill(table: string, prefix: string, count: number, expiresAt: number): Promise<void>;
  /** A get-hit by the driver alone: the store's statement prepared once, its row parsed. */
  rawGet(table: string): (id: string) => Promise<unknown>;
  close(): Promise<void>;
}

function sqliteDialect(env: BenchEnv): Dialect {
  const file = join(env.dir, 'scale.sqlite');
  const admin = new Database(file);
  admin.pragma('journal_mode = WAL');
  // The table holds each session id's key (its SHA-256), as the store writes it.
  admin.function('session_key', { deterministic: true }, (id) => sessionKey(String(id)));
  return {
    name: 'sqlite',
    open: (table) => new SqliteSessionStore({ database: file, tableName: table, pruneIntervalMs: false }),
    async fill(table, prefix, count, expiresAt) {
      const now = Date.now();
      admin
        .prepare(
          `with recursive c(i) as (select 0 union all select i + 1 from c where i < ? - 1)
           insert into "${table}" (id, data, expires_at, user_id, created_at, updated_at)
           select session_key(substr(? || i || '${'_'.repeat(32)}', 1, 32)), ?, ?, 'user-' || (i / ${SESSIONS_PER_USER}), ?, ? from c`,
        )
        .run(count, prefix, DATA, expiresAt, now, now);
      admin.pragma('wal_checkpoint(TRUNCATE)');
    },
    rawGet(table) {
      const get = admin.prepare<[string, number], { data: string }>(
        `select data from "${table}" where id = ? and expires_at > ?`,
      );
      return async (id) => {
        const row = get.get(sessionKey(id), Date.now());
        return row === undefined ? null : JSON.parse(row.data);
      };
    },
    async close() {
      admin.close();
    },
  };
}

function postgresDialect(env: BenchEnv): Dialect {
  const admin = new pg.Pool({ connectionString: env.postgresUrl, max: 1 });
  return {
    name: 'postgres',
    open: (table) =>
      new PostgresSessionStore({
        connectionString: env.postgresUrl,
        schemaName: env.schema,
        tableName: table,
        poolConfig: { max: POOL_SIZE },
        pruneIntervalMs: false,
      }),
    async fill(table, prefix, count, expiresAt) {
      const t = `"${env.schema}"."${table}"`;
      await admin.query(
        `insert into ${t} (id, data, expires_at, user_id, created_at, updated_at)
         select rtrim(translate(encode(sha256(convert_to(rpad($1 || i, 32, '_'), 'UTF8')), 'base64'), '+/', '-_'), '='),
                $2::json, $3, 'user-' || (i / ${SESSIONS_PER_USER}), now(), now()
         from generate_series(0, $4::int - 1) i`,
        [prefix, DATA, new Date(expiresAt), count],
      );
      // What autovacuum would do soon after such a load; the planner needs the statistics.
      await admin.query(`vacuum analyze ${t}`);
    },
    rawGet(table) {
      const statement = {
        name: `scale_raw_get_${table}`,
        text: `select "data"::text as data from "${env.schema}"."${table}" where "id" = $1 and "expires_at" > $2`,
      };
      return async (id) => {
        const { rows } = await admin.query<{ data: string }>({ ...statement, values: [sessionKey(id), new Date()] });
        return rows[0] === undefined ? null : JSON.parse(rows[0].data);
      };
    },
    close: () => admin.end(),
  };
}

async function timed(count: number, op: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await op(i);
    times[i] = performance.now() - start;
  }
  return times;
}

const random = (n: number) => Math.floor(Math.random() * n);

async function measureDialect(
  dialect: Dialect,
  config: ScaleBenchConfig,
  log: (line: string) => void,
): Promise<ScaleDialectResult> {
  const small = dialect.open('scale_small');
  const large = dialect.open('scale_large');
  const pruned = dialect.open('scale_prune');
  try {
    for (const store of [small, large, pruned]) await store.migrate();
    const live = Date.now() + DAY_MS;
    let started = performance.now();
    await dialect.fill('scale_small', 'live-', SMALL_ROWS, live);
    await dialect.fill('scale_large', 'live-', config.largeRows, live);
    log(
      `  ${dialect.name}: filled ${SMALL_ROWS} and ${config.largeRows} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );

    const get = (store: SqlSessionStore, rows: number) => async () => {
      const found = await store.get(scaleId('live-', random(rows)));
      if (found === null) throw new Error('get found nothing in the scale table');
    };
    const rawGet = (table: string, rows: number) => {
      const run = dialect.rawGet(table);
      return async () => {
        if ((await run(scaleId('live-', random(rows)))) === null) throw new Error('raw get found nothing');
      };
    };
    const rounds = {
      smallP50: [] as number[],
      largeP50: [] as number[],
      smallP99: [] as number[],
      largeP99: [] as number[],
      rawSmallP50: [] as number[],
      rawLargeP50: [] as number[],
    };
    const counts = { p50: [] as number[], p99: [] as number[] };
    await timed(config.samples, get(small, SMALL_ROWS));
    await timed(config.samples, get(large, config.largeRows));
    const rawSmall = rawGet('scale_small', SMALL_ROWS);
    const rawLarge = rawGet('scale_large', config.largeRows);
    await timed(config.samples, rawSmall);
    await timed(config.samples, rawLarge);
    for (let round = 0; round < ROUNDS; round++) {
      const s = await timed(config.samples, get(small, SMALL_ROWS));
      const l = await timed(config.samples, get(large, config.largeRows));
      rounds.smallP50.push(quantile(s, 0.5));
      rounds.smallP99.push(quantile(s, 0.99));
      rounds.largeP50.push(quantile(l, 0.5));
      rounds.largeP99.push(quantile(l, 0.99));
      rounds.rawSmallP50.push(quantile(await timed(config.samples, rawSmall), 0.5));
      rounds.rawLargeP50.push(quantile(await timed(config.samples, rawLarge), 0.5));
      const users = config.largeRows / SESSIONS_PER_USER;
      const c = await timed(config.samples, async () => {
        const n = await large.countSessionsForUser(`user-${random(users)}`);
        if (n !== SESSIONS_PER_USER) throw new Error(`countSessionsForUser returned ${n}`);
      });
      counts.p50.push(quantile(c, 0.5));
      counts.p99.push(quantile(c, 0.99));
    }

    await dialect.fill('scale_prune', 'live-', SMALL_ROWS, live);
    await dialect.fill('scale_prune', 'expired-', config.largeRows, Date.now() - 3_600_000);
    started = performance.now();
    const during: number[] = [];
    let done = false;
    const pruning = pruned.deleteExpired().finally(() => {
      done = true;
    });
    while (!done) {
      // Requests arrive as I/O events: a macrotask turn between gets, as in a server (on SQLite
      // a loop of awaits alone would never let the prune's batches take their turn).
      // The time counts from arrival, so a batch that holds the thread counts against the get.
      const start = performance.now();
      await new Promise((resolve) => setImmediate(resolve));
      await get(pruned, SMALL_ROWS)();
      during.push(performance.now() - start);
    }
    const deleted = await pruning;
    const seconds = (performance.now() - started) / 1000;
    if (deleted !== config.largeRows) throw new Error(`deleteExpired deleted ${deleted} of ${config.largeRows}`);
    log(`  ${dialect.name}: pruned ${deleted} rows in ${seconds.toFixed(1)} s while ${during.length} gets ran`);
    return {
      smallRows: SMALL_ROWS,
      largeRows: config.largeRows,
      getSmallP50Ms: summarize(rounds.smallP50),
      getLargeP50Ms: summarize(rounds.largeP50),
      getSmallP99Ms: summarize(rounds.smallP99),
      getLargeP99Ms: summarize(rounds.largeP99),
      rawGetSmallP50Ms: summarize(rounds.rawSmallP50),
      rawGetLargeP50Ms: summarize(rounds.rawLargeP50),
      countLargeP50Ms: summarize(counts.p50),
      countLargeP99Ms: summarize(counts.p99),
      prune: {
        expiredRows: config.largeRows,
        deleted,
        seconds,
        getsDuring: during.length,
        getP50Ms: quantile(during, 0.5),
        getP99Ms: quantile(during, 0.99),
        getMaxMs: during.reduce((max, t) => Math.max(max, t), 0),
      },
    };
  } finally {
    await Promise.all([small.close(), large.close(), pruned.close()]);
    await dialect.close();
  }
}

export async function runScaleBench(
  env: BenchEnv,
  config: ScaleBenchConfig,
  log: (line: string) => void,
): Promise<ScaleBenchResults> {
  return {
    sqlite: await measureDialect(sqliteDialect(env), config, log),
    postgres: await measureDialect(postgresDialect(env), config, log),
  };
}
