#!/usr/bin/env node
// `npm run move-check [-- --rows N]`: proves and measures the standalone → cluster move.
//
// 1. Fills a SQLite file with N live sessions (default 100,000) of about 1 KB with user ids,
//    plus some expired ones.
// 2. Signs in as alice on the example app (examples/express-login/dist/server.js) running on
//    that file, and stops it.
// 3. Runs `sessionsql copy --from sqlite:<file> --to <postgres>?schema=move_check` through the
//    bin, SIGKILLs it when about half is copied (its checkpoint file says how far), runs the
//    same command again to completion (exit 0, "verified"), compares every row of both sides
//    (key, data as parsed JSON, expiresAt, userId, createdAt, updatedAt; no duplicates), then
//    copies once more and checks that nothing changed.
// 4. Starts the example app on PostgreSQL with the same secret: the same cookie is still
//    signed in.
// 5. Times a clean copy into a fresh schema (rows/s) and `sessionsql stats` (and `--json`) on
//    both databases.
//
// `--rows N` (default 100,000) sets N; `--measure-only` runs steps 1 and 5 alone (for 1,000,000
// rows, where the full run takes long).
//
// PostgreSQL: an embedded server started here, or the server at SESSIONSQL_TEST_POSTGRES_URL
// (a user that may create schemas). Exits 1 when a check failed. Not part of `npm test`.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { openRecordStore } from 'sessionsql';
import { startEmbeddedPostgres } from '../faults/postgres-control.mjs';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'node_modules/.bin/sessionsql');
const APP = join(ROOT, 'examples/express-login/dist/server.js');
const SECRET = 'move-check-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
const FILL_BATCH = 5000;
const EXPIRED = 1000;
const PAGE = 10_000;

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
const print = (line = '') => process.stdout.write(`${line}\n`);
const count = (n) => n.toLocaleString('en-US');
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** `--rows N` (default 100,000). */
function parseRows(argv) {
  const at = argv.indexOf('--rows');
  if (at === -1) return 100_000;
  const n = Number(argv[at + 1]);
  if (!Number.isInteger(n) || n < 10) {
    process.stderr.write('usage: run-move-check.mjs [--rows N] [--measure-only] (N ≥ 10)\n');
    process.exit(2);
  }
  return n;
}

const ROWS = parseRows(process.argv.slice(2));
/** `--measure-only`: fill, clean copy and stats only (no kill/resume, comparison or app check). */
const MEASURE_ONLY = process.argv.includes('--measure-only');
/** A bound for any one sessionsql command: generous, so a slow machine does not fail it. */
const COMMAND_TIMEOUT_MS = Math.max(120_000, ROWS * 2);

let failures = 0;
/** Prints `ok`/`FAIL` and a line; counts failures. */
function check(ok, what) {
  print(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
  return ok;
}

/**
 * @typedef {object} Run
 * @property {number | null} code
 * @property {string | null} signal
 * @property {string} stdout
 * @property {string} stderr
 * @property {number} ms
 */

/**
 * Starts `sessionsql ...args`; SIGKILLed after `timeoutMs`.
 * @returns {{ child: import('node:child_process').ChildProcess, result: Promise<Run> }}
 */
function startBin(args, timeoutMs = COMMAND_TIMEOUT_MS) {
  const started = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', SESSION_DB_URL: '', SESSIONSQL_PROGRESS_MS: '1000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => {
    stderr += `\n[move-check: killed after ${timeoutMs} ms]`;
    child.kill('SIGKILL');
  }, timeoutMs);
  const result = new Promise((done) =>
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr, ms: performance.now() - started });
    }),
  );
  return { child, result };
}

/** Runs `sessionsql ...args` to completion. @returns {Promise<Run>} */
const runBin = (args, timeoutMs) => startBin(args, timeoutMs).result;

