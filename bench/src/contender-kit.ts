/**
 * What every benchmark contender is and shares: the callback API the benchmarks drive, and
 * the settings every SQLite or PostgreSQL contender gets alike.
 */
import Database from 'better-sqlite3';
import session, { type SessionData } from 'express-session';
import type { BenchEnv } from './bench-env.js';

export type Callback<T = unknown> = (error: unknown, value?: T) => void;

/** The part of express-session's store API the benchmarks drive. */
export interface CallbackStore {
  get(sid: string, callback: Callback<SessionData | null | undefined>): void;
  set(sid: string, sess: SessionData, callback: Callback): void;
  touch(sid: string, sess: SessionData, callback: Callback): void;
  destroy(sid: string, callback: Callback): void;
}

/** An open contender. */
export interface OpenContender {
  readonly store: CallbackStore;
  /** The same as an express-session `Store`, for the end-to-end app. */
  readonly sessionStore: session.Store;
  close(): Promise<void>;
}

/** A limit row's callback functions as an express-session `Store`. */
export class CallbackSessionStore extends session.Store {
  constructor(readonly inner: CallbackStore) {
    super();
  }
  override get(sid: string, callback: Callback<SessionData | null | undefined>): void {
    this.inner.get(sid, callback);
  }
  override set(sid: string, sess: SessionData, callback?: Callback): void {
    this.inner.set(sid, sess, callback ?? (() => undefined));
  }
  override touch(sid: string, sess: SessionData, callback?: Callback): void {
    this.inner.touch(sid, sess, callback ?? (() => undefined));
  }
  override destroy(sid: string, callback?: Callback): void {
    this.inner.destroy(sid, callback ?? (() => undefined));
  }
}

export type ContenderRole = 'sessionsql' | 'peer' | 'limit' | 'ceiling';

export interface Contender {
  readonly id: string;
  readonly label: string;
  readonly database: 'sqlite' | 'postgres' | 'memory';
  readonly role: ContenderRole;
  /** Only in the store part (a variant of another row, not worth an end-to-end run of its own). */
  readonly storeOnly?: boolean;
  /** Opens it on table or file `name`; `options.touchAfterMs` only applies to sessionsql. */
  open(env: BenchEnv, name: string, options?: { touchAfterMs?: number }): Promise<OpenContender>;
}

/** Pool size of every PostgreSQL contender (sessionsql's default). */
export const POOL_SIZE = 10;

/** The pragmas sessionsql sets on a file it opens; given to every SQLite contender alike. */
export function openSqlite(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  return db;
}

export function expiryOf(sess: SessionData, now: number): number {
  const expires = (sess.cookie as { expires?: unknown } | undefined)?.expires;
  const ms = expires === undefined || expires === null ? Number.NaN : new Date(expires as string).getTime();
  return Number.isFinite(ms) ? ms : now + 86_400_000;
}

export function userIdOf(sess: SessionData): string | null {
  const id = (sess as { userId?: unknown }).userId;
  return typeof id === 'string' ? id : null;
}
