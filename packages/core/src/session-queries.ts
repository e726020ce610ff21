import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { PreparedQuery, SessionBackend } from './session-backend.js';
import type { TableLocation } from './session-migrations.js';

/**
 * Every statement the store runs, compiled once per store. Each comment gives the values in
 * placeholder order, then what the statement does; a dialect that overrides one (see
 * `SessionBackend.statements`) keeps that order and meaning.
 */
export interface SessionQueries {
  /** (key, now) → rows `{ data }` of the live session. Every `id` bound is a session's key (`sessionKey`), never its id. */
  readonly get: PreparedQuery;
  /** (id, now) → rows `{ data, expires_at }` of the live session (for `touchAfter`). */
  readonly getWithExpiry: PreparedQuery;
  /** (id, data, expiresAt, userId, now, now): upsert; `created_at` restarts when the old row had expired. */
  readonly set: PreparedQuery;
  /**
   * (data, expiresAt, userId, updatedAt, id, now): replaces a live session's data, expiry and
   * user; never creates or revives one (a session loaded before a sign-out stays signed out).
   */
  readonly update: PreparedQuery;
  /**
   * (data, expiresAt, updatedAt, id, now, userId): `update` of a live session whose user is
   * `userId` (null: none), which it keeps: `user_id` is not set, so SQLite leaves the user
   * index alone (it rewrites the entry of every index whose columns an UPDATE sets, changed or
   * not). Changes no row when the user differs; the store then runs `update`.
   */
  readonly updateKeepingUser: PreparedQuery;
  /** (id) → deletes one session. */
  readonly destroy: PreparedQuery;
  /** (expiresAt, now, id, now): moves the expiry of a live session; never creates a row. */
  readonly touch: PreparedQuery;
  /** (now) → rows `{ id, data }` of every live session. */
  readonly all: PreparedQuery;
  /** (now) → one row `{ count }` of live sessions. */
  readonly length: PreparedQuery;
  /** () → deletes every session. */
  readonly clear: PreparedQuery;
  /** (now, limit) → deletes up to `limit` expired sessions. */
  readonly deleteExpiredBatch: PreparedQuery;
  /** (userId, now, except) → deletes the user's live sessions but `except` ('' keeps none). */
  readonly clearForUser: PreparedQuery;
  /** (userId, now) → rows `{ id, data }` of the user's live sessions, newest first (counted once decoded). */
  readonly idsForUser: PreparedQuery;
  /** (userId, now, limit, offset) → the user's live sessions, newest first. */
  readonly listForUser: PreparedQuery;
  /** (now, afterId, limit) → a page of live sessions ordered by id, after `afterId`. */
  readonly dumpPage: PreparedQuery;
  /**
   * (now, limit) → rows `{ user_id, n, users }`: the users with live sessions and how many each
   * has (`n`), most first, then by user id, at most `limit` rows; every row also carries
   * `users`, how many such users there are (for `stats`).
   */
  readonly liveUserCounts: PreparedQuery;
  /*
   * Batch statements, only from a dialect whose driver binds arrays (PostgreSQL): with one,
   * concurrent operations of its kind share one statement (see `StatementCoalescer`). Each
   * takes one array per column, all of the same length and order, then `now`; no key is
   * twice in one batch.
   */
  /** (keys[], now) → rows `{ id, data, expires_at }` of the live sessions among `keys`. */
  readonly getMany?: PreparedQuery;
  /** (keys[], datas[], expiresAts[], userIds[], now): `set` of each. */
  readonly setMany?: PreparedQuery;
  /** (keys[], datas[], expiresAts[], userIds[], now) → rows `{ id }` of the live sessions updated: `update` of each. */
  readonly updateMany?: PreparedQuery;
  /** (keys[], expiresAts[], now) → rows `{ id }` of the live sessions touched: `touch` of each. */
  readonly touchMany?: PreparedQuery;
  /** (keys[]): `destroy` of each. */
  readonly destroyMany?: PreparedQuery;
}

