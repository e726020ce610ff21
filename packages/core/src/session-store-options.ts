import { assertIdentifier, MAX_TABLE_NAME_LENGTH } from './identifiers.js';
import type { SessionObject } from './session-record.js';
import type { SessionStoreError } from './session-store-error.js';

/**
 * The user a session belongs to, or undefined/null for an anonymous session. Numbers are
 * stored as their decimal string. (Written as a method so that a function typed for a
 * framework's own session type, such as express-session's `SessionData`, fits.)
 */
export type GetUserId = {
  getUserId(session: SessionObject): string | number | null | undefined;
}['getUserId'];

/** Whether `value` can identify a user: a non-empty string or a finite number. */
export function isUserIdValue(value: unknown): value is string | number {
  return (typeof value === 'string' && value !== '') || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * The default {@link SessionStoreOptions.getUserId}: the first non-empty string or finite
 * number among `session.userId`, `session.user.id` and `session.passport.user`.
 */
export function defaultGetUserId(session: SessionObject): string | undefined {
  const s = session as unknown as {
    userId?: unknown;
    user?: { id?: unknown } | null;
    passport?: { user?: unknown } | null;
  };
  for (const value of [s.userId, s.user?.id, s.passport?.user]) {
    if (isUserIdValue(value)) return String(value);
  }
  return undefined;
}

/**
 * Options every sessionsql store accepts, whatever the database.
 */
export interface SessionStoreOptions {
  /**
   * Table holding the sessions. Letters, digits and underscores, at most 40 characters.
   * @default 'sessions'
   */
  tableName?: string;
  /**
   * Lifetime in milliseconds of a session whose cookie has no expiry (`cookie.expires`),
   * for example a browser-session cookie.
   * @default 86_400_000 (one day)
   */
  ttlMs?: number;
  /**
   * Create or upgrade the session table before the first query. Turn off when migrations
   * are run separately (call `store.migrate()` from a deploy step).
   * @default true
   */
  autoMigrate?: boolean;
  /**
   * Average interval in milliseconds between background deletions of expired sessions; each
   * wait is randomized by ±50% so that several app instances spread out. `false` turns the
   * background pruner off (expired sessions are still never returned; call
   * `store.deleteExpired()` yourself).
   * @default 900_000 (15 minutes)
   */
  pruneIntervalMs?: number | false;
  /**
   * Most rows deleted per statement while pruning, so that a large backlog never holds one
   * long lock. On SQLite, where a statement holds the app's thread, a batch that takes more
   * than 10 ms halves the next one (down to 50 rows) and a quick one doubles it again.
   * @default 1000
   */
  pruneBatchSize?: number;
  /**
   * Receives errors that have no caller to go to: a failed background prune, a stored session
   * that cannot be decoded. Without it they are emitted as the store's `'error'` event when it
   * has a listener, and otherwise written as a process warning. Never thrown.
   */
  onError?: (error: SessionStoreError) => void;
  /**
   * Which user a session belongs to; stored with the session in the same statement, and
   * cleared when it returns nothing (after logout). Powers `listSessionsForUser`,
   * `clearSessionsForUser` and the other per-user operations.
   * @default {@link defaultGetUserId}: `session.userId`, `session.user.id` or `session.passport.user`
   * @example (session) => session.account?.uuid
   */
  getUserId?: GetUserId;
  /**
   * Milliseconds during which a session that was just read is not written again unless its
   * data changed. Frameworks write every request's session back (express-session touches it,
   * Fastify saves it with `rolling`, koa-session with `renew`), so without it each read of a
   * page is also a write; with it a session that is only read is written at most once per
   * `touchAfterMs` per process, and never expires more than `touchAfterMs` before the
   * framework asked. Costs no extra query: the expiry comes back with the read. `0` writes
   * every time. Keep it well below the cookie's `maxAge`.
   * @default 0
   * @example touchAfterMs: 60_000 // a reader's session is written at most once a minute
   */
  touchAfterMs?: number;
  /**
   * Keys for encrypting session data at rest (AES-256-GCM, authenticated): each 32 bytes, as
   * bytes or a base64 or hex string (`openssl rand -base64 32`). The first encrypts; every
   * one decrypts, so to rotate put a new key first and drop the old one once every session
   * written with it has expired (`ttlMs`, or your cookie's `maxAge`). The data column then
   * holds ciphertext only; user ids and times stay readable so that per-user operations and
   * pruning still work. A session that cannot be decrypted (its key is gone, it was altered)
   * is reported as DECRYPTION_FAILED and treated as missing, never returned as stored.
   * @default none: data is stored as JSON
   * @example encryptionKeys: [process.env.SESSION_KEY_NEW!, process.env.SESSION_KEY_OLD!]
   */
  encryptionKeys?: readonly (string | Uint8Array)[];
  /**
   * With `encryptionKeys`, also read sessions stored unencrypted (from before encryption was
   * turned on) instead of refusing them; each is encrypted at its next save. Turn it on for
   * one session lifetime when enabling encryption, so that no one is signed out, then off.
   * @default false
   */
  readUnencrypted?: boolean;
  /**
   * Whether concurrent gets, saves, touches and deletes share statements on a database with
   * several connections (PostgreSQL): while a statement of a kind is in flight, the next
   * calls of that kind wait and go together as one (`where id = any($1)`, a multi-row upsert),
   * in call order per session, each caller getting its own result or error. A lone request
   * still runs its own statement at once. No effect on SQLite, which answers each call at once.
   * @default true
   */
  coalesceStatements?: boolean;
  /**
   * The current time in milliseconds since the epoch. Replace it only in tests.
   * @default Date.now
   */
  clock?: () => number;
}

/** {@link SessionStoreOptions} with every default applied, frozen. */
export interface ResolvedStoreOptions {
  readonly tableName: string;
  readonly ttlMs: number;
  readonly autoMigrate: boolean;
  readonly pruneIntervalMs: number | false;
  readonly pruneBatchSize: number;
  readonly onError: ((error: SessionStoreError) => void) | undefined;
  readonly getUserId: GetUserId;
  readonly touchAfterMs: number;
  /** Whether session data is encrypted (the keys themselves are kept out of the options). */
  readonly encrypted: boolean;
  readonly readUnencrypted: boolean;
  readonly coalesceStatements: boolean;
  readonly clock: () => number;
}

const DAY_MS = 86_400_000;
const FIFTEEN_MINUTES_MS = 900_000;
/** A year: a longer touchAfterMs would let a read session expire long before its cookie. */
const MAX_TOUCH_AFTER_MS = 31_536_000_000;
/** setTimeout fires at once for delays above this, so it bounds every interval option. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * Returns `value`, or `fallback` when it is undefined; throws a `TypeError` naming `option`
 * unless it is a whole number from `min` to `max`.
 */
export function wholeNumber(
  option: string,
  value: unknown,
  fallback: number,
  min = 1,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TypeError(
      `sessionsql: option \`${option}\` must be a whole number from ${min} to ${max} (got ${String(value)}). Leave it out for the default ${fallback}.`,
    );
  }
  return value;
}

