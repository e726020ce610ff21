/**
 * What the end-to-end apps (express-server.ts, fastify-server.ts, koa-server.ts,
 * hono-server.ts) share: their command line, what a sign-in puts in the session, the store the
 * Fastify, Koa and Hono apps run on, and how an app tells http-bench.ts its port.
 *
 * Every app is started as `node <app>.js <store> <touchAfterMs or 0>` with the BenchEnv as
 * JSON in BENCH_ENV, prints `{"port": n}` once it listens, and exits on SIGTERM.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openRecordStore, type SessionRecordStore } from 'sessionsql';
import { type BenchEnv, sampleSession, USERS } from './bench-env.js';
import { POOL_SIZE } from './contender-kit.js';

export interface AppArgs {
  /** A contender id (express) or a store id of {@link FRAMEWORK_STORES} (Fastify, Koa). */
  readonly store: string;
  readonly touchAfterMs: number;
  readonly env: BenchEnv;
}

export function appArgs(): AppArgs {
  const [store = '', touchAfterMs = '0'] = process.argv.slice(2);
  return { store, touchAfterMs: Number(touchAfterMs), env: JSON.parse(process.env.BENCH_ENV ?? '{}') };
}

/** Table (PostgreSQL) or file (SQLite) name of one app's sessions. */
export function tableName(framework: string, store: string, touchAfterMs: number): string {
  return `http_${framework}_${store.replace(/-/g, '_')}${touchAfterMs ? `_t${touchAfterMs}` : ''}`;
}

/** The stores the Fastify and Koa apps run on: the framework's own in-memory one, and sessionsql's two. */
export const FRAMEWORK_STORES = ['memory', 'sessionsql-sqlite', 'sessionsql-pg'] as const;
export type FrameworkStore = (typeof FRAMEWORK_STORES)[number];

/**
 * The store of a Fastify, Koa or Hono app, from its command line: the framework's in-memory
 * one (`memory()`), or sessionsql's adapter (`adapter(records)`) over its own record store.
 */
export async function openFrameworkStore<Store>(
  framework: string,
  memory: () => Store,
  adapter: (records: SessionRecordStore) => Store,
): Promise<Store> {
  const { store, touchAfterMs, env } = appArgs();
  switch (store) {
    case 'memory':
      return memory();
    case 'sessionsql-sqlite':
    case 'sessionsql-pg':
      return adapter(await openBenchRecordStore(env, store, tableName(framework, store, touchAfterMs), touchAfterMs));
    default:
      throw new Error(`${framework}-server: unknown store ${store}`);
  }
}

/**
 * sessionsql's record store for the Fastify, Koa and Hono adapters, set up as the express
 * contenders are: its own table or file, a pool of {@link POOL_SIZE}, no background pruner.
 */
async function openBenchRecordStore(
  env: BenchEnv,
  store: 'sessionsql-sqlite' | 'sessionsql-pg',
  name: string,
  touchAfterMs: number,
): Promise<SessionRecordStore> {
  const shared = { tableName: name, pruneIntervalMs: false as const, ...(touchAfterMs ? { touchAfterMs } : {}) };
  const records =
    store === 'sessionsql-sqlite'
      ? openRecordStore({ url: `sqlite:${join(env.dir, `${name}.sqlite`)}`, ...shared })
      : openRecordStore({
          url: env.postgresUrl,
          schemaName: env.schema,
          poolConfig: { max: POOL_SIZE },
          ...shared,
        });
  await records.ready();
  return records;
}

/** What a sign-in puts in the session besides the cookie: about 1 KB as JSON. */
const { cookie: _cookie, ...profile } = sampleSession(0) as unknown as Record<string, unknown>;
let logins = 0;

/** The data of the next signed-in session. */
export function signedInData(): Record<string, unknown> {
  return { ...profile, userId: `user-${logins++ % USERS}` };
}

/** Prints the port for http-bench.ts; exits on SIGTERM or SIGINT. */
export function announce(address: AddressInfo | string | null): void {
  process.stdout.write(`${JSON.stringify({ port: (address as AddressInfo).port })}\n`);
  // The benchmark needs no graceful shutdown; exiting at once keeps a store's late writes
  // (express-session's touch after the response) from failing noisily on a closed pool.
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
}