/**
 * Stand-ins bound while compiling; after compilation their order in the parameter list is
 * checked against the order the store passes values in, so a reordering by kysely fails at
 * construction instead of binding values to the wrong placeholders.
 */
export type QueryParams<N extends string> = { readonly [K in N]: any };

/**
 * Compiles one statement built with kysely: `names` are its values in the order the store
 * binds them, and `build` receives a stand-in for each; `returnsRows` is `'one row'` for a
 * lookup by primary key. Throws when kysely placed them in another order.
 * @example prepareQuery(['id'], (p) => db.deleteFrom('sessions').where('id', '=', p.id), false)
 */
export function prepareQuery<const N extends string>(
  names: readonly N[],
  build: (p: QueryParams<N>) => { compile(): CompiledSql },
  returnsRows: boolean | 'one row',
): PreparedQuery {
  const markers = Object.fromEntries(names.map((n) => [n, `\u0000sessionsql:${n}`])) as QueryParams<N>;
  const compiled = build(markers).compile();
  const expected = (compiled.parameters as unknown[]).map((p) => String(p).replace('\u0000sessionsql:', ''));
  const order = expected.join(',');
  if (order !== names.join(',')) {
    throw new Error(`sessionsql internal error: parameters compiled as (${order}), expected (${names.join(',')})`);
  }
  return Object.freeze({ sql: compiled.sql, returnsRows: returnsRows !== false, oneRow: returnsRows === 'one row' });
}

/**
 * A statement written in SQL with kysely's `sql` tag, for {@link prepareQuery}: a dialect's
 * own statements (see `SessionBackend.statements`) compile on its Kysely instance `db`.
 * @example prepareQuery(['id'], (p) => rawStatement(db, sql`delete from t where id = ${p.id}`), false)
 */
export function rawStatement(db: Kysely<any>, statement: RawBuilder<unknown>): { compile(): CompiledSql } {
  return { compile: () => statement.compile(db) };
}

/** What {@link prepareQuery} reads of a compiled statement. */
type CompiledSql = { sql: string; parameters: readonly unknown[] };

/**
 * Compiles the store's statements for one table: the backend's own where it has them, the
 * portable ones below for the rest.
 */
export function compileSessionQueries(backend: SessionBackend, where: TableLocation): SessionQueries {
  return Object.freeze({ ...portableQueries(backend.db, where), ...backend.statements?.(backend.db, where) });
}

