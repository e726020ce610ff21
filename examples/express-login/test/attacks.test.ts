/**
 * "Never hang, never leak": the example app attacked over real HTTP, in process, on a SQLite
 * file and on PostgreSQL. Login CSRF, password guessing (the throttle's state is in the
 * database, shared by every node), an oversized form, a session write that fails during
 * sign-in, production over plain HTTP, and what the app logs meanwhile.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { format } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import { DefaultSessionStore, openRecordStore, type SessionRecordStore } from 'sessionsql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { selectedDialects } from '../../../test/dialects-env.js';
import { type AppOptions, createApp } from '../src/app.js';
import { DEMO_ACCOUNTS, UserDirectory } from '../src/demo-users.js';
import { csrfOf, HttpDevice, headingOf, UA } from './http-device.js';

const SECRET = 'express-login attack test secret';
const dialects = selectedDialects();
const backends = [
  ...(dialects.some((d) => d.startsWith('sqlite')) ? (['sqlite'] as const) : []),
  ...(dialects.includes('postgres') ? (['postgres'] as const) : []),
];

/** What a browser adds to a form post made by a page of another site. */
const CROSS_SITE = { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' } as const;

let users: UserDirectory;
beforeAll(async () => {
  users = await UserDirectory.create(DEMO_ACCOUNTS);
});

/** One HTTP request on `agent` (keep-alive), with whether it went over a reused connection. */
function send(
  agent: Agent,
  base: string,
  method: string,
  path: string,
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; html: string; reusedSocket: boolean }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, base),
      {
        method,
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        let html = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          html += chunk;
        });
        res.on('end', () =>
          resolve({ status: res.statusCode!, headers: res.headers, html, reusedSocket: req.reusedSocket }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

for (const backend of backends) {
  describe(`${backend}: express-login attacked`, () => {
    let dir = '';
    let schema = '';
    let counter = 0;
    let url = '';
    let sessionsTable = '';
    let attemptsTable = '';
    let store: DefaultSessionStore;
    let attempts: SessionRecordStore;
    let logged: string[];
    const servers: Server[] = [];
    const closers: (() => Promise<void>)[] = [];

    /** Starts the app (one more node of it) on the test's database and resolves its base URL. */
    async function startNode(overrides: Partial<AppOptions> = {}, own = false): Promise<string> {
      let nodeStore = store;
      let nodeAttempts = attempts;
      if (own) {
        // Another node: its own connections to the same tables.
        nodeStore = DefaultSessionStore.fromUrl(url, { tableName: sessionsTable, pruneIntervalMs: false });
        nodeAttempts = openRecordStore({ url, tableName: attemptsTable, pruneIntervalMs: false });
        closers.push(
          () => nodeStore.close(),
          () => nodeAttempts.close(),
        );
        // One after the other: two stores migrating one SQLite file at once wait on each other.
        await nodeStore.ready();
        await nodeAttempts.ready();
      }
      const server = createApp({
        store: nodeStore,
        signInAttempts: nodeAttempts,
        users,
        secret: SECRET,
        ...overrides,
      }).listen(0, '127.0.0.1');
      servers.push(server);
      await new Promise((resolve) => server.once('listening', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }

    /** Drops the session table under the running app: every session read or write fails. */
    async function dropSessionTable(): Promise<void> {
      if (backend === 'sqlite') {
        const db = new Database(join(dir, `${sessionsTable}.sqlite`));
        db.exec(`drop table "${sessionsTable}"`);
        db.close();
      } else {
        const admin = new pg.Client({ connectionString: inject('postgresUrl') });
        await admin.connect();
        await admin.query(`drop table "${schema}"."${sessionsTable}"`);
        await admin.end();
      }
    }

    /** Makes every update of the session table fail (reads and inserts still work): a real database error. */
    async function failSessionUpdates(): Promise<void> {
      if (backend === 'sqlite') {
        const db = new Database(join(dir, `${sessionsTable}.sqlite`));
        db.exec(
          `create trigger "${sessionsTable}_no_updates" before update on "${sessionsTable}" begin select raise(abort, 'updates refused by the test'); end`,
        );
        db.close();
      } else {
        const admin = new pg.Client({ connectionString: inject('postgresUrl') });
        await admin.connect();
        await admin.query(
          `create or replace function "${schema}".refuse_update() returns trigger language plpgsql as $$ begin raise exception 'updates refused by the test'; end $$`,
        );
        await admin.query(
          `create trigger no_updates before update on "${schema}"."${sessionsTable}" for each row execute function "${schema}".refuse_update()`,
        );
        await admin.end();
      }
    }

    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sessionsql-attacks-'));
      schema = `test_attacks_${process.pid}_${Date.now().toString(36)}`;
    });

    afterAll(async () => {
      rmSync(dir, { recursive: true, force: true });
      if (backend === 'postgres') {
        const admin = new pg.Client({ connectionString: inject('postgresUrl') });
        await admin.connect();
        await admin.query(`drop schema if exists "${schema}" cascade`);
        await admin.end();
      }
    });

    beforeEach(async () => {
      const n = counter++;
      sessionsTable = `sessions_${n}`;
      attemptsTable = `attempts_${n}`;
      url =
        backend === 'sqlite'
          ? pathToFileURL(join(dir, `${sessionsTable}.sqlite`)).href
          : `${inject('postgresUrl')}?schema=${schema}`;
      store = DefaultSessionStore.fromUrl(url, { tableName: sessionsTable, pruneIntervalMs: false });
      attempts = openRecordStore({ url, tableName: attemptsTable, pruneIntervalMs: false });
      await store.ready();
      await attempts.ready();
      logged = [];
      for (const method of ['error', 'warn', 'log', 'info'] as const) {
        vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
          logged.push(format(...args));
        });
      }
    });

    afterEach(async () => {
      vi.restoreAllMocks();
      for (const server of servers.splice(0)) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await Promise.all(closers.splice(0).map((close) => close()));
      await store.close();
      await attempts.close();
    });

    it('refuses a sign-in posted from another site (login CSRF), signed in or not, and writes nothing', async () => {
      const base = await startNode();
      const victim = new HttpDevice(base, UA.chromeWindows);
      // The attacker's page posts its own account's credentials through the victim's browser.
      for (const headers of [
        { ...CROSS_SITE },
        { origin: 'http://evil.example' }, // a browser that sends no Fetch Metadata
        { origin: 'null' }, // a sandboxed frame or a privacy redirect
        { origin: 'https://sub.127.0.0.1.example', 'sec-fetch-site': 'same-site' }, // a sibling subdomain
      ] as Record<string, string>[]) {
        const page = await victim.signIn('bob', 'canwefixit', headers);
        expect(page.status).toBe(403);
        expect(page.html).toContain('did not come from this site');
        expect(page.setCookies).toEqual([]);
      }
      expect(victim.sidCookie).toBeUndefined();
      expect(await store.length()).toBe(0);

      // Over an existing session: the victim stays who she is and keeps her session.
      const home = await victim.signIn('alice', 'wonderland', { origin: base, 'sec-fetch-site': 'same-origin' });
      expect(headingOf(home)).toBe('Signed in as Alice Liddell');
      const sid = victim.sessionId;
      const forged = await victim.signIn('bob', 'canwefixit', CROSS_SITE);
      expect(forged.status).toBe(403);
      expect(forged.setCookies).toEqual([]);
      expect(victim.sessionId).toBe(sid);
      expect(headingOf(await victim.get('/'))).toBe('Signed in as Alice Liddell');
      expect(await store.get(sid)).toMatchObject({ userId: 'alice' });
      expect(await store.countSessionsForUser('bob')).toBe(0);

      // A signed-in form posted cross-site is refused even with the right token.
      const signOut = await victim.post('/sign-out', { csrf: csrfOf(home) }, CROSS_SITE);
      expect(signOut.status).toBe(403);
      expect(await store.get(sid)).toMatchObject({ userId: 'alice' });

      // Clients that are no browser (no Origin, no Sec-Fetch-Site) still sign in.
      expect(headingOf(await new HttpDevice(base, UA.firefoxLinux).signIn('bob', 'canwefixit'))).toBe(
        'Signed in as Bob Builder',
      );
    });

    it('locks an account after 10 failed sign-ins: 429 with Retry-After and a readable page, even for the right password', async () => {
      const base = await startNode();
      const attacker = new HttpDevice(base, UA.firefoxLinux);
      const statuses: number[] = [];
      for (let i = 0; i < 150; i++) statuses.push((await attacker.signIn('alice', `guess-${i}`)).status);
      expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
      expect(statuses.slice(10)).toEqual(Array(140).fill(429));

      // Attempt 151, the right password: still locked.
      const right = await attacker.signIn('alice', 'wonderland');
      expect(right.status).toBe(429);
      const retryAfter = Number(right.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThan(14 * 60);
      expect(retryAfter).toBeLessThanOrEqual(15 * 60);
      expect(right.html).toContain('Too many failed sign-ins for this account.');
      expect(right.html).toContain('Try again in 15 minutes');
      expect(right.setCookies).toEqual([]);
      expect(await store.length()).toBe(0);

      // Other accounts are not locked (the client's own limit is higher).
      expect(headingOf(await attacker.signIn('bob', 'canwefixit'))).toBe('Signed in as Bob Builder');
    });

    it('lets no more than 10 concurrent guesses through', async () => {
      const base = await startNode();
      const guess = (i: number) => new HttpDevice(base, UA.firefoxLinux).signIn('bob', `guess-${i}`);
      const burst = (await Promise.all(Array.from({ length: 40 }, (_, i) => guess(i)))).map((p) => p.status);
      // A racing attempt may also count rows of attempts that started after it, so a burst can be
      // refused more than needed, never less: at most 10 passwords checked.
      let checked = burst.filter((s) => s === 401).length;
      expect(checked).toBeLessThanOrEqual(10);
      expect(burst.filter((s) => s === 429)).toHaveLength(40 - checked);
      // One at a time, the rest of the 10 are checked, and no more.
      for (let i = 40; i < 60; i++) {
        const status = (await guess(i)).status;
        if (status === 429) break;
        expect(status).toBe(401);
        checked++;
      }
      expect(checked).toBe(10);
      expect((await new HttpDevice(base, UA.firefoxLinux).signIn('bob', 'canwefixit')).status).toBe(429);
    });

    it('throttles a client guessing across accounts after 50 failures', async () => {
      const base = await startNode();
      const sprayer = new HttpDevice(base, UA.firefoxLinux);
      for (let i = 0; i < 50; i += 10) {
        const pages = await Promise.all(
          Array.from({ length: 10 }, (_, j) => sprayer.signIn(`user-${i + j}`, 'password1')),
        );
        expect(pages.map((p) => p.status)).toEqual(Array(10).fill(401));
      }
      const page = await sprayer.signIn('alice', 'wonderland');
      expect(page.status).toBe(429);
      expect(page.html).toContain('Too many failed sign-ins from your network.');
      expect(Number(page.headers.get('retry-after'))).toBeGreaterThan(14 * 60);
    });

    it('keeps the throttle in the database: another node refuses too, until the lock runs out', async () => {
      const limits = { account: { failures: 3, windowMs: 3_000 }, client: { failures: 50, windowMs: 3_000 } };
      const a = await startNode({ signInLimits: limits });
      const b = await startNode({ signInLimits: limits }, true);
      const device = new HttpDevice(a, UA.chromeWindows);
      expect((await device.signIn('alice', 'guess-1')).status).toBe(401);
      device.base = b;
      expect((await device.signIn('alice', 'guess-2')).status).toBe(401);
      device.base = a;
      expect((await device.signIn('alice', 'guess-3')).status).toBe(401);
      device.base = b;
      const locked = await device.signIn('alice', 'wonderland');
      expect(locked.status).toBe(429);
      const retryAfter = Number(locked.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3);
      expect(locked.html).toContain(`Try again in ${retryAfter} second`);

      await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000 + 100));
      expect(headingOf(await device.signIn('alice', 'wonderland'))).toBe('Signed in as Alice Liddell');
    });

    it('forgets an account’s failures once it signs in', async () => {
      const base = await startNode();
      const device = new HttpDevice(base, UA.chromeWindows);
      for (let i = 0; i < 9; i++) expect((await device.signIn('alice', `typo-${i}`)).status).toBe(401);
      expect(headingOf(await device.signIn('alice', 'wonderland'))).toBe('Signed in as Alice Liddell');
      for (let i = 0; i < 9; i++) expect((await device.signIn('alice', `typo-${i}`)).status).toBe(401);
      expect(headingOf(await device.signIn('Alice', 'wonderland'))).toBe('Signed in as Alice Liddell');
    });

    it('answers a 10 KB form with 413 and a readable page, logging no stack trace and no body', async () => {
      const base = await startNode();
      const secret = `password-${'x'.repeat(10 * 1024)}`;
      const page = await new HttpDevice(base, UA.chromeWindows).signIn('alice', secret);
      expect(page.status).toBe(413);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(page.html).toContain('That form was too large');
      expect(page.html).not.toMatch(/\bat \S+ \(/);
      expect(logged.join('\n')).not.toMatch(/\n\s+at /);
      expect(logged.join('\n')).not.toContain('password-');
      expect(await store.length()).toBe(0);
    });

    it('writes a new session once per sign-in', async () => {
      const base = await startNode();
      const sets = vi.spyOn(store, 'set');
      const destroys = vi.spyOn(store, 'destroy');
      const laptop = new HttpDevice(base, UA.chromeWindows);
      expect(headingOf(await laptop.signIn('alice', 'wonderland'))).toBe('Signed in as Alice Liddell');
      expect(sets).toHaveBeenCalledTimes(1);
      expect(destroys).toHaveBeenCalledTimes(0);

      // Signing in again over a session: the old one is destroyed, the new one written once.
      const before = laptop.sessionId;
      sets.mockClear();
      expect(headingOf(await laptop.signIn('bob', 'canwefixit'))).toBe('Signed in as Bob Builder');
      expect(sets).toHaveBeenCalledTimes(1);
      expect(destroys.mock.calls.map((call) => call[0])).toEqual([before]);
      expect(await store.get(before)).toBeNull();
    });

    it('shows 503 when the session write fails at sign-in, tries once, and keeps the connection usable', async () => {
      const base = await startNode();
      // A device signed in before the failure: its session id must never reach the log.
      const laptop = new HttpDevice(base, UA.chromeWindows);
      await laptop.signIn('alice', 'wonderland');
      const sid = laptop.sessionId;
      const sets = vi.spyOn(store, 'set');
      await dropSessionTable();

      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const failed = await send(agent, base, 'POST', '/sign-in', 'username=bob&password=canwefixit');
        expect(failed.status).toBe(503);
        expect(failed.html).toContain('Signing in is not possible right now');
        expect(failed.headers['set-cookie']).toBeUndefined();
        expect(sets).toHaveBeenCalledTimes(1);
        // The same connection serves the next request.
        const next = await send(agent, base, 'GET', '/sign-in');
        expect(next.reusedSocket).toBe(true);
        expect(next.status).toBe(200);
        expect(next.html).toContain('<h1>Sign in</h1>');
      } finally {
        agent.destroy();
      }

      // A signed-in device whose session cannot be read gets the error page, not a hang.
      const home = await laptop.get('/');
      expect(home.status).toBe(503);
      expect(home.setCookies).toEqual([]);

      const log = logged.join('\n');
      expect(log).toContain('POST /sign-in');
      expect(log).not.toContain(sid);
      expect(log).not.toContain(laptop.sidCookie!);
      expect(log).not.toContain('canwefixit');
    });

    it('logs a session touch that fails after the response, and keeps the connection open', async () => {
      const base = await startNode();
      const laptop = new HttpDevice(base, UA.chromeWindows);
      await laptop.signIn('alice', 'wonderland');
      const cookie = `sid=${laptop.sidCookie}`;
      await failSessionUpdates();
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; i < 2; i++) {
          // express-session touches the session as the response ends: that write fails.
          const page = await new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
            const req = request(new URL('/', base), { agent, headers: { cookie } }, (res) => {
              res.resume();
              res.on('end', () => resolve({ status: res.statusCode!, reused: req.reusedSocket }));
            });
            req.on('error', reject);
            req.end();
          });
          expect(page).toEqual({ status: 200, reused: i > 0 });
        }
      } finally {
        agent.destroy();
      }
      await vi.waitFor(() => expect(logged.join('\n')).toContain('GET / failed after its response was sent'));
      expect(logged.join('\n')).toContain('updates refused by the test');
      expect(logged.join('\n')).not.toContain(laptop.sessionId);
    });

    it('in production refuses to sign in over plain HTTP, saying why and storing nothing; over a TLS proxy it signs in', async () => {
      const base = await startNode({ production: true, trustProxy: 'loopback' });
      const plain = new HttpDevice(base, UA.chromeWindows);
      const form = await plain.get('/sign-in');
      expect(form.status).toBe(403);
      expect(form.html).toContain('Signing in needs HTTPS');
      const page = await plain.signIn('alice', 'wonderland');
      expect(page.status).toBe(403);
      expect(page.html).toContain('Signing in needs HTTPS');
      expect(page.setCookies).toEqual([]);
      expect(await store.length()).toBe(0);

      // Behind a TLS-terminating proxy (X-Forwarded-Proto from a trusted address): a Secure cookie.
      const proxied = new HttpDevice(base, UA.chromeWindows);
      proxied.headers = { 'x-forwarded-proto': 'https' };
      const home = await proxied.signIn('alice', 'wonderland');
      expect(headingOf(home)).toBe('Signed in as Alice Liddell');
      expect(home.setCookies.find((c) => c.startsWith('sid='))).toMatch(/; Secure/);
      expect(await store.length()).toBe(1);
    });
  });
}
