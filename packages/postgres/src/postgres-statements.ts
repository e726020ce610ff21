/**
 * The statements whose syntax differs on PostgreSQL (see `SessionBackend.statements`): the
 * pruner's batched delete, and the batch statements the store coalesces concurrent
 * operations into, over arrays.
 */
import {
  prepareQuery,
  type QueryParams,
  rawStatement as raw,
  type SessionQueries,
  type TableLocation,
} from '@sessionsql/core';
import { type Kysely, sql } from 'kysely';

/**
 * The batch statements (see `SessionQueries`): one array per column, unnested into rows. The
 * store coalesces concurrent gets, sets, updates, touches and deletes into them.
 */
function batchStatements(db: Kysely<any>, where: TableLocation): Partial<SessionQueries> {
  const table = sql.table(`${where.schema}.${where.table}`);
  const values = (p: QueryParams<'keys' | 'datas' | 'expiresAts' | 'userIds'>) =>
    sql`unnest(${p.keys}::text[], ${p.datas}::json[], ${p.expiresAts}::timestamptz[], ${p.userIds}::text[]) as v(id, data, expires_at, user_id)`;
  const columns = ['keys', 'datas', 'expiresAts', 'userIds', 'now'] as const;
  return {
    getMany: prepareQuery(
      ['keys', 'now'],
      (p) =>
        raw(
          db,
          sql`select id, data, expires_at from ${table} where id = any(${p.keys}::text[]) and expires_at > ${p.now}`,
        ),
      true,
    ),
    setMany: prepareQuery(
      columns,
      (p) =>
        raw(
          db,
          sql`insert into ${table} as t (id, data, expires_at, user_id, created_at, updated_at)
            select v.id, v.data, v.expires_at, v.user_id, n.now, n.now from ${values(p)}, (select ${p.now}::timestamptz as now) n
            on conflict (id) do update set data = excluded.data, expires_at = excluded.expires_at, user_id = excluded.user_id,
              updated_at = excluded.updated_at,
              created_at = case when t.expires_at <= excluded.updated_at then excluded.created_at else t.created_at end`,
        ),
      false,
    ),
    updateMany: prepareQuery(
      columns,
      (p) =>
        raw(
          db,
          sql`update ${table} as t set data = v.data, expires_at = v.expires_at, user_id = v.user_id, updated_at = n.now
            from ${values(p)}, (select ${p.now}::timestamptz as now) n
            where t.id = v.id and t.expires_at > n.now returning t.id`,
        ),
      true,
    ),
    touchMany: prepareQuery(
      ['keys', 'expiresAts', 'now'],
      (p) =>
        raw(
          db,
          sql`update ${table} as t set expires_at = v.expires_at, updated_at = n.now
            from unnest(${p.keys}::text[], ${p.expiresAts}::timestamptz[]) as v(id, expires_at), (select ${p.now}::timestamptz as now) n
            where t.id = v.id and t.expires_at > n.now returning t.id`,
        ),
      true,
    ),
    destroyMany: prepareQuery(
      ['keys'],
      (p) => raw(db, sql`delete from ${table} where id = any(${p.keys}::text[])`),
      false,
    ),
  };
}

/** PostgreSQL's own statements for the session table `where`; core compiles the rest. */
export function postgresStatements(db: Kysely<any>, where: TableLocation): Partial<SessionQueries> {
  const table = sql.table(`${where.schema}.${where.table}`);
  return {
    // A batch found by physical row address: no second lookup through the id index.
    deleteExpiredBatch: prepareQuery(
      ['now', 'limit'],
      (p) =>
        raw(
          db,
          sql`delete from ${table} where ctid = any(array(select ctid from ${table} where expires_at <= ${p.now} limit ${p.limit}))`,
        ),
      false,
    ),
    ...batchStatements(db, where),
  };
}
