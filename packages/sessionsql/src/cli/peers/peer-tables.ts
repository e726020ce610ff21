import { existsSync } from 'node:fs';
import { assertIdentifier, MAX_TABLE_NAME_LENGTH } from '@sessionsql/core';
import type { SessionDbTarget } from '../../session-db-url.js';
import { redactUrl } from '../../session-db-url.js';
import { CliFailure, UsageError } from '../exit-codes.js';

/** Where another session store keeps its sessions, as that library creates its table. */
export interface PeerLayout {
  /** The databases the library writes to. */
  readonly backends: readonly SessionDbTarget['backend'][];
  /** The table name the library uses unless told otherwise. */
  readonly table: string;
  /** The session id, the session as JSON, and its expiry. */
  readonly sid: string;
  readonly sess: string;
  readonly expires: string;
}

/**
 * The session stores whose tables `import --peer` reads (their own schemas):
 * - connect-pg-simple 10: `session (sid varchar, sess json, expire timestamp(6))`;
 * - connect-session-knex 5: `sessions (sid varchar, sess json|text, expired timestamptz|datetime)`,
 *   the expiry stored by SQLite as ISO 8601 text (older versions: ms as a number);
 * - better-sqlite3-session-store 0.1: `sessions (sid text, sess json, expire text ISO 8601)`.
 */
export const PEERS: Readonly<Record<string, PeerLayout>> = {
  'connect-pg-simple': { backends: ['postgres'], table: 'session', sid: 'sid', sess: 'sess', expires: 'expire' },
  'connect-session-knex': {
    backends: ['postgres', 'sqlite'],
    table: 'sessions',
    sid: 'sid',
    sess: 'sess',
    expires: 'expired',
  },
  'better-sqlite3-session-store': {
    backends: ['sqlite'],
    table: 'sessions',
    sid: 'sid',
    sess: 'sess',
    expires: 'expire',
  },
};

/** One row of a peer's table, as read. */
export interface PeerRow {
  readonly sid: string;
  /** The session's JSON text. */
  readonly sess: string;
  /** The expiry in ms, or null when it cannot be read. */
  readonly expiresAt: number | null;
}

/** A peer's table, read in pages ordered by session id. */
export interface PeerSource {
  /** What the source is, for messages: `connect-pg-simple table "session"`. */
  readonly label: string;
  count(): Promise<number>;
  /** Up to `limit` rows whose sid sorts after `after`. */
  page(after: string | null, limit: number): Promise<PeerRow[]>;
  close(): Promise<void>;
}

/** The layout of the peer `name`; an unknown name is a usage error. */
export function peerLayout(name: string): PeerLayout {
  const layout = Object.hasOwn(PEERS, name) ? PEERS[name] : undefined;
  if (layout === undefined) {
    throw new UsageError(`unknown peer ${JSON.stringify(name)}: expected one of ${Object.keys(PEERS).join(', ')}.`);
  }
  return layout;
}

/**
 * An expiry as a peer stores it, in ms: a Date, ms or seconds since 1970 (number or digits),
 * or a date text (ISO 8601, or SQLite's `YYYY-MM-DD HH:MM:SS`, read as UTC).
 */
export function expiryMs(value: unknown): number | null {
  if (value instanceof Date) return Number.isFinite(value.getTime()) ? value.getTime() : null;
  if (typeof value === 'bigint') return expiryMs(Number(value));
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return null;
    return Math.abs(value) < 1e11 ? value * 1000 : value;
  }
  if (typeof value !== 'string' || value.trim() === '') return null;
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return expiryMs(Number(text));
  const iso = /^\d{4}-\d{2}-\d{2} \d/.test(text) ? text.replace(' ', 'T') : text;
  const zoned = /[zZ]|[+-]\d{2}:?\d{2}$/.test(iso) || !iso.includes('T') ? iso : `${iso}Z`;
  const ms = Date.parse(zoned);
  return Number.isFinite(ms) ? ms : null;
}

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/**
 * Opens the peer table at `url` (read only) and checks that it is there with the peer's
 * columns; a missing table is a failure (exit 1) before anything is written.
 */
