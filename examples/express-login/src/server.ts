/**
 * Starts the demo app. Environment:
 * - `PORT` (default 3000; 0 picks a free one), `HOST` (default: every interface);
 * - `SESSION_DB_URL`, `SESSION_DEPLOYMENT`, `SESSION_DATA_DIR` (default `./data`): the session
 *   database, read by `DefaultSessionStore.fromEnv()`;
 * - `SESSION_SECRET`: signs the cookie; required with `NODE_ENV=production` or
 *   `SESSION_DEPLOYMENT=cluster`; otherwise generated once (with a warning) and kept in
 *   `<SESSION_DATA_DIR>/session-secret`, so that a restart keeps everyone signed in;
 * - `TRUST_PROXY`: express's `trust proxy`, for HTTPS terminated by a proxy in front (e.g. `1`);
 *   required with `NODE_ENV=production`, whose `Secure` cookie only goes out over HTTPS.
 *
 * Failed sign-ins are counted in the table `sign_in_attempts` of the session database.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DefaultSessionStore, openRecordStoreFromEnv, type SessionRecordStore } from 'sessionsql';
import { createApp } from './app.js';
import { DEMO_ACCOUNTS, UserDirectory } from './demo-users.js';

function fail(message: string): never {
  console.error(`express-login: ${message}`);
  process.exit(1);
}

function parsePort(value: string | undefined): number {
  if (value === undefined || value.trim() === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`PORT must be a whole number from 0 to 65535 (got ${JSON.stringify(value)}).`);
  }
  return port;
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === '' || value === 'false') return false;
  if (value === 'true') return true;
  return /^\d+$/.test(value) ? Number(value) : value;
}

const env = process.env;
const production = env.NODE_ENV === 'production';
const port = parsePort(env.PORT);
const trustProxy = parseTrustProxy(env.TRUST_PROXY);

/**
 * The development secret: made on first start and kept beside the SQLite file (mode 0600), so
 * that restarting the app does not sign everyone out.
 */
function developmentSecret(dataDir: string): string {
  const file = join(dataDir, 'session-secret');
  try {
    mkdirSync(dataDir, { recursive: true });
    const made = randomBytes(32).toString('base64url');
    // 'wx': a secret made before (by an earlier start) is never overwritten.
    writeFileSync(file, `${made}\n`, { mode: 0o600, flag: 'wx' });
    return made;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      fail(`cannot write ${file}: ${(error as Error).message}. Set SESSION_SECRET instead.`);
    }
  }
  let kept = '';
  try {
    kept = readFileSync(file, 'utf8').trim();
  } catch (error) {
    fail(`cannot read ${file}: ${(error as Error).message}. Set SESSION_SECRET instead.`);
  }
  if (kept.length < 32) fail(`${file} holds no usable secret: delete it (a new one is made) or set SESSION_SECRET.`);
  return kept;
}

const dataDir = env.SESSION_DATA_DIR || 'data';
let secret = env.SESSION_SECRET;
if (!secret) {
  if (production) fail('set SESSION_SECRET to a long random string (NODE_ENV=production needs one).');
  if (env.SESSION_DEPLOYMENT === 'cluster') {
    fail('set SESSION_SECRET to one long random string shared by every instance (SESSION_DEPLOYMENT=cluster).');
  }
  secret = developmentSecret(dataDir);
  console.warn(
    `express-login: SESSION_SECRET is not set; signing cookies with the development secret in ${join(dataDir, 'session-secret')}. Set SESSION_SECRET in production.`,
  );
}

if (production && trustProxy === false) {
  // This app serves plain HTTP. Its production cookie is Secure, which a browser only takes
  // over HTTPS: without a TLS proxy in front, nobody could stay signed in.
  fail(
    'NODE_ENV=production makes the session cookie Secure, which browsers only accept over HTTPS, and this app serves plain HTTP. Put it behind a TLS-terminating proxy and set TRUST_PROXY (e.g. TRUST_PROXY=1 for one proxy in front), or unset NODE_ENV to try it over plain HTTP.',
  );
}

let store: DefaultSessionStore;
let signInAttempts: SessionRecordStore;
try {
  const dbEnv = { ...env, SESSION_DATA_DIR: dataDir };
  store = DefaultSessionStore.fromEnv(dbEnv);
  // Failed sign-ins, counted in a table of their own in the same database.
  signInAttempts = openRecordStoreFromEnv(dbEnv, { tableName: 'sign_in_attempts' });
  // One after the other: two stores creating their tables in one SQLite file at once wait on each other.
  await store.ready();
  await signInAttempts.ready();
} catch (error) {
  fail(`the session store could not start: ${(error as Error).message}`);
}
store.on('error', (error: Error) => console.error(`express-login: session store: ${error.message}`));
signInAttempts.on('error', (error: Error) => console.error(`express-login: sign-in attempts: ${error.message}`));

const app = createApp({
  store,
  signInAttempts,
  users: await UserDirectory.create(DEMO_ACCOUNTS),
  secret,
  production,
  trustProxy,
});

const server = env.HOST ? app.listen(port, env.HOST) : app.listen(port);
server.on('error', (error) => fail(`cannot listen on port ${port}: ${error.message}`));
server.on('listening', () => {
  const { port: actual } = server.address() as AddressInfo;
  console.log(
    `express-login: sessions on ${store.backend} (${store.deployment}); open http://localhost:${actual}/ and sign in as alice / wonderland`,
  );
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    console.log(`express-login: ${signal} again, exiting now`);
    process.exit(1);
  }
  stopping = true;
  console.log(`express-login: ${signal} received, finishing open requests`);
  // Stop accepting, let requests in flight finish (idle keep-alive sockets are closed at once),
  // then close the store; a request that hangs is cut after 10 s.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const force = setTimeout(() => server.closeAllConnections(), 10_000).unref();
  await closed;
  clearTimeout(force);
  await Promise.all([store.close(), signInAttempts.close()]);
  console.log('express-login: stopped');
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    shutdown(signal).catch((error: unknown) => {
      console.error('express-login: shutdown failed:', error);
      process.exitCode = 1;
    });
  });
}
