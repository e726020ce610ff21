/**
 * `sessionsql import --peer`: tables written by the real peer stores (through express-session
 * over HTTP, and their `set` for an expired session) are adopted, and the cookie the old store
 * issued is still signed in on sessionsql's DefaultSessionStore with the same secret.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import connectPgSimple from 'connect-pg-simple';
import { ConnectSessionKnexStore } from 'connect-session-knex';
import express from 'express';
import session from 'express-session';
import knex from 'knex';
import pg from 'pg';
import { DefaultSessionStore, openRecordStore } from 'sessionsql';
import { describe, expect, inject, it } from 'vitest';
import { postgresUrl, run, sqliteDir, store } from './cli-harness.js';

const SECRET = 'the secret the old store signed with';
const dir = sqliteDir();
const sqlite = (name: string) => join(dir, `${name}.db`);

/** An app on `sessionStore`: POST /login?user=… signs in (new id), GET /me reads the session. */
async function startApp(sessionStore: session.Store) {
  const app = express();
  app.use(session({ store: sessionStore, secret: SECRET, resave: false, saveUninitialized: false }));
  app.post('/login', (req, res, next) => {
    req.session.regenerate((err) => {
      if (err) return next(err);
      const s = req.session as unknown as { user: { id: string }; cart: string[] };
      s.user = { id: String(req.query.user) };
      s.cart = ['book', 'lamp'];
      req.session.cookie.maxAge = 3_600_000;
      req.session.save((saveErr) => (saveErr ? next(saveErr) : res.json({ ok: true })));
    });
  });
  app.get('/me', (req, res) => {
    const s = req.session as unknown as { user?: { id: string }; cart?: string[] };
    res.json({ user: s.user ?? null, cart: s.cart ?? null });
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    async login(user: string): Promise<string> {
      const r = await fetch(`${base}/login?user=${user}`, { method: 'POST' });
      expect(r.status).toBe(200);
      const cookie = /connect\.sid=[^;]+/.exec(r.headers.get('set-cookie') ?? '')?.[0];
      if (cookie === undefined) throw new Error('no session cookie');
      return cookie;
    },
    async me(cookie: string): Promise<unknown> {
      return (await fetch(`${base}/me`, { headers: { cookie } })).json();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Signs alice and bob in through the peer store, and saves one expired session with its `set`. */
async function writeThroughPeer(peer: session.Store): Promise<{ alice: string; bob: string }> {
  const app = await startApp(peer);
  try {
    const alice = await app.login('alice');
    const bob = await app.login('bob');
    expect(await app.me(alice)).toEqual({ user: { id: 'alice' }, cart: ['book', 'lamp'] });
    const cookie = new session.Cookie();
    cookie.expires = new Date(Date.now() - 60_000);
    await new Promise<void>((resolve, reject) =>
      peer.set('expired-sid', { cookie, user: { id: 'carol' } } as unknown as session.SessionData, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    return { alice, bob };
  } finally {
    await app.close();
  }
}

/** Signs in through connect-session-knex on a knex instance made with `config`, then closes it. */
async function writeThroughKnex(config: knex.Knex.Config): Promise<{ alice: string; bob: string }> {
  const db = knex(config);
  try {
    const peer = new ConnectSessionKnexStore({ knex: db, cleanupInterval: 0 });
    await peer.ready;
    return await writeThroughPeer(peer);
  } finally {
    await db.destroy();
  }
}

/** Imports with `args`, then checks the cookies on sessionsql, the user ids, and that a rerun changes nothing. */
async function importAndSwitch(
  args: string[],
  target: string,
  cookies: { alice: string; bob: string },
  label: RegExp,
  {
    tableName = 'sessions',
    extra = 0,
    encryptionKey,
  }: { tableName?: string; extra?: number; encryptionKey?: string } = {},
) {
  const keyArgs = encryptionKey === undefined ? [] : ['--encryption-key-env', 'APP_SESSION_KEY'];
  const env = encryptionKey === undefined ? {} : { APP_SESSION_KEY: encryptionKey };
  const live = (2 + extra).toLocaleString('en-US');
  const all = (3 + extra).toLocaleString('en-US');
  const first = await run(
    ['import', ...args, '--url', target, ...(tableName === 'sessions' ? [] : ['--table', tableName]), ...keyArgs],
    { env },
  );
  expect(first.code, first.stderr).toBe(0);
  expect(first.stdout).toMatch(
    new RegExp(`imported ${live} of ${all} sessions from ${label.source} \\(1 expired skipped\\)\\n`),
  );
  expect(first.stderr).toMatch(new RegExp(`import: ${3 + extra}/${3 + extra}`));

  const records =
    encryptionKey === undefined
      ? store(target, tableName)
      : openRecordStore({ url: target, tableName, pruneIntervalMs: false, encryptionKeys: [encryptionKey] });
  try {
    expect(await records.count()).toBe(2 + extra);
    expect(await records.countSessionsForUser('alice')).toBe(1);
    expect(await records.countSessionsForUser('bob')).toBe(1);
    expect(await records.countSessionsForUser('carol')).toBe(0);
    const before = await records.table.exportRows({ limit: 10_000 });
    if (encryptionKey !== undefined) {
      for (const row of before) expect(row.data).not.toMatch(/alice|bob|book/);
    }

    const again = await run(
      ['import', ...args, '--url', target, ...(tableName === 'sessions' ? [] : ['--table', tableName]), ...keyArgs],
      { env },
    );
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(
      new RegExp(`imported 0 of ${all} sessions .*\\(1 expired skipped, ${live} already there kept\\)`),
    );
    expect(await records.table.exportRows({ limit: 10_000 })).toEqual(before);
  } finally {
    await records.close();
  }

  const sessionsql = DefaultSessionStore.fromUrl(target, {
    tableName,
    ...(encryptionKey === undefined ? {} : { encryptionKeys: [encryptionKey] }),
  });
  const app = await startApp(sessionsql as unknown as session.Store);
  try {
    expect(await app.me(cookies.alice)).toEqual({ user: { id: 'alice' }, cart: ['book', 'lamp'] });
    expect(await app.me(cookies.bob)).toEqual({ user: { id: 'bob' }, cart: ['book', 'lamp'] });
    expect(await app.me('connect.sid=s%3Aexpired-sid.forged')).toEqual({ user: null, cart: null });
  } finally {
    await app.close();
    await sessionsql.close();
  }
}

/** A PostgreSQL URL with a fresh schema (created), its base URL and the schema name. */
async function postgresSchema(name: string) {
  const url = postgresUrl(name);
  const schema = new URL(url).searchParams.get('schema')!;
  const base = inject('postgresUrl');
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`create schema if not exists "${schema}"`);
  await client.end();
  return { url, base, schema };
}

// The cases use separate databases and mostly wait on child processes: run them side by side.
describe.concurrent('import --peer', () => {
  it('connect-pg-simple (PostgreSQL): its cookies stay signed in on sessionsql in the same database', async () => {
    const { url, base, schema } = await postgresSchema('peer_pgs');
    const pool = new pg.Pool({ connectionString: base, max: 2 });
    const PgStore = connectPgSimple(session);
    const peer = new PgStore({ pool, schemaName: schema, createTableIfMissing: true, pruneSessionInterval: false });
    let cookies: { alice: string; bob: string };
    try {
      cookies = await writeThroughPeer(peer);
    } finally {
      peer.close();
      await pool.end();
    }
    await importAndSwitch(
      ['--peer', 'connect-pg-simple', '--from', url],
      url,
      cookies,
      /connect-pg-simple table "session"/,
    );
  });

  it('better-sqlite3-session-store (SQLite): 2,500 more sessions in pages; its cookies stay signed in', async () => {
    const file = sqlite('bsss');
    const db = new Database(file);
    const SqliteStore = createRequire(import.meta.url)('better-sqlite3-session-store')(session);
    // It starts a 15-minute interval of its own that is never cleared: keep the test process free of it.
    const realSetInterval = globalThis.setInterval;
    globalThis.setInterval = ((fn: () => void, ms: number) => realSetInterval(fn, ms).unref()) as typeof setInterval;
    let peer: session.Store;
    try {
      peer = new SqliteStore({ client: db });
    } finally {
      globalThis.setInterval = realSetInterval;
    }
    let cookies: { alice: string; bob: string };
    try {
      cookies = await writeThroughPeer(peer);
      // More than one page (1,000 rows) of live sessions, saved by its own `set` (synchronous,
      // so one transaction around the loop spares 2,500 disk syncs).
      db.transaction(() => {
        for (let i = 0; i < 2500; i++) {
          const cookie = new session.Cookie();
          cookie.maxAge = 3_600_000;
          // Half as an app's own `userId`, half as Passport keeps it: getUserId finds both.
          const user = `user${i % 10}`;
          const data = i % 4 < 2 ? { cookie, userId: user } : { cookie, passport: { user } };
          peer.set(`bulk-${i}`, data as unknown as session.SessionData);
        }
      })();
    } finally {
      db.close();
    }
    await importAndSwitch(
      ['--peer', 'better-sqlite3-session-store', '--from', `sqlite:${file}`],
      `sqlite:${sqlite('bsss-target')}`,
      cookies,
      /better-sqlite3-session-store table "sessions"/,
      { extra: 2500 },
    );
    const records = store(`sqlite:${sqlite('bsss-target')}`);
    try {
      expect(await records.countSessionsForUser('user3')).toBe(250);
    } finally {
      await records.close();
    }
  });

  it('connect-session-knex (SQLite): into a second, encrypted table of the same file', async () => {
    const file = sqlite('knex');
    const cookies = await writeThroughKnex({
      client: 'better-sqlite3',
      connection: { filename: file },
      useNullAsDefault: true,
    });
    await importAndSwitch(
      ['--peer', 'connect-session-knex', '--from', `sqlite:${file}`],
      `sqlite:${file}`,
      cookies,
      /connect-session-knex table "sessions"/,
      { tableName: 'app_sessions', encryptionKey: randomBytes(32).toString('base64') },
    );
  });

  it('connect-session-knex (PostgreSQL): into another schema', async () => {
    const { url, base, schema } = await postgresSchema('peer_knex');
    const cookies = await writeThroughKnex({
      client: 'pg',
      connection: base,
      searchPath: [schema],
      pool: { min: 0, max: 2 },
    });
    await importAndSwitch(
      ['--peer', 'connect-session-knex', '--from', url],
      postgresUrl('peer_knex_target'),
      cookies,
      /connect-session-knex table "sessions"/,
    );
  });

  it('a peer table that is not there fails (exit 1) and writes nothing; bad usage exits 2', async () => {
    const file = sqlite('empty');
    new Database(file).exec('create table other (x)').close();
    const target = sqlite('never');
    const { url, base, schema } = await postgresSchema('peer_missing');
    const [missing, pgMissing] = await Promise.all([
      run([
        'import',
        '--peer',
        'better-sqlite3-session-store',
        '--from',
        `sqlite:${file}`,
        '--url',
        `sqlite:${target}`,
      ]),
      run(['import', '--peer', 'connect-pg-simple', '--from', url, '--url', url]),
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no table "sessions" in the SQLite file .*nothing was imported.*--from-table/);
    expect(existsSync(target)).toBe(false);
    expect(pgMissing.code).toBe(1);
    expect(pgMissing.stderr).toMatch(/no table "session" in the PostgreSQL schema/);
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      const tables = await client.query('select table_name from information_schema.tables where table_schema = $1', [
        schema,
      ]);
      expect(tables.rows).toEqual([]);
    } finally {
      await client.end();
    }

    const [wrongColumns, unknown, wrongBackend, noFrom, fromWithoutPeer, noKey] = await Promise.all([
      run([
        'import',
        '--peer',
        'connect-session-knex',
        '--from',
        `sqlite:${file}`,
        '--from-table',
        'other',
        '--url',
        `sqlite:${target}`,
      ]),
      run(['import', '--peer', 'connect-mongo', '--from', `sqlite:${file}`, '--url', `sqlite:${target}`]),
      run(['import', '--peer', 'connect-pg-simple', '--from', `sqlite:${file}`, '--url', `sqlite:${target}`]),
      run(['import', '--peer', 'connect-pg-simple', '--url', `sqlite:${target}`]),
      run(['import', '--from', `sqlite:${file}`, '--url', `sqlite:${target}`]),
      run([
        'import',
        '--peer',
        'connect-session-knex',
        '--from',
        `sqlite:${file}`,
        '--url',
        `sqlite:${target}`,
        '--encryption-key-env',
        'NO_SUCH_SESSION_KEY',
      ]),
    ]);
    expect(wrongColumns.code).toBe(1);
    expect(wrongColumns.stderr).toMatch(/is not connect-session-knex's: it has no column sid, sess, expired/);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(
      /unknown peer "connect-mongo": expected one of connect-pg-simple, connect-session-knex, better-sqlite3-session-store/,
    );
    expect(wrongBackend.code).toBe(2);
    expect(wrongBackend.stderr).toMatch(/connect-pg-simple keeps its sessions in postgres/);
    expect(noFrom.code).toBe(2);
    expect(noFrom.stderr).toMatch(/--peer needs --from <url>/);
    expect(fromWithoutPeer.code).toBe(2);
    expect(fromWithoutPeer.stderr).toMatch(/--from, --from-table and --encryption-key-env go with --peer/);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/the environment variable "NO_SUCH_SESSION_KEY" is not set/);
    expect(existsSync(target)).toBe(false);
  });
});