/** JSON text with object keys sorted (jsonb, in tables created by an earlier sessionsql, reorders keys; parsed-equal data compares equal). */
function stable(value) {
  if (Array.isArray(value)) return `[${value.map(stable).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A row as compared: a hash of every stored field, the data as parsed JSON (small: 1M rows fit). */
const fingerprint = (row) =>
  createHash('sha256')
    .update(`${row.expiresAt}|${row.userId}|${row.createdAt}|${row.updatedAt}|${stable(JSON.parse(row.data))}`)
    .digest('base64');

/**
 * Every live row of `url`'s table, by key (fingerprints), paging `exportRows`; counts keys seen
 * twice.
 */
async function readAll(url) {
  const store = openRecordStore({ url, tableName: 'sessions', pruneIntervalMs: false });
  const rows = new Map();
  let duplicates = 0;
  try {
    let after;
    for (;;) {
      const page = await store.table.exportRows({ limit: PAGE, ...(after ? { after } : {}) });
      if (page.length === 0) break;
      for (const row of page) {
        if (rows.has(row.key)) duplicates++;
        rows.set(row.key, fingerprint(row));
      }
      after = page.at(-1).key;
    }
    const stats = await store.table.stats({ topUsers: 0 });
    return { rows, duplicates, stats };
  } finally {
    await store.close();
  }
}

/** Compares every row of both sides; prints and returns whether they are the same. */
async function compareAll(sourceUrl, destinationUrl, label) {
  const started = performance.now();
  const source = await readAll(sourceUrl);
  const destination = await readAll(destinationUrl);
  let missing = 0;
  let different = 0;
  const examples = [];
  for (const [key, value] of source.rows) {
    const other = destination.rows.get(key);
    if (other === undefined) {
      missing++;
      if (examples.length < 3) examples.push(`missing ${key}`);
    } else if (other !== value) {
      different++;
      if (examples.length < 3) examples.push(`different ${key}`);
    }
  }
  const extra = [...destination.rows.keys()].filter((key) => !source.rows.has(key)).length;
  print(
    `${label}: source ${count(source.rows.size)} live rows, destination ${count(destination.rows.size)} live rows (${count(destination.stats.expired)} expired); missing ${missing}, different ${different}, extra ${extra}, duplicate keys ${source.duplicates + destination.duplicates} (compared in ${seconds(performance.now() - started)})`,
  );
  for (const example of examples) print(`     ${example}`);
  const ok =
    source.rows.size === destination.rows.size &&
    missing === 0 &&
    different === 0 &&
    extra === 0 &&
    source.duplicates + destination.duplicates === 0 &&
    destination.stats.expired === 0;
  check(ok, `${label}: every row equal (key, data, expiresAt, userId, createdAt, updatedAt), no duplicates`);
  return { ok, destination: destination.rows };
}

/** Fills `url` with ROWS live sessions of about 1 KB (users user0…user9999) and EXPIRED expired ones. */
async function fill(url) {
  const store = openRecordStore({ url, tableName: 'sessions', pruneIntervalMs: false });
  const started = performance.now();
  try {
    const hour = 3_600_000;
    const now = Date.now();
    const make = (i, expiresAt) => ({
      id: `move-check-${i}-${randomBytes(8).toString('hex')}`,
      data: {
        cookie: { originalMaxAge: 24 * hour, httpOnly: true, path: '/' },
        userId: `user${i % 10_000}`,
        signedInAt: now - (i % 1000) * 1000,
        n: i,
        note: randomBytes(660).toString('base64'),
      },
      expiresAt,
    });
    for (let i = 0; i < ROWS; i += FILL_BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(ROWS, i + FILL_BATCH); j++) batch.push(make(j, now + 24 * hour + (j % 3600) * 1000));
      await store.table.importSessions(batch);
    }
    const expired = [];
    for (let j = 0; j < EXPIRED; j++) expired.push(make(ROWS + j, now - 60_000 - j));
    await store.table.importSessions(expired);
    const stats = await store.table.stats({ topUsers: 0 });
    return { stats, ms: performance.now() - started };
  } finally {
    await store.close();
  }
}

/** Starts the example app on `dbUrl`; resolves its URL once it listens. */
async function startApp(dbUrl, cwd, extraEnv = {}) {
  const child = spawn(process.execPath, [APP], {
    cwd,
    env: { PATH: process.env.PATH ?? '', PORT: '0', SESSION_DB_URL: dbUrl, SESSION_SECRET: SECRET, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise((done, fail) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`the app did not start within 30 s:\n${output}`));
    }, 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = /open (http:\/\/localhost:\d+)\//.exec(output);
      if (match) {
        clearTimeout(timer);
        done(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      fail(new Error(`the app exited with code ${code} before listening:\n${output}`));
    });
  });
  return {
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** GET / with `cookie`: the page's "Signed in as …" heading, or the status. */
async function signedInAs(appUrl, cookie) {
  const res = await fetch(`${appUrl}/`, {
    headers: { cookie },
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.text();
  const heading = /<h1>(Signed in as [^<]*)<\/h1>/.exec(body);
  return heading
    ? heading[1]
    : `HTTP ${res.status}${res.headers.get('location') ? ` → ${res.headers.get('location')}` : ''}`;
}

/** Signs in as alice / wonderland (form post with a same-origin Origin); resolves the cookie. */
async function signIn(appUrl) {
  const res = await fetch(`${appUrl}/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: appUrl, 'user-agent': 'move-check' },
    body: 'username=alice&password=wonderland',
    redirect: 'manual',
    signal: AbortSignal.timeout(10_000),
  });
  await res.text();
  const setCookie = res.headers.getSetCookie().map((c) => c.split(';')[0]);
  if (res.status !== 303 || setCookie.length === 0) {
    throw new Error(`sign-in answered ${res.status} with ${setCookie.length} cookies`);
  }
  return setCookie.join('; ');
}

