/**
 * What every benchmark shares: a PostgreSQL (the tests' `SESSIONSQL_TEST_POSTGRES_URL`, or an
 * embedded server started the way the tests start it, but with PostgreSQL's default
 * durability: `fsync` on, as in production), a schema and a temp directory of its own, and the
 * session it stores.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { SessionData } from 'express-session';
import pg from 'pg';

/** Where the contenders put their tables and files. */
export interface BenchEnv {
  /** PostgreSQL URL (without query parameters). */
  readonly postgresUrl: string;
  /** Schema every PostgreSQL contender uses; created empty for the run. */
  readonly schema: string;
  /** Directory for the SQLite files; removed at the end. */
  readonly dir: string;
}

const EMBEDDED = fileURLToPath(new URL('../../test/setup/embedded-postgres-server.mjs', import.meta.url));

/** Opens the environment; `close()` drops the schema, removes the files and stops the server. */
export async function openBenchEnv(): Promise<BenchEnv & { close(): Promise<void>; source: string }> {
  let postgresUrl = process.env.SESSIONSQL_TEST_POSTGRES_URL;
  let stopServer = async () => undefined;
  let source = 'SESSIONSQL_TEST_POSTGRES_URL';
  if (!postgresUrl) {
    source = 'embedded-postgres, default durability (fsync on)';
    const child = spawn(process.execPath, [EMBEDDED], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, EMBEDDED_POSTGRES_DURABLE: '1' },
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    stopServer = async () => {
      child.stdin.end();
      await exited;
    };
    const message = await new Promise<{ url?: string; error?: string }>((resolve) => {
      createInterface({ input: child.stdout }).once('line', (line) => resolve(JSON.parse(line)));
      child.once('exit', (code) => resolve({ error: `the server process exited with code ${code}` }));
    });
    if (message.url === undefined) {
      throw new Error(
        `Could not start an embedded PostgreSQL: ${message.error}. Set SESSIONSQL_TEST_POSTGRES_URL to a server to benchmark against.`,
      );
    }
    postgresUrl = message.url;
  }
  const schema = `sessionsql_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: postgresUrl });
  await admin.connect();
  await admin.query(`drop schema if exists "${schema}" cascade; create schema "${schema}"`);
  await admin.end();
  const dir = mkdtempSync(join(tmpdir(), 'sessionsql-bench-'));
  return {
    postgresUrl,
    schema,
    dir,
    source,
    async close() {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`drop schema if exists "${schema}" cascade`);
      await client.end();
      rmSync(dir, { recursive: true, force: true });
      await stopServer();
    },
  };
}

export const DAY_MS = 86_400_000;

/** Number of users the sample sessions belong to. */
export const USERS = 2_000;

/**
 * A signed-in session of about 1 KB as JSON: cookie, user id, CSRF token, a profile and a
 * cart, the shape of a typical app's session.
 */
export function sampleSession(i: number, now = Date.now()): SessionData {
  const session = {
    cookie: {
      originalMaxAge: DAY_MS,
      expires: new Date(now + DAY_MS).toISOString(),
      secure: false,
      httpOnly: true,
      path: '/',
      sameSite: 'lax',
    },
    userId: `user-${i % USERS}`,
    csrf: randomBytes(24).toString('base64url'),
    signedInAt: now,
    profile: {
      name: `Customer ${i}`,
      email: `customer${i}@example.com`,
      locale: 'en-GB',
      timezone: 'Europe/London',
      roles: ['customer', 'newsletter'],
      preferences: { theme: 'dark', currency: 'GBP', itemsPerPage: 48, notifications: { email: true, sms: false } },
    },
    cart: Array.from({ length: 5 }, (_, k) => ({
      sku: `SKU-${(i * 7 + k) % 100_000}`,
      name: `Product number ${k} in a long descriptive name`,
      quantity: 1 + (k % 3),
      unitPriceCents: 1999 + k * 250,
    })),
    recentlyViewed: Array.from({ length: 8 }, (_, k) => `SKU-${(i * 13 + k) % 100_000}`),
    flash: [],
  };
  return session as unknown as SessionData;
}

/**
 * The session id number `i` of a set (`prefix`): 32 characters of base64url, as random-looking
 * as express-session's 24 random bytes but the same every time it is asked for. Ids that share
 * a prefix and count up would land next to each other in a table's primary-key index (each
 * insert or delete on the same few pages), which real ids never do and which a store that keys
 * rows by a hash of the id (sessionsql does) does not get either.
 */
export function sessionId(prefix: string, i: number): string {
  return createHash('sha256').update(`${prefix}${i}`).digest('base64url').slice(0, 32);
}