function optionalBoolean(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new TypeError(`sessionsql: option \`${option}\` must be true or false.`);
  return value;
}

/** The `encryptionKeys` option checked for shape (each key's length is checked by the cipher); undefined when off. */
export function encryptionKeysOf(value: unknown): readonly unknown[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) {
    throw new TypeError(
      'sessionsql: option `encryptionKeys` must be a non-empty array of 32-byte keys, newest first (leave it out to store data unencrypted).',
    );
  }
  return [...value];
}

function optionalFunction<F>(option: string, value: unknown): F | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') {
    throw new TypeError(`sessionsql: option \`${option}\` must be a function (got ${typeof value}).`);
  }
  return value as F;
}

/** The keys of {@link SessionStoreOptions}. */
export const STORE_OPTION_KEYS: readonly string[] = Object.freeze([
  'tableName',
  'ttlMs',
  'autoMigrate',
  'pruneIntervalMs',
  'pruneBatchSize',
  'onError',
  'getUserId',
  'touchAfterMs',
  'encryptionKeys',
  'readUnencrypted',
  'coalesceStatements',
  'clock',
]);

/**
 * Option names of the stores people switch from (connect-pg-simple, connect-session-knex,
 * better-sqlite3-session-store, connect-redis) and of earlier sessionsql versions, with what
 * to write instead.
 */
