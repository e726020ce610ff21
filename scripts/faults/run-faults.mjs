#!/usr/bin/env node
// `npm run faults`: PostgreSQL restarted, killed and cut off by a network partition while an
// express + express-session app on the real DefaultSessionStore serves HTTP load; for each
// fault it prints the requests sent and failed, the recovery time (the first success among
// requests started after the fault ended) and the acknowledged sign-ins lost (a sign-in that got
// a 200, later not found: must be 0). Not part of `npm test`.
//
// PostgreSQL: an embedded server started here, or the local server at
// SESSIONSQL_TEST_POSTGRES_URL (restarted with its pg_ctl, killed by its postmaster's pid; this
// needs a superuser URL and root or the server's user). The store reaches it through a TCP
// proxy (test/net/tcp-proxy.mjs), which the partition pauses. Exits 1 when a sign-in was lost
// or the app did not recover.
//
// Options (environment): FAULTS_QUERY_TIMEOUT_MS (default 2000: the store's queryTimeoutMs and
// its pool's connectionTimeoutMillis, small so that each fault takes seconds; the store's
// default is 10_000), FAULTS_PARTITION_MS (default 5000), FAULTS_CLIENTS (default 8).
import { DefaultSessionStore } from 'sessionsql';
import { startTcpProxy } from '../../test/net/tcp-proxy.mjs';
import { controlService, startEmbeddedPostgres } from './postgres-control.mjs';
import { request, startSessionApp } from './session-app.mjs';

const QUERY_TIMEOUT_MS = Number(process.env.FAULTS_QUERY_TIMEOUT_MS ?? 2000);
const PARTITION_MS = Number(process.env.FAULTS_PARTITION_MS ?? 5000);
const CLIENTS = Number(process.env.FAULTS_CLIENTS ?? 8);
/** No request waits longer: queryTimeoutMs for the connection, again for the statement, and some. */
const REQUEST_TIMEOUT_MS = 3 * QUERY_TIMEOUT_MS + 2000;
/** Load before each fault, and after the recovery. */
const WARM_MS = 1000;
const AFTER_RECOVERY_MS = 1500;
/** Longest load after a fault ends when the app does not recover. */
const RECOVERY_LIMIT_MS = 30_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const print = (line = '') => process.stdout.write(`${line}\n`);

const given = process.env.SESSIONSQL_TEST_POSTGRES_URL;
const postgres = given ? await controlService(given) : await startEmbeddedPostgres();
const server = new URL(postgres.url);
const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port || 5432) });
const schema = `faults_${process.pid}`;
const storeUrl = new URL(postgres.url);
storeUrl.hostname = '127.0.0.1';
storeUrl.port = String(proxy.port);
storeUrl.searchParams.set('schema', schema);
storeUrl.searchParams.set('application_name', 'sessionsql-faults');
const backgroundErrors = new Map();
const store = DefaultSessionStore.fromUrl(storeUrl.href, {
  deployment: 'cluster',
  queryTimeoutMs: QUERY_TIMEOUT_MS,
  poolConfig: { connectionTimeoutMillis: QUERY_TIMEOUT_MS },
  onError: (error) => backgroundErrors.set(error.code, (backgroundErrors.get(error.code) ?? 0) + 1),
});
await store.ready();
const app = await startSessionApp(store);

/** Every sign-in that got a 200: { user, cookie, fault }. */
const acknowledged = [];
let nextUser = 0;

/**
 * Runs HTTP load while `fault()` runs: WARM_MS before it, then until the first success among
 * requests started after it resolved, plus AFTER_RECOVERY_MS.
 */
