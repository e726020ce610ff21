/** DefaultSessionStore: the backend chosen by URL or environment, and its failure messages. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { DefaultSessionStore, SessionStoreError } from 'sessionsql';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { selectedDialects } from './dialects.js';
import { signInFlow } from './express-app.js';
import { session } from './store-suite.js';

const dialects = selectedDialects();
const stores: DefaultSessionStore[] = [];
const track = (store: DefaultSessionStore) => {
  stores.push(store);
  return store;
};
afterEach(async () => {
  await Promise.allSettled(stores.splice(0).map((s) => s.close()));
});

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sessionsql-default-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function everythingPrinted(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  while (current instanceof Error) {
    parts.push(String(current), current.stack ?? '', JSON.stringify(current), JSON.stringify(Object.entries(current)));
    current = current.cause;
  }
  return parts.join('\n');
}

describe('DefaultSessionStore: SQLite', () => {
  it('fromEnv without SESSION_DB_URL uses sessions.sqlite in SESSION_DATA_DIR, created if missing', async () => {
    const dataDir = join(dir, 'new', 'data');
    const store = track(DefaultSessionStore.fromEnv({ SESSION_DATA_DIR: dataDir }, { pruneIntervalMs: false }));
    expect(store.backend).toBe('sqlite');
    expect(store.deployment).toBe('standalone');
    await store.set('a', session({ userId: 'u' }));
    expect(existsSync(join(dataDir, 'sessions.sqlite'))).toBe(true);
    expect(await store.countSessionsForUser('u')).toBe(1);
  });

  it('fromUrl picks SQLite for sqlite: and file: URLs', async () => {
    for (const url of [
      'sqlite::memory:',
      `sqlite:${join(dir, 'a.db')}`,
      `sqlite://${join(dir, 'b.db')}`,
      `file://${join(dir, 'c.db')}`,
    ]) {
      const store = track(DefaultSessionStore.fromUrl(url, { pruneIntervalMs: false }));
      expect(store.backend).toBe('sqlite');
      await store.set('x', session());
      expect(await store.get('x')).not.toBeNull();
    }
  });

  it('refuses cluster deployment on SQLite, set or defaulted, saying what to set', () => {
    expect(() => DefaultSessionStore.fromEnv({ SESSION_DEPLOYMENT: 'cluster', SESSION_DATA_DIR: dir })).toThrow(
      /SESSION_DEPLOYMENT=cluster needs PostgreSQL, but SESSION_DB_URL is not set.*Set SESSION_DB_URL=postgres:\/\/.*SESSION_DEPLOYMENT=standalone/,
    );
    expect(() => DefaultSessionStore.fromEnv({ SESSION_DEPLOYMENT: 'cluster', SESSION_DB_URL: 'sqlite:x.db' })).toThrow(
      /cluster.*needs PostgreSQL.*SQLite file "x.db".*SESSION_DB_URL=postgres/,
    );
    expect(() => DefaultSessionStore.fromUrl('sqlite::memory:', { deployment: 'cluster' })).toThrow(TypeError);
    expect(existsSync(join(dir, 'sessions.sqlite'))).toBe(false);
  });

  it('rejects an unknown deployment and an unsupported URL', () => {
    expect(() => DefaultSessionStore.fromEnv({ SESSION_DEPLOYMENT: 'swarm' })).toThrow(
      /SESSION_DEPLOYMENT must be "standalone" or "cluster"/,
    );
    expect(() => DefaultSessionStore.fromEnv({ SESSION_DB_URL: 'mysql://u@h/db' })).toThrow(/Accepted forms/);
    expect(() => DefaultSessionStore.fromUrl('redis://localhost')).toThrow(TypeError);
  });

  it('serves an express app configured only by the environment', async () => {
    await signInFlow(
      track(DefaultSessionStore.fromEnv({ SESSION_DATA_DIR: join(dir, 'express') }, { pruneIntervalMs: false })),
    );
  });
});

describe.runIf(dialects.includes('postgres'))('DefaultSessionStore: PostgreSQL', () => {
  const schema = `test_default_${process.pid}_${Date.now().toString(36)}`;
  let url = '';
  beforeAll(() => {
    url = inject('postgresUrl');
  });
  afterAll(async () => {
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`drop schema if exists "${schema}" cascade`);
    await admin.end();
  });

  it('fromEnv picks PostgreSQL in cluster mode and honours ?schema=', async () => {
    const store = track(
      DefaultSessionStore.fromEnv(
        { SESSION_DB_URL: `${url}?schema=${schema}`, SESSION_DEPLOYMENT: 'cluster' },
        { pruneIntervalMs: false },
      ),
    );
    expect(store.backend).toBe('postgres');
    expect(store.deployment).toBe('cluster');
    await store.ready();
    await store.set('a', session({ userId: 'u' }));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const { rows } = await client.query(`select user_id from "${schema}".sessions`);
    await client.end();
    expect(rows).toEqual([{ user_id: 'u' }]);
  });

  it('accepts postgresql:// too', async () => {
    const store = track(
      DefaultSessionStore.fromUrl(`${url.replace(/^postgres:/, 'postgresql:')}?schema=${schema}`, {
        pruneIntervalMs: false,
      }),
    );
    expect(store.backend).toBe('postgres');
    await store.ready();
  });

  it('serves an express app configured only by the environment', async () => {
    await signInFlow(
      track(
        DefaultSessionStore.fromEnv(
          { SESSION_DB_URL: `${url}?schema=${schema}`, SESSION_DEPLOYMENT: 'cluster' },
          { tableName: 'express_sessions', pruneIntervalMs: false },
        ),
      ),
    );
  });

  it('a refused login fails ready() with the host, the cause, and no password anywhere', async () => {
    const parsed = new URL(url);
    const bad = `postgres://sessionsql_nobody:Sup3rSecretPw@${parsed.host}${parsed.pathname}`;
    const store = track(DefaultSessionStore.fromUrl(bad, { pruneIntervalMs: false }));
    const err = await store.ready().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionStoreError);
    expect((err as SessionStoreError).code).toBe('CONNECTION_FAILED');
    expect((err as Error).message).toContain(`postgres at ${parsed.hostname}:${parsed.port}${parsed.pathname}`);
    expect((err as Error).message).toMatch(/sessionsql_nobody/);
    expect(everythingPrinted(err)).not.toContain('Sup3rSecretPw');
    // The first request fails the same way, and the next attempt tries again.
    const again = await store.get('x').catch((e: unknown) => e);
    expect((again as SessionStoreError).code).toBe('CONNECTION_FAILED');
  });

  it('an unreachable server fails ready() with the host and no password anywhere', async () => {
    const port = await closedPort();
    const store = track(
      DefaultSessionStore.fromUrl(`postgres://app:Sup3rSecretPw@127.0.0.1:${port}/appdb`, { pruneIntervalMs: false }),
    );
    const err = await store.ready().catch((e: unknown) => e);
    expect((err as SessionStoreError).code).toBe('CONNECTION_FAILED');
    expect((err as Error).message).toContain(`cannot connect to postgres at 127.0.0.1:${port}/appdb`);
    expect((err as Error).message).toContain('ECONNREFUSED');
    expect(everythingPrinted(err)).not.toContain('Sup3rSecretPw');
  });
});