const RENAMED_OPTIONS: { readonly [key: string]: string } = {
  ttl: '`ttlMs` (milliseconds; the peers take seconds)',
  touchAfter: '`touchAfterMs` (milliseconds: `touchAfter: 60` is `touchAfterMs: 60_000`)',
  disableTouch: '`touchAfterMs` (a session that is only read is then written at most once per that many milliseconds)',
  pruneSessionInterval: '`pruneIntervalMs` (milliseconds, or false)',
  clearInterval: '`pruneIntervalMs` (milliseconds, or false)',
  expired: '`pruneIntervalMs` (milliseconds, or false)',
  createTableIfMissing: '`autoMigrate` (true by default)',
  createTable: '`autoMigrate` (true by default)',
  tablename: '`tableName`',
  schema: '`schemaName`',
  table: '`tableName`',
  conString: '`connectionString`',
  conObject: '`poolConfig` (with `connectionString`) or `pool`',
  client: '`database` (SQLite) or `pool` (PostgreSQL)',
  knex: '`database` (SQLite) or `pool` (PostgreSQL)',
  errorLog: '`onError`',
  sidfieldname: 'nothing: the id column is always `id`',
};

/**
 * Throws a `TypeError` for any key of `options` not in `known`, naming the right key for
 * people coming from other stores. Catches typos and options that would be silently ignored.
 */
export function assertKnownOptions(options: object, known: readonly string[], owner: string): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const hint = Object.hasOwn(RENAMED_OPTIONS, key) ? RENAMED_OPTIONS[key] : undefined;
    throw new TypeError(
      `sessionsql: ${owner} has no option \`${key}\`${hint === undefined ? '' : `; use ${hint}`}. Its options are ${known.map((k) => `\`${k}\``).join(', ')}.`,
    );
  }
}

/**
 * Checks and copies the options shared by every store; throws a `TypeError` naming the option
 * and the fix for any bad value. `ownKeys` are the options of the store class being built
 * (`database`, `connectionString`, …), checked by that class; any other key is refused.
 */
export function resolveStoreOptions(
  options: SessionStoreOptions | undefined,
  ownKeys: readonly string[] = [],
  owner = 'the session store',
): ResolvedStoreOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError('sessionsql: options must be an object.');
  }
  const o = options ?? {};
  assertKnownOptions(o, [...STORE_OPTION_KEYS, ...ownKeys], owner);
  const autoMigrate = o.autoMigrate ?? true;
  if (typeof autoMigrate !== 'boolean') {
    throw new TypeError('sessionsql: option `autoMigrate` must be true or false.');
  }
  const pruneIntervalMs =
    o.pruneIntervalMs === false
      ? false
      : wholeNumber('pruneIntervalMs', o.pruneIntervalMs, FIFTEEN_MINUTES_MS, 1, Math.floor(MAX_TIMER_MS / 1.5));
  return Object.freeze({
    tableName: assertIdentifier('tableName', o.tableName ?? 'sessions', MAX_TABLE_NAME_LENGTH),
    ttlMs: wholeNumber('ttlMs', o.ttlMs, DAY_MS),
    autoMigrate,
    pruneIntervalMs,
    pruneBatchSize: wholeNumber('pruneBatchSize', o.pruneBatchSize, 1000, 1, 1_000_000),
    onError: optionalFunction<(error: SessionStoreError) => void>('onError', o.onError),
    getUserId: optionalFunction<GetUserId>('getUserId', o.getUserId) ?? defaultGetUserId,
    touchAfterMs: wholeNumber('touchAfterMs', o.touchAfterMs, 0, 0, MAX_TOUCH_AFTER_MS),
    encrypted: encryptionKeysOf(o.encryptionKeys) !== undefined,
    readUnencrypted: optionalBoolean('readUnencrypted', o.readUnencrypted, false),
    coalesceStatements: optionalBoolean('coalesceStatements', o.coalesceStatements, true),
    clock: optionalFunction<() => number>('clock', o.clock) ?? Date.now,
  });
}
