import { createRequire } from 'node:module';
import type { SessionBackend } from '@sessionsql/core';
import type * as PostgresModule from '@sessionsql/postgres';
import type { PostgresConnectionOptions } from '@sessionsql/postgres';
import type * as SqliteModule from '@sessionsql/sqlite';
import type { PoolSettings } from './session-db-options.js';
import type { SessionDbTarget } from './session-db-url.js';

/** What a URL-chosen dialect gets besides its URL target. */
export interface DialectOpenOptions {
  /** Extra pool settings for a server database. */
  readonly poolConfig?: PoolSettings;
  /** Schema for a server database; the URL's own wins. */
  readonly schemaName?: string;
  /** For a server database: most milliseconds one statement waits for its answer. */
  readonly queryTimeoutMs?: number;
}

/** How sessionsql reaches one dialect package, loaded only when a URL chooses it. */
interface DialectLoader<Target extends SessionDbTarget> {
  /** The database's name in messages. */
  readonly label: string;
  /** The dialect package. */
  readonly package: string;
  /** The driver it needs, for the "install it" message. */
  readonly driver: string;
  /** Whether several app instances can share the database (`SESSION_DEPLOYMENT=cluster`). */
  readonly shared: boolean;
  /** Opens the backend from the loaded package. */
  open(dialect: any, target: Target, options: DialectOpenOptions): SessionBackend;
}

type Loaders = { readonly [B in SessionDbTarget['backend']]: DialectLoader<Extract<SessionDbTarget, { backend: B }>> };

/**
 * Dialect → package: the one table to extend when a dialect package is added (next to its
 * URL scheme in `session-db-url.ts`).
 */
export const DIALECT_LOADERS: Loaders = {
  sqlite: {
    label: 'SQLite',
    package: '@sessionsql/sqlite',
    driver: 'better-sqlite3',
    shared: false,
    open: (dialect: typeof SqliteModule, target) => dialect.createSqliteBackend(target.database),
  },
  postgres: {
    label: 'PostgreSQL',
    package: '@sessionsql/postgres',
    driver: 'pg',
    shared: true,
    open: (dialect: typeof PostgresModule, target, options) =>
      dialect.openPostgresBackend({
        connectionString: target.connectionString,
        schemaName: target.schemaName ?? options.schemaName,
        ...(options.poolConfig === undefined
          ? {}
          : { poolConfig: options.poolConfig as PostgresConnectionOptions['poolConfig'] }),
        ...(options.queryTimeoutMs === undefined ? {} : { queryTimeoutMs: options.queryTimeoutMs }),
      }),
  },
};

const load = createRequire(import.meta.url);

/** Opens the backend `target` names, loading its dialect package (and so its driver) only now. */
export function openDialectBackend(target: SessionDbTarget, options: DialectOpenOptions): SessionBackend {
  const loader = DIALECT_LOADERS[target.backend] as DialectLoader<SessionDbTarget>;
  let dialect: unknown;
  try {
    dialect = load(loader.package);
  } catch (cause) {
    const message = String((cause as Error).message);
    const code = (cause as { code?: unknown }).code;
    // require() reports a missing CommonJS module as MODULE_NOT_FOUND, one an ES module imports as ERR_MODULE_NOT_FOUND.
    const missing = code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
    if (!missing || !(message.includes(`'${loader.driver}'`) || message.includes(`'${loader.package}'`))) throw cause;
    throw new Error(
      `sessionsql: the session database URL needs the "${loader.driver}" driver; install it with \`npm install ${loader.driver}\`.`,
      { cause },
    );
  }
  return loader.open(dialect, target, options);
}