/** The statements in SQL that SQLite and PostgreSQL (and most databases) share. */
function portableQueries(kysely: Kysely<any>, where: TableLocation): SessionQueries {
  const db = where.schema === undefined ? kysely : kysely.withSchema(where.schema);
  const t = where.table;
  const prepare = prepareQuery;
  return {
    get: prepare(
      ['id', 'now'],
      (p) => db.selectFrom(t).select('data').where('id', '=', p.id).where('expires_at', '>', p.now),
      'one row',
    ),
    getWithExpiry: prepare(
      ['id', 'now'],
      (p) => db.selectFrom(t).select(['data', 'expires_at']).where('id', '=', p.id).where('expires_at', '>', p.now),
      'one row',
    ),
    set: prepare(
      ['id', 'data', 'expiresAt', 'userId', 'createdAt', 'updatedAt'],
      (p) =>
        db
          .insertInto(t)
          .values({
            id: p.id,
            data: p.data,
            expires_at: p.expiresAt,
            user_id: p.userId,
            created_at: p.createdAt,
            updated_at: p.updatedAt,
          })
          .onConflict((oc) =>
            oc.column('id').doUpdateSet((eb) => ({
              data: eb.ref('excluded.data'),
              expires_at: eb.ref('excluded.expires_at'),
              user_id: eb.ref('excluded.user_id'),
              updated_at: eb.ref('excluded.updated_at'),
              // An expired row that was not pruned yet is a new session for this id.
              created_at: eb
                .case()
                .when(`${t}.expires_at`, '<=', eb.ref('excluded.updated_at'))
                .then(eb.ref('excluded.created_at'))
                .else(eb.ref(`${t}.created_at`))
                .end(),
            })),
          ),
      false,
    ),
    update: prepare(
      ['data', 'expiresAt', 'userId', 'updatedAt', 'id', 'now'],
      (p) =>
        db
          .updateTable(t)
          .set({ data: p.data, expires_at: p.expiresAt, user_id: p.userId, updated_at: p.updatedAt })
          .where('id', '=', p.id)
          .where('expires_at', '>', p.now),
      false,
    ),
    updateKeepingUser: prepare(
      ['data', 'expiresAt', 'updatedAt', 'id', 'now', 'userId'],
      (p) =>
        db
          .updateTable(t)
          .set({ data: p.data, expires_at: p.expiresAt, updated_at: p.updatedAt })
          .where('id', '=', p.id)
          .where('expires_at', '>', p.now)
          .where('user_id', 'is not distinct from', p.userId),
      false,
    ),
    destroy: prepare(['id'], (p) => db.deleteFrom(t).where('id', '=', p.id), false),
    touch: prepare(
      ['expiresAt', 'updatedAt', 'id', 'now'],
      (p) =>
        db
          .updateTable(t)
          .set({ expires_at: p.expiresAt, updated_at: p.updatedAt })
          .where('id', '=', p.id)
          .where('expires_at', '>', p.now),
      false,
    ),
    all: prepare(['now'], (p) => db.selectFrom(t).select(['id', 'data']).where('expires_at', '>', p.now), true),
    length: prepare(
      ['now'],
      (p) =>
        db
          .selectFrom(t)
          .select((eb) => eb.fn.countAll().as('count'))
          .where('expires_at', '>', p.now),
      true,
    ),
    clear: prepare([], () => db.deleteFrom(t), false),
    deleteExpiredBatch: prepare(
      ['now', 'limit'],
      (p) =>
        db
          .deleteFrom(t)
          .where('id', 'in', db.selectFrom(t).select('id').where('expires_at', '<=', p.now).limit(p.limit)),
      false,
    ),
    clearForUser: prepare(
      ['userId', 'now', 'except'],
      (p) =>
        db.deleteFrom(t).where('user_id', '=', p.userId).where('expires_at', '>', p.now).where('id', '<>', p.except),
      false,
    ),
    idsForUser: prepare(
      ['userId', 'now'],
      (p) =>
        db
          .selectFrom(t)
          .select(['id', 'data'])
          .where('user_id', '=', p.userId)
          .where('expires_at', '>', p.now)
          .orderBy('created_at', 'desc')
          .orderBy('id'),
      true,
    ),
    listForUser: prepare(
      ['userId', 'now', 'limit', 'offset'],
      (p) =>
        db
          .selectFrom(t)
          .select(['id', 'user_id', 'data', 'expires_at', 'created_at', 'updated_at'])
          .where('user_id', '=', p.userId)
          .where('expires_at', '>', p.now)
          .orderBy('created_at', 'desc')
          .orderBy('id')
          .limit(p.limit)
          .offset(p.offset),
      true,
    ),
    dumpPage: prepare(
      ['now', 'afterId', 'limit'],
      (p) =>
        db
          .selectFrom(t)
          .select(['id', 'user_id', 'data', 'expires_at'])
          .where('expires_at', '>', p.now)
          .where('id', '>', p.afterId)
          .orderBy('id')
          .limit(p.limit),
      true,
    ),
    // One range of the expiry index, which also holds the user (migration 0004). The user is
    // tested as `coalesce(user_id, '') <> ''` (no user id is empty) so that a planner does not
    // walk the user index instead, which holds no expiry (SQLite: 1.1 s at a million rows).
    liveUserCounts: prepare(
      ['now', 'limit'],
      (p) =>
        db
          .selectFrom(t)
          .select((eb) => ['user_id', eb.fn.countAll().as('n'), eb.fn.countAll().over().as('users')])
          .where((eb) => eb(eb.fn.coalesce('user_id', sql.lit('')), '<>', sql.lit('')))
          .where('expires_at', '>', p.now)
          .groupBy('user_id')
          .orderBy('n', 'desc')
          .orderBy('user_id')
          .limit(p.limit),
      true,
    ),
  };
}
