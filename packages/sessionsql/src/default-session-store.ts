import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type SessionBackend, type SessionStoreOptions, SqlSessionStore } from '@sessionsql/core';
import type * as PostgresModule from '@sessionsql/postgres';
import type { PostgresSessionStoreOptions } from '@sessionsql/postgres';
import type * as SqliteModule from '@sessionsql/sqlite';
import { parseSessionDbUrl, type SessionDbTarget } from './session-db-url.js';

/**
 * How the app is deployed. `standalone`: one process on one machine, SQLite is fine.
 * `cluster`: several instances share the sessions, which needs PostgreSQL.
 */
export type Deployment = 'standalone' | 'cluster';

/** Options of {@link DefaultSessionStore}. */
export interface DefaultSessionStoreOptions extends SessionStoreOptions {
  /** The session database; see {@link DefaultSessionStore.fromUrl} for the forms. */
  url: string;
  /**
   * `cluster` refuses a SQLite URL at construction.
   * @default 'standalone'
   */
  deployment?: Deployment;
  /** Extra `pg.Pool` settings when the URL is PostgreSQL (ssl, max, timeouts). */
  poolConfig?: PostgresSessionStoreOptions['poolConfig'];
  /** Schema for PostgreSQL; the URL's `schema` parameter wins. @default 'public' */
  schemaName?: string;
}

/** The environment variables {@link DefaultSessionStore.fromEnv} reads. */
export interface SessionEnv {
  SESSION_DB_URL?: string | undefined;
  SESSION_DEPLOYMENT?: string | undefined;
  SESSION_DATA_DIR?: string | undefined;
}

const DEPLOYMENTS: readonly Deployment[] = ['standalone', 'cluster'];

const load = createRequire(import.meta.url);

/** Loads a dialect package only when its backend is chosen, so its driver is only needed then. */
function loadDialect<M>(pkg: string, driver: string): M {
  try {
    return load(pkg) as M;
  } catch (cause) {
    const missing =
      (cause as { code?: unknown }).code === 'MODULE_NOT_FOUND' &&
      String((cause as Error).message).includes(`'${driver}'`);
    if (!missing) throw cause;
    throw new Error(
      `sessionsql: the session database URL needs the "${driver}" driver; install it with \`npm install ${driver}\`.`,
      {
        cause,
      },
    );
  }
}

function parseDeployment(value: unknown, source: string): Deployment {
  if (value === undefined || value === '') return 'standalone';
  const normalized = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (!DEPLOYMENTS.includes(normalized as Deployment)) {
    throw new TypeError(`sessionsql: ${source} must be "standalone" or "cluster" (got ${JSON.stringify(value)}).`);
  }
  return normalized as Deployment;
}

function openBackend(target: SessionDbTarget, options: DefaultSessionStoreOptions): SessionBackend {
  if (target.backend === 'sqlite') {
    return loadDialect<typeof SqliteModule>('@sessionsql/sqlite', 'better-sqlite3').createSqliteBackend(
      target.database,
    );
  }
  const postgres = loadDialect<typeof PostgresModule>('@sessionsql/postgres', 'pg');
  return postgres.openPostgresBackend({
    connectionString: target.connectionString,
    schemaName: target.schemaName ?? options.schemaName,
    ...(options.poolConfig === undefined ? {} : { poolConfig: options.poolConfig }),
  });
}

/**
 * A session store whose database is chosen at runtime by one URL: SQLite for a single
 * machine, PostgreSQL for a cluster. Everything else (express-session API, per-user
 * operations, pruning) is the same on both.
 *
 * @example
 * ```ts
 * const store = DefaultSessionStore.fromEnv(); // SESSION_DB_URL, SESSION_DEPLOYMENT, SESSION_DATA_DIR
 * await store.ready();
 * app.use(session({ store, secret, resave: false, saveUninitialized: false }));
 * ```
 */
export class DefaultSessionStore extends SqlSessionStore {
  /** How the store was told the app is deployed. */
  readonly deployment: Deployment;

  constructor(options: DefaultSessionStoreOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('sessionsql: new DefaultSessionStore() needs options with a `url`.');
    }
    const deployment = parseDeployment(options.deployment, 'option `deployment`');
    const target = parseSessionDbUrl(options.url);
    if (deployment === 'cluster' && target.backend === 'sqlite') {
      throw new TypeError(
        `sessionsql: deployment "cluster" (SESSION_DEPLOYMENT=cluster) needs PostgreSQL, but the session database is the SQLite file ${JSON.stringify(target.database)}: several app instances cannot share one SQLite file. Set SESSION_DB_URL=postgres://user:password@host:5432/database, or SESSION_DEPLOYMENT=standalone for a single instance.`,
      );
    }
    super(() => openBackend(target, options), options);
    this.deployment = deployment;
  }

  /**
   * A store on the database `url` names:
   * - `sqlite:relative/path.db`, `sqlite:/absolute/path.db`, `sqlite:///absolute/path.db`,
   *   `sqlite::memory:`, `file:///absolute/path.db` → SQLite (better-sqlite3);
   * - `postgres://…` or `postgresql://…` → PostgreSQL (pg). Query parameters: `schema`
   *   (sessionsql's), and pg's `sslmode`, `ssl`, `sslrootcert`, `sslcert`, `sslkey`,
   *   `application_name`, `options`, `connect_timeout`, `client_encoding`, `host`, `port`.
   *
   * Anything else is a `TypeError` naming the accepted forms.
   */
  static fromUrl(url: string, options?: Omit<DefaultSessionStoreOptions, 'url'>): DefaultSessionStore {
    return new DefaultSessionStore({ ...options, url });
  }

  /**
   * A store configured by environment variables:
   * - `SESSION_DB_URL`: the database URL (see {@link fromUrl}); unset means the SQLite file
   *   `sessions.sqlite` in `SESSION_DATA_DIR`;
   * - `SESSION_DATA_DIR`: directory for that default file, created if missing (default: the
   *   current directory);
   * - `SESSION_DEPLOYMENT`: `standalone` (default) or `cluster`, which requires PostgreSQL.
   */
  static fromEnv(
    env: SessionEnv = process.env,
    options?: Omit<DefaultSessionStoreOptions, 'url' | 'deployment'>,
  ): DefaultSessionStore {
    const deployment = parseDeployment(env.SESSION_DEPLOYMENT, 'SESSION_DEPLOYMENT');
    let url = env.SESSION_DB_URL?.trim();
    if (!url) {
      const dir = resolve(env.SESSION_DATA_DIR?.trim() || '.');
      const file = join(dir, 'sessions.sqlite');
      if (deployment === 'cluster') {
        throw new TypeError(
          `sessionsql: SESSION_DEPLOYMENT=cluster needs PostgreSQL, but SESSION_DB_URL is not set, so sessions would go to the SQLite file ${JSON.stringify(file)}: several app instances cannot share one SQLite file. Set SESSION_DB_URL=postgres://user:password@host:5432/database, or SESSION_DEPLOYMENT=standalone for a single instance.`,
        );
      }
      mkdirSync(dir, { recursive: true });
      url = pathToFileURL(file).href;
    }
    return new DefaultSessionStore({ ...options, url, deployment });
  }
}