export async function openPeerSource(
  peer: string,
  layout: PeerLayout,
  url: string,
  target: SessionDbTarget,
  table: string,
  timeoutSeconds: number,
): Promise<PeerSource> {
  try {
    assertIdentifier('--from-table', table, MAX_TABLE_NAME_LENGTH);
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^sessionsql: /, ''));
  }
  if (!layout.backends.includes(target.backend)) {
    throw new UsageError(
      `${peer} keeps its sessions in ${layout.backends.join(' or ')}, but --from is ${target.backend === 'sqlite' ? 'a SQLite' : 'a PostgreSQL'} URL (${redactUrl(url)}).`,
    );
  }
  const label = `${peer} table ${JSON.stringify(table)}`;
  const columns = [layout.sid, layout.sess, layout.expires];
  const missing = (found: readonly string[], where: string) => {
    if (found.length === 0) {
      throw new CliFailure(
        `no table ${JSON.stringify(table)} in ${where}: nothing was imported. Pass the table ${peer} uses with --from-table.`,
      );
    }
    const absent = columns.filter((c) => !found.includes(c));
    if (absent.length > 0) {
      throw new CliFailure(
        `the table ${JSON.stringify(table)} in ${where} is not ${peer}'s: it has no column ${absent.join(', ')} (expected ${columns.join(', ')}); nothing was imported.`,
      );
    }
  };

  if (target.backend === 'sqlite') {
    if (target.database === ':memory:' || !existsSync(target.database)) {
      throw new UsageError(`the SQLite file ${JSON.stringify(target.database)} (--from) does not exist.`);
    }
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(target.database, { readonly: true, fileMustExist: true, timeout: timeoutSeconds * 1000 });
    try {
      const info = db.prepare(`select name from pragma_table_info(?)`).all(table) as { name: string }[];
      missing(
        info.map((c) => c.name),
        `the SQLite file ${JSON.stringify(target.database)}`,
      );
    } catch (error) {
      db.close();
      throw error;
    }
    const [sid, sess, exp] = columns.map(quote) as [string, string, string];
    const t = quote(table);
    const first = db.prepare(`select ${sid} as sid, ${sess} as sess, ${exp} as exp from ${t} order by ${sid} limit ?`);
    const next = db.prepare(
      `select ${sid} as sid, ${sess} as sess, ${exp} as exp from ${t} where ${sid} > ? order by ${sid} limit ?`,
    );
    type Raw = { sid: unknown; sess: unknown; exp: unknown };
    const toRow = (r: Raw): PeerRow => ({
      sid: String(r.sid),
      sess: typeof r.sess === 'string' ? r.sess : Buffer.isBuffer(r.sess) ? r.sess.toString('utf8') : String(r.sess),
      expiresAt: expiryMs(r.exp),
    });
    return {
      label,
      count: async () => (db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n,
      page: async (after, limit) => ((after === null ? first.all(limit) : next.all(after, limit)) as Raw[]).map(toRow),
      close: async () => void db.close(),
    };
  }

  const { default: pg } = await import('pg');
  const client = new pg.Client({
    connectionString: target.connectionString,
    connectionTimeoutMillis: timeoutSeconds * 1000,
  });
  await client.connect();
  const schema = target.schemaName ?? 'public';
  let types: Map<string, string>;
  try {
    const info = await client.query<{ column_name: string; data_type: string }>(
      'select column_name, data_type from information_schema.columns where table_schema = $1 and table_name = $2',
      [schema, table],
    );
    types = new Map(info.rows.map((r) => [r.column_name, r.data_type]));
    missing([...types.keys()], `the PostgreSQL schema ${JSON.stringify(schema)}`);
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  const [sid, sess, exp] = columns.map(quote) as [string, string, string];
  const t = `${quote(schema)}.${quote(table)}`;
  const numeric = /int|numeric|double|real/.test(types.get(layout.expires) ?? '');
  const expiry = numeric ? `${exp}::float8` : `extract(epoch from ${exp}::timestamptz)::float8 * 1000`;
  const select = `select ${sid}::text as sid, ${sess}::text as sess, ${expiry} as exp from ${t}`;
  type Raw = { sid: string; sess: string; exp: number | null };
  return {
    label,
    count: async () => Number((await client.query<{ n: string }>(`select count(*) as n from ${t}`)).rows[0]?.n ?? 0),
    page: async (after, limit) => {
      const result =
        after === null
          ? await client.query<Raw>(`${select} order by ${sid} collate "C" limit $1`, [limit])
          : await client.query<Raw>(`${select} where ${sid} collate "C" > $1 order by ${sid} collate "C" limit $2`, [
              after,
              limit,
            ]);
      return result.rows.map((r) => ({ sid: r.sid, sess: r.sess, expiresAt: expiryMs(r.exp) }));
    },
    close: () => client.end(),
  };
}
