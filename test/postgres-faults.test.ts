/**
 * PostgreSQL faults on a real server through real sockets: a network partition (a TCP proxy
 * that stops forwarding without closing anything), an exhausted pool, a server that refuses
 * SSL, a lock held past the timeout; one error code for one cause, and the URL parameters the
 * URL parser accepts each taking effect. Timeouts are kept small so that the file runs in
 * seconds.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import { PostgresSessionStore } from '@sessionsql/postgres';
import pg from 'pg';
import { DefaultSessionStore, SessionStoreError } from 'sessionsql';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { selectedDialects } from './dialects.js';
import { startTcpProxy, type TcpProxy } from './net/tcp-proxy.mjs';
import { startTlsPostgresProxy, TLS_FILES, type TlsPostgresProxy } from './net/tls-postgres-proxy.js';
import { session } from './store-suite.js';

const run = promisify(execFile);
type Store = DefaultSessionStore | PostgresSessionStore;

describe.runIf(selectedDialects().includes('postgres'))('PostgreSQL faults', () => {
  const base = new URL(inject('postgresUrl'));
  const server = { host: base.hostname, port: Number(base.port || 5432) };
  const schema = `faults_${process.pid}`;
  let admin: pg.Pool;
  let counter = 0;
  const cleanups: (() => Promise<unknown> | unknown)[] = [];

  beforeAll(async () => {
    admin = new pg.Pool({ connectionString: base.href, max: 3 });
    admin.on('error', () => undefined);
    await admin.query(`create schema if not exists "${schema}"`);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
  });
  afterAll(async () => {
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });

  /** The test server's URL with another host, port, path or parameters (`schema` is this file's). */
  function urlTo(
    port: number,
    params: Record<string, string> = {},
    {
      host = server.host,
      database,
      withSchema = true,
    }: { host?: string; database?: string; withSchema?: boolean } = {},
  ): string {
    const url = new URL(base.href);
    url.hostname = host;
    url.port = String(port);
    if (database !== undefined) url.pathname = `/${database}`;
    if (withSchema) url.searchParams.set('schema', schema);
    for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
    return url.href;
  }
  const table = () => `t${counter++}`;
  function track<T extends Store>(store: T): T {
    cleanups.push(() => store.close());
    return store;
  }
  async function proxy(): Promise<TcpProxy> {
    const started = await startTcpProxy(server);
    cleanups.push(() => started.close());
    return started;
  }
  async function tlsProxy(): Promise<TlsPostgresProxy> {
    const started = await startTlsPostgresProxy(server);
    cleanups.push(() => started.close());
    return started;
  }
  function pool(config: pg.PoolConfig): pg.Pool {
    const created = new pg.Pool(config);
    created.on('error', () => undefined);
    cleanups.push(() => created.end());
    return created;
  }
  function fromUrl(url: string, options: Record<string, unknown> = {}): DefaultSessionStore {
    return track(DefaultSessionStore.fromUrl(url, { tableName: table(), pruneIntervalMs: false, ...options }));
  }

  /** How a call ended and how long it took. */
  async function outcome<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: SessionStoreError }> {
    const start = performance.now();
    try {
      const value = await promise;
      return { ms: performance.now() - start, value };
    } catch (error) {
      expect(error).toBeInstanceOf(SessionStoreError);
      return { ms: performance.now() - start, error: error as SessionStoreError };
    }
  }
  /** The server processes of the connections named `application_name`. */
  async function backends(applicationName: string): Promise<number[]> {
    const { rows } = await admin.query<{ pid: number }>(
      'select pid from pg_stat_activity where application_name = $1 order by pid',
      [applicationName],
    );
    return rows.map((row) => row.pid);
  }
  async function closedPort(): Promise<number> {
    const listener = createServer();
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const { port } = listener.address() as { port: number };
    await new Promise((resolve) => listener.close(resolve));
    return port;
  }
  // The test server's password is checked only when it is not also a name printed on purpose
  // (the embedded server's is "postgres", its user and database).
  const password = decodeURIComponent(base.password);
  const checkedPassword = [base.username, base.pathname.slice(1), 'postgres'].includes(password) ? '' : password;
  /** The message and every cause's, which must never hold the password, a session id or session data. */
  function everythingPrinted(error: unknown): string {
    const parts: string[] = [];
    for (let current = error; current instanceof Error; current = current.cause) {
      parts.push(String(current), current.stack ?? '', JSON.stringify(current));
    }
    return parts.join('\n');
  }
  function expectNoSecrets(error: unknown, ...secrets: string[]): void {
    const printed = everythingPrinted(error);
    for (const secret of [checkedPassword, ...secrets]) if (secret.length > 3) expect(printed).not.toContain(secret);
  }

  describe('a network partition (a proxy that stops forwarding, sockets left open)', () => {
    it('a call on an open pooled connection fails with CONNECTION_FAILED after queryTimeoutMs, naming it; every call is bounded; the store serves again once it heals', async () => {
      const link = await proxy();
      const app = `sessionsql_partition_${process.pid}`;
      const store = fromUrl(urlTo(link.port, { application_name: app }), {
        queryTimeoutMs: 400,
        poolConfig: { max: 2, connectionTimeoutMillis: 400 },
      });
      await store.set('secret-session-id', session({ v: 'secret-data' }));
      expect(await store.get('secret-session-id')).toMatchObject({ v: 'secret-data' });
      const before = await backends(app);
      expect(before.length).toBeGreaterThan(0);

      link.pause();
      const first = await outcome(store.get('secret-session-id'));
      expect(first.error?.code).toBe('CONNECTION_FAILED');
      expect(first.error?.message).toMatch(/did not answer within 400 ms \(queryTimeoutMs\)/);
      expect(first.error?.message).toContain(`127.0.0.1:${link.port}/`);
      expect(first.error?.cause).toMatchObject({ code: 'SESSIONSQL_QUERY_TIMEOUT' });
      expect(first.ms).toBeGreaterThanOrEqual(390);
      expect(first.ms).toBeLessThan(1500);
      expectNoSecrets(first.error, 'secret-session-id', 'secret-data');
      // Every later call is bounded too: an idle connection times out the same way, a new one
      // is not set up within connectionTimeoutMillis. Writes as much as reads.
      const causes = new Set<string>();
      for (const call of [
        (): Promise<unknown> => store.get('secret-session-id'),
        () => store.set('secret-session-id', session({ v: 'secret-data' })),
        () => store.length(),
        () => store.destroy('secret-session-id'),
      ]) {
        const next = await outcome(call());
        expect(next.error?.code).toBe('CONNECTION_FAILED');
        expect(next.error?.message).toMatch(/within 400 ms/);
        expect(next.ms).toBeLessThan(1500);
        expectNoSecrets(next.error, 'secret-session-id', 'secret-data');
        causes.add((next.error!.cause as { code: string }).code);
      }
      expect([...causes].every((code) => /^SESSIONSQL_(QUERY|CONNECT)_TIMEOUT$/.test(code))).toBe(true);

      link.resume();
      const healed = performance.now();
      expect(await store.get('secret-session-id')).toMatchObject({ v: 'secret-data' });
      expect(performance.now() - healed).toBeLessThan(1000);
      // The connections that timed out were closed, not pooled: their server processes end.
      await vi.waitFor(
        async () => {
          const after = await backends(app);
          expect(after.filter((pid) => before.includes(pid))).toEqual([]);
          expect(after.length).toBeLessThanOrEqual(2);
        },
        { timeout: 5000, interval: 100 },
      );
    });

    it('a statement in flight when close() is called ends within queryTimeoutMs, and close() too, leaving no socket open', async () => {
      const link = await proxy();
      const store = fromUrl(urlTo(link.port), { queryTimeoutMs: 300, poolConfig: { connectionTimeoutMillis: 300 } });
      await Promise.all(['a', 'b', 'c'].map((id) => store.set(id, session())));
      link.pause();
      const inFlight = outcome(store.get('a'));
      const closing = outcome(store.close());
      const [call, closed] = await Promise.all([inFlight, closing]);
      expect(call.error?.code).toBe('CONNECTION_FAILED');
      expect(call.ms).toBeLessThan(1200);
      expect(closed.error).toBeUndefined();
      expect(closed.ms).toBeLessThan(1200);
      // The server cannot answer the goodbye, yet no socket of the store stays half-closed.
      const sockets = () =>
        (process as unknown as { _getActiveHandles(): unknown[] })
          ._getActiveHandles()
          .filter((handle) => (handle as { remotePort?: number }).remotePort === link.port);
      await vi.waitFor(() => expect(sockets()).toEqual([]), { timeout: 2000, interval: 50 });
    });

    it('a cold store fails ready() with CONNECTION_FAILED after connect_timeout from the URL (over poolConfig), and comes up once it heals', async () => {
      const link = await proxy();
      link.pause();
      const store = fromUrl(urlTo(link.port, { connect_timeout: '1' }), {
        poolConfig: { connectionTimeoutMillis: 30_000 },
      });
      const cold = await outcome(store.ready());
      expect(cold.error?.code).toBe('CONNECTION_FAILED');
      expect(cold.error?.message).toMatch(/did not complete a new connection within 1000 ms/);
      expect(cold.error?.message).toMatch(/connect_timeout/);
      expect(cold.ms).toBeGreaterThanOrEqual(950);
      expect(cold.ms).toBeLessThan(2500);
      link.resume();
      await store.ready();
      await store.set('a', session({ v: 1 }));
      expect(await store.get('a')).toMatchObject({ v: 1 });
    });

    it('a pool passed in keeps its settings; the store still bounds its waits on it and discards what timed out', async () => {
      const link = await proxy();
      const app = `sessionsql_user_pool_${process.pid}`;
      const userPool = pool({
        connectionString: urlTo(link.port, { application_name: app }, { withSchema: false }),
        max: 2,
      });
      const settings = { ...(userPool as unknown as { options: object }).options };
      const store = track(
        new PostgresSessionStore({
          pool: userPool,
          schemaName: schema,
          tableName: table(),
          pruneIntervalMs: false,
          queryTimeoutMs: 400,
        }),
      );
      await store.set('a', session({ v: 1 }));
      const before = await backends(app);

      link.pause();
      const first = await outcome(store.get('a'));
      expect(first.error?.code).toBe('CONNECTION_FAILED');
      expect(first.error?.message).toMatch(/did not answer within 400 ms \(queryTimeoutMs\)/);
      expect(first.ms).toBeLessThan(1500);
      // The pool has no connectionTimeoutMillis: waiting for a connection is bounded by queryTimeoutMs.
      let sawPoolWait = false;
      for (let i = 0; i < 3; i++) {
        const next = await outcome(store.get('a'));
        expect(next.error?.code).toBe('CONNECTION_FAILED');
        expect(next.ms).toBeLessThan(1500);
        if (
          /no connection from the pool within 400 ms.*queryTimeoutMs, as the pg.Pool has no connectionTimeoutMillis/.test(
            next.error!.message,
          )
        ) {
          sawPoolWait = true;
        }
      }
      expect(sawPoolWait).toBe(true);

      link.resume();
      expect(await store.get('a')).toMatchObject({ v: 1 });
      expect((userPool as unknown as { options: object }).options).toEqual(settings);
      expect(userPool.totalCount).toBeLessThanOrEqual(2);
      await vi.waitFor(async () => expect((await backends(app)).filter((pid) => before.includes(pid))).toEqual([]), {
        timeout: 5000,
        interval: 100,
      });
      await store.close();
      expect((await userPool.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    });

    it.runIf(process.platform === 'linux')(
      'connections the store opens have TCP keepalive on; a pool passed in keeps its own setting',
      async (ctx) => {
        const ss = await run('ss', ['-V']).catch(() => undefined);
        if (ss === undefined) ctx.skip();
        const keepalive = async (applicationName: string) => {
          const { rows } = await admin.query<{ port: number }>(
            'select client_port as port from pg_stat_activity where application_name = $1',
            [applicationName],
          );
          expect(rows.length).toBeGreaterThan(0);
          const { stdout } = await run('ss', ['-tnoH', 'state', 'established', `( sport = :${rows[0]!.port} )`]);
          return stdout.includes('keepalive');
        };
        const owned = `sessionsql_keepalive_${process.pid}`;
        await fromUrl(urlTo(server.port, { application_name: owned })).ready();
        expect(await keepalive(owned)).toBe(true);
        const given = `sessionsql_no_keepalive_${process.pid}`;
        const userPool = pool({
          connectionString: urlTo(server.port, { application_name: given }, { withSchema: false }),
        });
        await track(new PostgresSessionStore({ pool: userPool, schemaName: schema, pruneIntervalMs: false })).ready();
        expect(await keepalive(given)).toBe(false);
      },
    );
  });

  describe('one error code for one cause', () => {
    it('an exhausted pool is CONNECTION_FAILED whether the store is cold or warm, naming the wait', async () => {
      const userPool = pool({
        connectionString: urlTo(server.port, {}, { withSchema: false }),
        max: 1,
        connectionTimeoutMillis: 300,
      });
      const store = track(
        new PostgresSessionStore({ pool: userPool, schemaName: schema, tableName: table(), pruneIntervalMs: false }),
      );
      const held = await userPool.connect();
      const cold = await outcome(store.ready());
      expect(cold.error?.code).toBe('CONNECTION_FAILED');
      expect(cold.error?.message).toMatch(/no free connection in the pool within 300 ms.*connectionTimeoutMillis/);
      expect(cold.ms).toBeLessThan(1500);
      held.release();
      await store.set('a', session());
      const heldAgain = await userPool.connect();
      const warm = await outcome(store.get('a'));
      expect(warm.error?.code).toBe('CONNECTION_FAILED');
      expect(warm.error?.message).toBe(cold.error?.message);
      heldAgain.release();
      expect(await store.get('a')).not.toBeNull();
    });

    it('a statement blocked past queryTimeoutMs, and a call waiting for its connection, are CONNECTION_FAILED; then it serves again', async () => {
      const tableName = table();
      const store = fromUrl(urlTo(server.port), {
        tableName,
        queryTimeoutMs: 800,
        poolConfig: { max: 1, connectionTimeoutMillis: 300 },
      });
      await store.set('a', session({ v: 1 }));
      const locker = await admin.connect();
      try {
        await locker.query('begin');
        await locker.query(`lock table "${schema}"."${tableName}" in access exclusive mode`);
        const blocked = outcome(store.get('a'));
        await new Promise((resolve) => setTimeout(resolve, 50));
        // Another session: a second call on 'a' would wait for the first (calls on one session run in order).
        const waiting = await outcome(store.get('b'));
        expect(waiting.error?.code).toBe('CONNECTION_FAILED');
        expect(waiting.error?.message).toMatch(
          /no free connection in the pool within 300 ms.*poolConfig.connectionTimeoutMillis or connect_timeout/,
        );
        const first = await blocked;
        expect(first.error?.code).toBe('CONNECTION_FAILED');
        expect(first.error?.message).toMatch(/did not answer within 800 ms \(queryTimeoutMs\)/);
      } finally {
        await locker.query('rollback');
        locker.release();
      }
      expect(await store.get('a')).toMatchObject({ v: 1 });
    });

    it('a statement the server cancels (statement_timeout set through ?options=) is QUERY_FAILED', async () => {
      const tableName = table();
      const store = fromUrl(urlTo(server.port, { options: '-c statement_timeout=100' }), { tableName });
      await store.set('a', session());
      const locker = await admin.connect();
      try {
        await locker.query('begin');
        await locker.query(`lock table "${schema}"."${tableName}" in access exclusive mode`);
        const cancelled = await outcome(store.get('a'));
        expect(cancelled.error?.code).toBe('QUERY_FAILED');
        expect(cancelled.error?.message).toMatch(
          /get on postgres table .* failed: canceling statement due to statement timeout/,
        );
      } finally {
        await locker.query('rollback');
        locker.release();
      }
    });

    it('sslmode=require against a server without SSL is CONNECTION_FAILED saying SSL was refused and what to change', async (ctx) => {
      const { rows } = await admin.query<{ ssl: string }>('show ssl');
      if (rows[0]?.ssl === 'on') ctx.skip();
      const store = fromUrl(urlTo(server.port, { sslmode: 'require' }));
      const refused = await outcome(store.ready());
      expect(refused.error?.code).toBe('CONNECTION_FAILED');
      expect(refused.error?.message).toMatch(/the server refused SSL/);
      expect(refused.error?.message).toMatch(/ssl = on.*sslmode=disable/);
      expectNoSecrets(refused.error);
      const again = await outcome(store.set('a', session()));
      expect(again.error?.code).toBe('CONNECTION_FAILED');
    });

    it('?host= and ?port= in the URL: the message names the address really used, and they take effect', async () => {
      const nowhere = await closedPort();
      const byPort = await outcome(fromUrl(urlTo(server.port, { port: String(nowhere) })).ready());
      expect(byPort.error?.code).toBe('CONNECTION_FAILED');
      expect(byPort.error?.message).toContain(`cannot connect to postgres at ${server.host}:${nowhere}/`);
      expect(byPort.error?.message).toContain('ECONNREFUSED');
      const byHost = await outcome(
        fromUrl(urlTo(5432, { host: '127.0.0.1', port: String(nowhere) }, { host: 'db.invalid' })).ready(),
      );
      expect(byHost.error?.message).toContain(`cannot connect to postgres at 127.0.0.1:${nowhere}/`);
      expect(byHost.error?.message).not.toContain('db.invalid');
      // And they win over the URL's authority, as in libpq.
      const store = fromUrl(urlTo(nowhere, { host: server.host, port: String(server.port) }, { host: 'db.invalid' }));
      await store.set('a', session({ v: 1 }));
      expect(await store.get('a')).toMatchObject({ v: 1 });
    });

    it('a connection the server ends while a statement runs is CONNECTION_FAILED, and the next call gets a new one', async () => {
      const app = `sessionsql_terminated_${process.pid}`;
      const tableName = table();
      const store = fromUrl(urlTo(server.port, { application_name: app }), { tableName });
      await store.set('a', session({ v: 1 }));
      const locker = await admin.connect();
      try {
        await locker.query('begin');
        await locker.query(`lock table "${schema}"."${tableName}" in access exclusive mode`);
        const blocked = outcome(store.get('a'));
        await vi.waitFor(async () => {
          const { rows } = await admin.query(
            "select pg_terminate_backend(pid) as ended from pg_stat_activity where application_name = $1 and wait_event_type = 'Lock'",
            [app],
          );
          expect(rows.length).toBe(1);
        });
        const ended = await blocked;
        expect(ended.error?.code).toBe('CONNECTION_FAILED');
        expect(ended.error?.message).toMatch(
          /terminating connection due to administrator command|Connection terminated/,
        );
      } finally {
        await locker.query('rollback');
        locker.release();
      }
      expect(await store.get('a')).toMatchObject({ v: 1 });
    });

    it('an unknown host is CONNECTION_FAILED, within connect_timeout', async () => {
      const unknown = await outcome(
        fromUrl(urlTo(server.port, { connect_timeout: '3' }, { host: 'sessionsql-no-such-host.invalid' })).ready(),
      );
      expect(unknown.error?.code).toBe('CONNECTION_FAILED');
      expect(unknown.error?.message).toContain('cannot connect to postgres at sessionsql-no-such-host.invalid:');
      expect(unknown.error?.message).toMatch(/ENOTFOUND|EAI_AGAIN|within 3000 ms/);
      expect(unknown.ms).toBeLessThan(4000);
    });

    it('session data PostgreSQL cannot store (a NUL character in jsonb) is DATA_REJECTED, and nothing is written', async () => {
      const tableName = table();
      const store = fromUrl(urlTo(server.port), { tableName });
      await store.set('a', session({ v: 'before' }));
      // A table created by an earlier sessionsql keeps jsonb, which refuses a NUL (json, today's type, stores it).
      await admin.query(`alter table "${schema}"."${tableName}" alter column data type jsonb`);
      const refused = await outcome(store.set('a', session({ v: 'secret\u0000data' })));
      expect(refused.error?.code).toBe('DATA_REJECTED');
      expect(refused.error?.message).toMatch(
        /refused the session data.*nothing was written\. Remove the offending value/,
      );
      expectNoSecrets(refused.error, 'secret');
      expect(await store.get('a')).toMatchObject({ v: 'before' });
    });

    it('a missing database and a refused login are CONNECTION_FAILED', async () => {
      const missing = await outcome(fromUrl(urlTo(server.port, {}, { database: `no_such_db_${process.pid}` })).ready());
      expect(missing.error?.code).toBe('CONNECTION_FAILED');
      expect(missing.error?.message).toMatch(/does not exist/);
      const bad = new URL(urlTo(server.port));
      bad.username = 'sessionsql_nobody';
      bad.password = 'Sup3rSecretPw';
      const refused = await outcome(fromUrl(bad.href).ready());
      expect(refused.error?.code).toBe('CONNECTION_FAILED');
      expectNoSecrets(refused.error, 'Sup3rSecretPw');
    });

    it('a user who may not create tables gets MIGRATION_FAILED saying so', async (ctx) => {
      const { rows } = await admin.query<{ can: boolean }>(
        'select rolsuper or rolcreaterole as can from pg_roles where rolname = current_user',
      );
      if (!rows[0]?.can) ctx.skip();
      const role = `sessionsql_nocreate_${process.pid}`;
      await admin.query(`create role ${role} login password 'Pw_${process.pid}_x'`);
      cleanups.push(() => admin.query(`drop role if exists ${role}`));
      const url = new URL(urlTo(server.port, { schema: 'public' }));
      url.username = role;
      url.password = `Pw_${process.pid}_x`;
      const denied = await outcome(fromUrl(url.href).ready());
      expect(denied.error?.code).toBe('MIGRATION_FAILED');
      expect(denied.error?.message).toMatch(/permission denied.*may create tables/);
      expectNoSecrets(denied.error, `Pw_${process.pid}_x`);
    });
  });

  describe('each URL parameter the URL parser accepts takes effect', () => {
    it('application_name names the connections', async () => {
      const app = `sessionsql_named_${process.pid}`;
      await fromUrl(urlTo(server.port, { application_name: app })).ready();
      expect((await backends(app)).length).toBeGreaterThan(0);
    });

    it('options sets server settings (a read-only session cannot create the table)', async () => {
      const store = fromUrl(urlTo(server.port, { options: '-c default_transaction_read_only=on' }));
      const failed = await outcome(store.ready());
      expect(failed.error?.code).toBe('MIGRATION_FAILED');
      expect(failed.error?.message).toMatch(/read-only transaction/);
    });

    it('client_encoding=UTF8 is used; any other encoding is refused', async () => {
      const store = fromUrl(urlTo(server.port, { client_encoding: 'UTF8' }));
      await store.set('a', session({ text: '日本語 ✓ ü €' }));
      expect(await store.get('a')).toMatchObject({ text: '日本語 ✓ ü €' });
      expect(() => DefaultSessionStore.fromUrl(urlTo(server.port, { client_encoding: 'LATIN1' }))).toThrow(
        /client_encoding=LATIN1 cannot be used/,
      );
    });

    it('queryTimeoutMs must be whole milliseconds from 1', () => {
      for (const queryTimeoutMs of [0, -1, 1.5, '1000', Number.POSITIVE_INFINITY, 2 ** 31]) {
        expect(
          () => new PostgresSessionStore({ connectionString: base.href, queryTimeoutMs: queryTimeoutMs as number }),
        ).toThrow(/option `queryTimeoutMs` must be a whole number of milliseconds from 1 to 2147483647/);
        expect(() =>
          DefaultSessionStore.fromUrl(urlTo(server.port), { queryTimeoutMs: queryTimeoutMs as number }),
        ).toThrow(/queryTimeoutMs/);
      }
    });

    it('connect_timeout must be whole seconds of at least 1', () => {
      for (const value of ['0', '-1', '1.5', 'soon']) {
        expect(() => DefaultSessionStore.fromUrl(urlTo(server.port, { connect_timeout: value }))).toThrow(
          /connect_timeout=.* must be a whole number of seconds/,
        );
      }
    });

    it('sslmode and ssl: each mode encrypts and checks the certificate as libpq does', async () => {
      const front = await tlsProxy();
      const ready = async (params: Record<string, string>, host = '127.0.0.1') => {
        const seen = front.connections.length;
        const result = await outcome(fromUrl(urlTo(front.port, params, { host })).ready());
        return { ...result, connection: front.connections[seen] };
      };
      // Encrypted, certificate not checked (the test CA is unknown to Node).
      for (const params of [{ sslmode: 'require' }, { sslmode: 'no-verify' }, { ssl: 'no-verify' }] as Record<
        string,
        string
      >[]) {
        const result = await ready(params);
        expect(result.error, JSON.stringify(params)).toBeUndefined();
        expect(result.connection?.tls).toBe(true);
      }
      // Plain.
      for (const params of [{ sslmode: 'disable' }, { ssl: 'false' }, { ssl: '0' }] as Record<string, string>[]) {
        const result = await ready(params);
        expect(result.error, JSON.stringify(params)).toBeUndefined();
        expect(result.connection?.tls).toBe(false);
      }
      // Checked: an unknown authority, or a certificate for another host name, is refused.
      for (const [params, reason] of [
        [{ sslmode: 'verify-full' }, /self-signed|unable to verify|unable to get/i],
        [{ ssl: 'true' }, /self-signed|unable to verify|unable to get/i],
        [{ sslmode: 'verify-full', sslrootcert: TLS_FILES.ca }, /localhost|altname|host/i],
      ] as const) {
        const result = await ready(params);
        expect(result.error?.code, JSON.stringify(params)).toBe('CONNECTION_FAILED');
        expect(result.error?.message).toMatch(/SSL certificate was not accepted/);
        expect(result.error?.message).toMatch(reason);
        expect(result.error?.message).toMatch(/sslrootcert=.*sslmode=require/);
      }
      // The certificate is signed by sslrootcert: verify-ca and require with it accept it for any
      // host name, verify-full for the name it was issued to.
      for (const [params, host] of [
        [{ sslmode: 'verify-ca', sslrootcert: TLS_FILES.ca }, '127.0.0.1'],
        [{ sslmode: 'require', sslrootcert: TLS_FILES.ca }, '127.0.0.1'],
        [{ sslmode: 'verify-full', sslrootcert: TLS_FILES.ca }, 'localhost'],
      ] as const) {
        const result = await ready(params, host);
        expect(result.error, JSON.stringify(params)).toBeUndefined();
        expect(result.connection?.tls).toBe(true);
      }
    });

    it('sslcert and sslkey present a client certificate', async () => {
      const front = await tlsProxy();
      const store = fromUrl(
        urlTo(front.port, { sslmode: 'require', sslcert: TLS_FILES.clientCert, sslkey: TLS_FILES.clientKey }),
      );
      await store.ready();
      expect(front.connections.at(-1)).toEqual({ tls: true, clientCertificate: 'sessionsql-test-client' });
    });
  });
});