/** Runs the copy, SIGKILLs it once its checkpoint passes half, and resolves how far it got. */
async function copyKilledHalfway(args, stateFile) {
  const { child, result } = startBin(args);
  let ended = false;
  void result.then(() => {
    ended = true;
  });
  let copied = 0;
  while (!ended) {
    if (existsSync(stateFile)) {
      try {
        copied = JSON.parse(readFileSync(stateFile, 'utf8')).copied;
      } catch {
        // replaced while read: try again
      }
      if (copied >= ROWS / 2) {
        child.kill('SIGKILL');
        break;
      }
    }
    await sleep(10);
  }
  const run = await result;
  return { run, copied };
}

/** Times `sessionsql stats` and `stats --json` on `url`. */
async function timeStats(url, label) {
  const table = await runBin(['stats', '--url', url], 60_000);
  const json = await runBin(['stats', '--url', url, '--json'], 60_000);
  let live = '?';
  try {
    live = count(JSON.parse(json.stdout).live);
  } catch {
    // reported below by the exit code
  }
  check(table.code === 0 && json.code === 0, `stats on ${label}: exit ${table.code}/${json.code}, ${live} live`);
  print(`     sessionsql stats        ${seconds(table.ms)} (whole command, node start included)`);
  print(`     sessionsql stats --json ${seconds(json.ms)}`);
  const store = openRecordStore({ url, tableName: 'sessions', pruneIntervalMs: false });
  try {
    await store.ready();
    const started = performance.now();
    await store.table.stats();
    print(`     table.stats() in process ${seconds(performance.now() - started)} (the query alone)`);
  } finally {
    await store.close();
  }
  if (table.code !== 0) print(table.stderr);
}

/** Throughput line of a copy run. */
function rate(run, rows) {
  return `${count(rows)} rows in ${seconds(run.ms)}: ${count(Math.round(rows / (run.ms / 1000)))} rows/s (whole command: start, copy, verify)`;
}

// --- run ---------------------------------------------------------------------------------

if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm install\` at the repository root.`);
if (!existsSync(APP)) throw new Error(`${APP} is missing: run \`npm run build\` first.`);

const given = process.env.SESSIONSQL_TEST_POSTGRES_URL;
const postgres = given ? { url: given, kind: 'service', close: async () => undefined } : await startEmbeddedPostgres();
const dir = mkdtempSync(join(tmpdir(), 'sessionsql-move-'));
const sqliteUrl = `sqlite:${join(dir, 'sessions.db')}`;
const schemas = ['move_check', 'move_check_full'];
const pgUrl = (schema) => {
  const url = new URL(postgres.url);
  url.searchParams.set('schema', schema);
  return url.href;
};
const admin = new pg.Client({ connectionString: postgres.url, connectionTimeoutMillis: 10_000 });
await admin.connect();
const dropSchemas = () => Promise.all(schemas.map((s) => admin.query(`drop schema if exists "${s}" cascade`)));
let app;

