import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SessionRecordStore } from '@sessionsql/core';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { SessionDbOptions } from '../session-db-options.js';
import { parseSessionDbUrl, redactUrl, type SessionDbTarget } from '../session-db-url.js';
import { UsageError } from './exit-codes.js';

/** The options every database command takes. */
export interface DbFlags {
  readonly url?: string;
  readonly table: string;
  readonly timeout: number;
}

/** A positive whole number option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return n;
}

/** Adds `--url`, `--table` and `--timeout` to `command`. */
export function withDbFlags(command: Command, urlFlag = true): Command {
  if (urlFlag) {
    command.addOption(
      new Option('--url <url>', 'the session database (sqlite:path.db, postgres://user:pw@host/db?schema=…)').env(
        'SESSION_DB_URL',
      ),
    );
  }
  return command
    .option('--table <name>', 'the session table', 'sessions')
    .option('--timeout <seconds>', 'most seconds to wait for the database to answer a connection', positiveInt, 10);
}

/** How a command opens a database. */
export interface OpenOptions {
  /** May create the database file and the table (import, copy's destination). */
  readonly create?: boolean;
  /** May create the SQLite file, but leaves the table to `migrate()` and does not probe it (migrate). */
  readonly migrateOnly?: boolean;
  /** Extra store options (pruneBatchSize, …). */
  readonly store?: Partial<SessionDbOptions>;
}

/** Parses `url` for a command; a missing or bad URL is a usage error (exit 2). */
export function targetOf(url: string | undefined, flag = '--url'): SessionDbTarget {
  if (url === undefined || url.trim() === '') {
    throw new UsageError(`no session database: pass ${flag} <url>${flag === '--url' ? ' or set SESSION_DB_URL' : ''}.`);
  }
  try {
    return parseSessionDbUrl(url);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^sessionsql: /, ''));
  }
}

/** The database a target names, comparable between two URLs (`copy --from X --to X`). */
export function sameDatabase(a: SessionDbTarget, b: SessionDbTarget): boolean {
  if (a.backend === 'sqlite' && b.backend === 'sqlite') {
    return a.database !== ':memory:' && resolve(a.database) === resolve(b.database);
  }
  if (a.backend === 'postgres' && b.backend === 'postgres') {
    const [x, y] = [new URL(a.connectionString), new URL(b.connectionString)];
    const where = (u: URL) => `${u.hostname}:${u.port || '5432'}${u.pathname}`;
    return where(x) === where(y) && (a.schemaName ?? 'public') === (b.schemaName ?? 'public');
  }
  return false;
}

/**
 * Opens the record store `url` names (no background pruning, a bounded connection wait) and
 * waits until it answers. A SQLite file that is not there is refused unless `create`, so that
 * a mistyped path makes no empty database.
 */
export async function openStore(url: string | undefined, flags: DbFlags, options: OpenOptions = {}) {
  const target = targetOf(url);
  if (target.backend === 'sqlite' && target.database !== ':memory:' && !options.create && !options.migrateOnly) {
    if (!existsSync(target.database)) {
      throw new UsageError(`the SQLite file ${JSON.stringify(target.database)} does not exist (${redactUrl(url!)}).`);
    }
  }
  // Loaded only now, so that --help and usage errors answer at once.
  const { openRecordStore } = await import('../open-record-store.js');
  let store: SessionRecordStore;
  try {
    store = openRecordStore({
      url: url!,
      tableName: flags.table,
      autoMigrate: options.create === true,
      pruneIntervalMs: false,
      poolConfig: { max: 4, connectionTimeoutMillis: flags.timeout * 1000 },
      ...options.store,
    });
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message.replace(/^sessionsql: /, ''));
    throw error;
  }
  // Errors the store reports in the background (an idle connection lost) are not the command's.
  store.on('error', () => undefined);
  try {
    if (!options.migrateOnly) await store.ready();
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

/** Runs `body` with the store `url` names, closing it afterwards. */
export async function withStore<T>(
  url: string | undefined,
  flags: DbFlags,
  body: (store: SessionRecordStore) => Promise<T>,
  options?: OpenOptions,
): Promise<T> {
  const store = await openStore(url, flags, options);
  try {
    return await body(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}
