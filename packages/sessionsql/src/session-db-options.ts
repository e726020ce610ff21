import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SessionBackend, SessionStoreOptions } from '@sessionsql/core';
import { DIALECT_LOADERS, openDialectBackend } from './dialect-loaders.js';
import { parseSessionDbUrl } from './session-db-url.js';

/**
 * How the app is deployed. `standalone`: one process on one machine, SQLite is fine.
 * `cluster`: several instances share the sessions, which needs PostgreSQL.
 */
export type Deployment = 'standalone' | 'cluster';

/**
 * Extra connection-pool settings for a server database: for PostgreSQL, pg's `PoolConfig`
 * without the connection string. Declared here, with pg's most used settings, so that the
 * published types need no driver types for an app on SQLite.
 */
export interface PoolSettings {
  /** Most connections. @default 10 */
  max?: number;
  /** Milliseconds to wait for a connection before failing. @default 10_000 */
  connectionTimeoutMillis?: number;
  /** Milliseconds an idle connection stays open. */
  idleTimeoutMillis?: number;
  /** TLS settings (`true`, or Node's `tls.connect` options). */
  ssl?: boolean | object;
  /** Any other pg pool setting. */
  [setting: string]: unknown;
}

/** Options of a store whose database is chosen by URL (every adapter's `fromUrl`). */
export interface SessionDbOptions extends SessionStoreOptions {
  /**
   * The session database: `sqlite:path.db`, `sqlite::memory:`, `file:///abs/path.db` or
   * `postgres://user:password@host:5432/database` (see the README for every form).
   */
  url: string;
  /**
   * `cluster` refuses a SQLite URL at construction.
   * @default 'standalone'
   */
  deployment?: Deployment;
  /** Extra `pg.Pool` settings when the URL is PostgreSQL (ssl, max, timeouts). */
  poolConfig?: PoolSettings;
  /** Schema for PostgreSQL; the URL's `schema` parameter wins. @default 'public' */
  schemaName?: string;
  /**
   * PostgreSQL: most milliseconds one statement waits for its answer before the call fails
   * with `CONNECTION_FAILED` and the connection is closed (see `PostgresConnectionOptions`).
   * Ignored on SQLite, which runs in this process. @default 10_000
   */
  queryTimeoutMs?: number;
}

/** The keys {@link SessionDbOptions} adds to the store options. */
export const SESSION_DB_OPTION_KEYS: readonly string[] = Object.freeze([
  'url',
  'deployment',
  'poolConfig',
  'schemaName',
  'queryTimeoutMs',
]);

/** The environment variables read by every `fromEnv`. */
export interface SessionEnv {
  SESSION_DB_URL?: string | undefined;
  SESSION_DEPLOYMENT?: string | undefined;
  SESSION_DATA_DIR?: string | undefined;
}

const DEPLOYMENTS: readonly Deployment[] = ['standalone', 'cluster'];

function parseDeployment(value: unknown, source: string): Deployment {
  if (value === undefined || value === '') return 'standalone';
  const normalized = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (!DEPLOYMENTS.includes(normalized as Deployment)) {
    throw new TypeError(`sessionsql: ${source} must be "standalone" or "cluster" (got ${JSON.stringify(value)}).`);
  }
  return normalized as Deployment;
}

/**
 * Checks the URL and deployment of `options` and returns how to open the backend (called
 * only after the store options are validated). Throws a `TypeError` for a bad URL, or a
 * SQLite URL in a cluster.
 */
export function sessionDbBackend(options: SessionDbOptions): { deployment: Deployment; open: () => SessionBackend } {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError('sessionsql: a store chosen by URL needs options with a `url`.');
  }
  const deployment = parseDeployment(options.deployment, 'option `deployment`');
  const target = parseSessionDbUrl(options.url);
  const loader = DIALECT_LOADERS[target.backend];
  if (deployment === 'cluster' && !loader.shared) {
    throw new TypeError(
      `sessionsql: deployment "cluster" (SESSION_DEPLOYMENT=cluster) needs PostgreSQL, but the session database is the ${loader.label} file ${JSON.stringify((target as { database?: string }).database)}: several app instances cannot share one ${loader.label} file. Set SESSION_DB_URL=postgres://user:password@host:5432/database, or SESSION_DEPLOYMENT=standalone for a single instance.`,
    );
  }
  const { poolConfig, schemaName, queryTimeoutMs } = options;
  return {
    deployment,
    open: () =>
      openDialectBackend(target, {
        ...(poolConfig === undefined ? {} : { poolConfig }),
        ...(schemaName === undefined ? {} : { schemaName }),
        ...(queryTimeoutMs === undefined ? {} : { queryTimeoutMs }),
      }),
  };
}

/**
 * The URL and deployment the environment asks for:
 * - `SESSION_DB_URL`: the database URL; unset means the SQLite file `sessions.sqlite` in
 *   `SESSION_DATA_DIR` (created if missing; default: the current directory);
 * - `SESSION_DEPLOYMENT`: `standalone` (default) or `cluster`, which requires PostgreSQL.
 */
export function sessionDbFromEnv(env: SessionEnv): { url: string; deployment: Deployment } {
  const deployment = parseDeployment(env.SESSION_DEPLOYMENT, 'SESSION_DEPLOYMENT');
  const url = env.SESSION_DB_URL?.trim();
  if (url) return { url, deployment };
  const dir = resolve(env.SESSION_DATA_DIR?.trim() || '.');
  const file = join(dir, 'sessions.sqlite');
  if (deployment === 'cluster') {
    throw new TypeError(
      `sessionsql: SESSION_DEPLOYMENT=cluster needs PostgreSQL, but SESSION_DB_URL is not set, so sessions would go to the SQLite file ${JSON.stringify(file)}: several app instances cannot share one SQLite file. Set SESSION_DB_URL=postgres://user:password@host:5432/database, or SESSION_DEPLOYMENT=standalone for a single instance.`,
    );
  }
  mkdirSync(dir, { recursive: true });
  return { url: pathToFileURL(file).href, deployment };
}