try {
  const server = new URL(postgres.url);
  print(`sessionsql move check, ${new Date().toISOString()}, ${count(ROWS)} rows`);
  print(`PostgreSQL: ${postgres.kind} at ${server.hostname}:${server.port}; SQLite: ${sqliteUrl}`);
  await dropSchemas();
  print();

  print('## 1. fill the SQLite file');
  const filled = await fill(sqliteUrl);
  print(
    `filled ${count(filled.stats.live)} live + ${count(filled.stats.expired)} expired sessions (${count(filled.stats.users)} users) in ${seconds(filled.ms)}; file ${(statSync(join(dir, 'sessions.db')).size / 1e6).toFixed(1)} MB`,
  );
  check(filled.stats.live === ROWS && filled.stats.expired === EXPIRED, 'fill: live and expired counts as asked');
  print();

  let expected = ROWS;
  if (!MEASURE_ONLY) {
    print('## 2. sign in on the example app running on SQLite');
    app = await startApp(sqliteUrl, dir);
    const cookie = await signIn(app.url);
    const before = await signedInAs(app.url, cookie);
    check(before === 'Signed in as Alice Liddell', `on SQLite: GET / says "${before}"`);
    check((await app.stop()) === 0, 'app on SQLite stopped cleanly');
    app = undefined;
    print();

    print('## 3. copy, SIGKILLed halfway, then resumed');
    const to = pgUrl('move_check');
    const stateFile = join(dir, 'copy-state.json');
    const copyArgs = ['copy', '--from', sqliteUrl, '--to', to, '--state', stateFile];
    expected = ROWS + 1; // alice's session too
    const killed = await copyKilledHalfway(copyArgs, stateFile);
    check(
      killed.run.signal === 'SIGKILL' && killed.copied > 0 && killed.copied < expected,
      `first copy SIGKILLed after ${count(killed.copied)} of ${count(expected)} sessions (checkpoint), ${seconds(killed.run.ms)}`,
    );
    const resumed = await runBin(copyArgs);
    print(resumed.stdout.trimEnd().replace(/^/gm, '     '));
    check(resumed.code === 0 && /\nverified\s*$/.test(resumed.stdout), `resumed copy: exit ${resumed.code}, verified`);
    check(/resuming after [\d,]+ sessions copied before/.test(resumed.stderr), 'resumed copy said it resumed');
    if (resumed.code !== 0) print(resumed.stderr);
    print(`     resumed copy: ${rate(resumed, expected - killed.copied)}`);
    const first = await compareAll(sqliteUrl, to, 'after the resumed copy');
    check(first.destination.size === expected, `destination holds ${count(expected)} live sessions`);

    const again = await runBin(copyArgs);
    check(again.code === 0 && /\nverified\s*$/.test(again.stdout), `copy once more: exit ${again.code}, verified`);
    print(`     copy once more (every row already there): ${rate(again, expected)}`);
    const second = await compareAll(sqliteUrl, to, 'after copying once more');
    let changed = first.destination.size !== second.destination.size;
    for (const [key, value] of first.destination) if (second.destination.get(key) !== value) changed = true;
    check(!changed, 'copying once more changed nothing in the destination');
    print();

    print('## 4. the example app on PostgreSQL, same secret, same cookie');
    app = await startApp(to, dir, { SESSION_DEPLOYMENT: 'cluster' });
    const after = await signedInAs(app.url, cookie);
    check(after === 'Signed in as Alice Liddell', `on PostgreSQL: GET / with the SQLite-era cookie says "${after}"`);
    check((await app.stop()) === 0, 'app on PostgreSQL stopped cleanly');
    app = undefined;
    print();
  }

  print(`## 5. throughput and stats at ${count(ROWS)} rows`);
  const full = await runBin([
    'copy',
    '--from',
    sqliteUrl,
    '--to',
    pgUrl('move_check_full'),
    '--state',
    join(dir, 'full.json'),
  ]);
  check(
    full.code === 0 && /\nverified\s*$/.test(full.stdout),
    `clean copy into a fresh schema: exit ${full.code}, verified`,
  );
  print(`     clean copy: ${rate(full, expected)}`);
  if (full.code !== 0) print(full.stderr);
  await timeStats(pgUrl('move_check_full'), 'PostgreSQL');
  await timeStats(sqliteUrl, 'SQLite');
} catch (error) {
  check(false, `stopped: ${error.stack ?? error}`);
} finally {
  await app?.stop().catch(() => undefined);
  await dropSchemas().catch(() => undefined);
  await admin.end().catch(() => undefined);
  await postgres.close();
  rmSync(dir, { recursive: true, force: true });
}

print();
print(failures === 0 ? 'all checks passed' : `${failures} check(s) failed`);
process.exitCode = failures === 0 ? 0 : 1;