async function underLoad(name, fault) {
  const results = [];
  let stopped = false;
  let faultStart = Number.POSITIVE_INFINITY;
  let faultEnd = Number.POSITIVE_INFINITY;
  const client = async () => {
    while (!stopped) {
      const user = `user${nextUser++}`;
      const login = await request(app.port, 'POST', `/login?user=${user}`, undefined, REQUEST_TIMEOUT_MS);
      results.push({ ...login, kind: 'login' });
      if (login.ok && login.cookie && login.body?.user === user)
        acknowledged.push({ user, cookie: login.cookie, fault: name });
      const known = acknowledged[Math.floor(Math.random() * acknowledged.length)];
      if (known !== undefined && !stopped) {
        const me = await request(app.port, 'GET', '/me', known.cookie, REQUEST_TIMEOUT_MS);
        results.push({ ...me, kind: 'me', ok: me.ok && me.body?.user === known.user });
      }
    }
  };
  const codesBefore = new Map(app.errors);
  const clients = Array.from({ length: CLIENTS }, client);
  await sleep(WARM_MS);
  faultStart = performance.now();
  await fault();
  faultEnd = performance.now();
  const deadline = faultEnd + RECOVERY_LIMIT_MS;
  let recoveredAt;
  while (performance.now() < deadline) {
    const first = results.find((r) => r.ok && r.start >= faultEnd);
    if (first !== undefined) {
      recoveredAt = first.end;
      break;
    }
    await sleep(20);
  }
  if (recoveredAt !== undefined) await sleep(AFTER_RECOVERY_MS);
  stopped = true;
  await Promise.all(clients);
  const failed = results.filter((r) => !r.ok);
  const firstFailure = failed.filter((r) => r.end >= faultStart).sort((a, b) => a.end - b.end)[0];
  const slowest = results.reduce((most, r) => Math.max(most, r.end - r.start), 0);
  const codes = [...app.errors].map(([code, n]) => [code, n - (codesBefore.get(code) ?? 0)]).filter(([, n]) => n > 0);
  const outcomes = new Map();
  for (const r of failed) {
    const key = r.status === 0 ? `no answer (${r.error})` : r.status === 503 ? `503 ${r.body?.error}` : `${r.status}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
  }
  return {
    name,
    sent: results.length,
    failed: failed.length,
    faultMs: faultEnd - faultStart,
    firstFailureMs: firstFailure === undefined ? undefined : firstFailure.end - faultStart,
    recoveryMs: recoveredAt === undefined ? undefined : recoveredAt - faultEnd,
    slowestMs: slowest,
    codes,
    outcomes,
  };
}

/** Every acknowledged sign-in, read back over HTTP: found, lost (401) or unverified (no answer). */
async function verifySignIns() {
  let lost = 0;
  let unverified = 0;
  for (let i = 0; i < acknowledged.length; i += 16) {
    await Promise.all(
      acknowledged.slice(i, i + 16).map(async ({ user, cookie }) => {
        for (let attempt = 0; attempt < 5; attempt++) {
          const me = await request(app.port, 'GET', '/me', cookie, REQUEST_TIMEOUT_MS);
          if (me.ok && me.body?.user === user) return;
          if (me.status === 401 || (me.ok && me.body?.user !== user)) {
            lost++;
            return;
          }
          await sleep(200);
        }
        unverified++;
      }),
    );
  }
  return { checked: acknowledged.length, lost, unverified };
}

const ms = (value) => (value === undefined ? 'never' : `${Math.round(value)} ms`);
const faults = [
  {
    name: 'restart (fast shutdown + start)',
    run: () => postgres.restart(),
    needsControl: true,
  },
  {
    name: 'kill -9 of the postmaster, then start',
    run: () => postgres.kill(),
    needsControl: true,
  },
  {
    name: `network partition for ${PARTITION_MS} ms`,
    run: async () => {
      proxy.pause();
      await sleep(PARTITION_MS);
      proxy.resume();
    },
    needsControl: false,
  },
];

print(`sessionsql fault run, ${new Date().toISOString()}`);
print(
  `PostgreSQL: ${postgres.kind} at ${server.hostname}:${server.port}, reached through a TCP proxy on 127.0.0.1:${proxy.port}`,
);
print(
  `Store: DefaultSessionStore (express 5 + express-session over HTTP on 127.0.0.1:${app.port}), queryTimeoutMs ${QUERY_TIMEOUT_MS}, poolConfig.connectionTimeoutMillis ${QUERY_TIMEOUT_MS}, pool max 10 (default), TCP keepalive on (default)`,
);
print(
  `Load: ${CLIENTS} clients, each looping sign-in (POST /login, 200 once saved) then GET /me of a signed-in session; ${WARM_MS} ms before each fault, until the first success after it + ${AFTER_RECOVERY_MS} ms; each request times out after ${REQUEST_TIMEOUT_MS} ms`,
);
if (postgres.cannot) print(`Note: ${postgres.cannot}.`);
print();

let exitCode = 0;
for (const fault of faults) {
  if (fault.needsControl && postgres.cannot) {
    print(`## ${fault.name}: skipped (${postgres.cannot})`);
    print();
    continue;
  }
  const result = await underLoad(fault.name, fault.run);
  const check = await verifySignIns();
  print(`## ${result.name}`);
  print(`  fault lasted:               ${ms(result.faultMs)}`);
  print(`  requests sent:              ${result.sent}`);
  print(`  requests failed:            ${result.failed}`);
  print(
    `  failures:                   ${[...result.outcomes].map(([key, n]) => `${key} × ${n}`).join(', ') || 'none'}`,
  );
  print(`  store errors in the app:    ${result.codes.map(([code, n]) => `${code} × ${n}`).join(', ') || 'none'}`);
  print(`  first failure after start:  ${ms(result.firstFailureMs)}`);
  print(`  slowest request:            ${ms(result.slowestMs)}`);
  print(`  recovery time:              ${ms(result.recoveryMs)} (first success after the fault ended)`);
  print(
    `  acknowledged sign-ins lost: ${check.lost} of ${check.checked} so far${check.unverified ? ` (${check.unverified} could not be read back)` : ''}`,
  );
  print();
  if (check.lost > 0 || check.unverified > 0 || result.recoveryMs === undefined) exitCode = 1;
}
print(
  `Background errors reported by the store (onError): ${[...backgroundErrors].map(([c, n]) => `${c} × ${n}`).join(', ') || 'none'}`,
);
print(exitCode === 0 ? 'Result: every fault recovered; no acknowledged sign-in lost.' : 'Result: FAILED (see above).');

await app.close();
await store.close();
await proxy.close();
if (postgres.kind === 'service') {
  const pg = (await import('pg')).default;
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  await admin.query(`drop schema if exists "${schema}" cascade`);
  await admin.end();
}
await postgres.close();
process.exit(exitCode);
