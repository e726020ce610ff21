/**
 * The example app over real HTTP, in process, on a SQLite file and on PostgreSQL: sign-in,
 * devices, signing out one device, all other devices, and this one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { DefaultSessionStore, openRecordStore, type SessionRecordStore } from 'sessionsql';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { selectedDialects } from '../../../test/dialects-env.js';
import { COOKIE_NAME, createApp, deviceKey } from '../src/app.js';
import { DEMO_ACCOUNTS, UserDirectory } from '../src/demo-users.js';
import { devicesOf, HttpDevice, headingOf, UA } from './http-device.js';

const SECRET = 'express-login test secret';
const dialects = selectedDialects();
const backends = [
  ...(dialects.some((d) => d.startsWith('sqlite')) ? (['sqlite'] as const) : []),
  ...(dialects.includes('postgres') ? (['postgres'] as const) : []),
];

let users: UserDirectory;
beforeAll(async () => {
  users = await UserDirectory.create(DEMO_ACCOUNTS);
});

for (const backend of backends) {
  describe(`${backend}: express-login example over HTTP`, () => {
    let dir = '';
    let schema = '';
    let counter = 0;
    let store: DefaultSessionStore;
    let signInAttempts: SessionRecordStore;
    let server: Server;
    let base = '';
    const device = (ua: string) => new HttpDevice(base, ua);

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'sessionsql-example-'));
      schema = `test_example_${process.pid}_${Date.now().toString(36)}`;
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
      const tableName = `sessions_${counter++}`;
      const url =
        backend === 'sqlite'
          ? pathToFileURL(join(dir, `${tableName}.sqlite`)).href
          : `${inject('postgresUrl')}?schema=${schema}`;
      store = DefaultSessionStore.fromUrl(url, { tableName, pruneIntervalMs: false });
      signInAttempts = openRecordStore({ url, tableName: `attempts_${tableName}`, pruneIntervalMs: false });
      await store.ready();
      await signInAttempts.ready();
      server = createApp({ store, signInAttempts, users, secret: SECRET }).listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });

    afterEach(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await store.close();
      await signInAttempts.close();
    });

    it('sends visitors to the sign-in page, which lists the demo accounts, and stores nothing for them', async () => {
      const page = await device(UA.firefoxLinux).get('/');
      expect(page.path).toBe('/sign-in');
      expect(headingOf(page)).toBe('Sign in');
      for (const account of DEMO_ACCOUNTS) {
        expect(page.html).toContain(`<code>${account.id}</code> / <code>${account.password}</code>`);
      }
      expect(page.setCookies).toEqual([]);
      expect(await store.length()).toBe(0);
    });

    it('refuses a wrong password or an unknown user with the form again, writing no session', async () => {
      const browser = device(UA.firefoxLinux);
      for (const [username, password] of [
        ['alice', 'not-her-password'],
        ['mallory', 'wonderland'],
        ['alice', ''],
      ] as const) {
        const page = await browser.signIn(username, password);
        expect(page.status).toBe(401);
        expect(page.html).toContain('That username and password do not match.');
        expect(page.html).toContain(`value="${username}"`);
        expect(page.setCookies).toEqual([]);
      }
      expect(browser.sidCookie).toBeUndefined();
      expect(await store.length()).toBe(0);
    });

    it('signs in with a fresh session id, a safe cookie and uncached pages', async () => {
      const browser = device(UA.firefoxLinux);
      // A session id planted in the browser beforehand (session fixation) must not become signed in.
      await store.set('planted-session-id', { cookie: { originalMaxAge: null } } as never);
      browser.plantSession('planted-session-id', SECRET);
      const home = await browser.signIn('Alice', 'wonderland');
      expect(home.path).toBe('/');
      expect(headingOf(home)).toBe('Signed in as Alice Liddell');
      expect(home.headers.get('cache-control')).toBe('no-store');
      expect(home.html).toContain('You are signed in on <a href="/devices">1 device</a>');

      const cookie = home.setCookies.find((c) => c.startsWith(`${COOKIE_NAME}=`))!;
      expect(cookie).toMatch(/; HttpOnly/);
      expect(cookie).toMatch(/; SameSite=Lax/);
      expect(cookie).not.toMatch(/; Secure/);
      expect(browser.sessionId).not.toBe('planted-session-id');
      expect(await store.get('planted-session-id')).toBeNull();
      expect(await store.get(browser.sessionId)).toMatchObject({ userId: 'alice', userAgent: UA.firefoxLinux });
      expect(await store.listSessionHandlesForUser('alice')).toEqual([deviceKey(browser.sessionId)]);

      // Signing in again (as someone else) from a signed-in browser also gets a new id.
      const before = browser.sessionId;
      await browser.signIn('bob', 'canwefixit');
      expect(browser.sessionId).not.toBe(before);
      expect(await store.get(before)).toBeNull();
      expect(await store.countSessionsForUser('alice')).toBe(0);
      expect(await store.countSessionsForUser('bob')).toBe(1);
    });

    it('lists the user’s devices, marking this one, without showing session ids', async () => {
      const laptop = device(UA.chromeWindows);
      const phone = device(UA.safariIphone);
      const other = device(UA.firefoxLinux);
      await laptop.signIn('alice', 'wonderland');
      await phone.signIn('alice', 'wonderland');
      await other.signIn('bob', 'canwefixit');

      const page = await laptop.get('/devices');
      expect(headingOf(page)).toBe('Your devices');
      expect(page.headers.get('cache-control')).toBe('no-store');
      expect(devicesOf(page)).toEqual([
        { key: deviceKey(laptop.sessionId), current: true, label: 'Chrome 131 on Windows' },
        { key: deviceKey(phone.sessionId), current: false, label: 'Safari 18 on iOS' },
      ]);
      expect(page.html).toContain('<span class="badge">this device</span>');
      expect(page.html).toContain('Sign out all other devices');
      for (const sid of [laptop.sessionId, phone.sessionId, other.sessionId]) expect(page.html).not.toContain(sid);

      const alone = await other.get('/devices');
      expect(devicesOf(alone)).toEqual([
        { key: deviceKey(other.sessionId), current: true, label: 'Firefox 133 on Linux' },
      ]);
      expect(alone.html).toContain('You are not signed in anywhere else.');
    });

    it('signs out one other device; a key of another user’s session deletes nothing', async () => {
      const laptop = device(UA.chromeWindows);
      const phone = device(UA.safariIphone);
      const bob = device(UA.firefoxLinux);
      await laptop.signIn('alice', 'wonderland');
      await phone.signIn('alice', 'wonderland');
      await bob.signIn('bob', 'canwefixit');

      const devices = await laptop.get('/devices');
      const foreign = await laptop.submit(devices, `/devices/${deviceKey(bob.sessionId)}/sign-out`);
      expect(foreign.html).toContain('Signed out 0 devices.');
      expect(headingOf(await bob.get('/'))).toBe('Signed in as Bob Builder');

      const after = await laptop.submit(devices, `/devices/${deviceKey(phone.sessionId)}/sign-out`);
      expect(after.path).toBe('/devices?signed-out=1');
      expect(after.html).toContain('Signed out 1 device.');
      expect(devicesOf(after)).toEqual([
        { key: deviceKey(laptop.sessionId), current: true, label: 'Chrome 131 on Windows' },
      ]);
      expect((await phone.get('/')).path).toBe('/sign-in');
      expect(await store.get(phone.sessionId)).toBeNull();
      expect(await store.countSessionsForUser('alice')).toBe(1);
    });

    it('signs out all other devices of the user and keeps this one and other users', async () => {
      const laptop = device(UA.chromeWindows);
      const phone = device(UA.safariIphone);
      const tablet = device(UA.firefoxLinux);
      const bob = device(UA.firefoxLinux);
      for (const d of [laptop, phone, tablet]) await d.signIn('alice', 'wonderland');
      await bob.signIn('bob', 'canwefixit');

      const devices = await laptop.get('/devices');
      expect(devicesOf(devices)).toHaveLength(3);
      const page = await laptop.submit(devices, '/devices/sign-out-others');
      expect(page.html).toContain('Signed out 2 devices.');
      expect(devicesOf(page).map((d) => d.current)).toEqual([true]);
      expect((await phone.get('/')).path).toBe('/sign-in');
      expect((await tablet.get('/devices')).path).toBe('/sign-in');
      expect(headingOf(await laptop.get('/'))).toBe('Signed in as Alice Liddell');
      expect(headingOf(await bob.get('/'))).toBe('Signed in as Bob Builder');
      expect(await store.listSessionHandlesForUser('alice')).toEqual([deviceKey(laptop.sessionId)]);
    });

    it('signs out: the session is destroyed, the cookie cleared, and the old cookie is anonymous', async () => {
      const browser = device(UA.chromeWindows);
      const home = await browser.signIn('alice', 'wonderland');
      const sid = browser.sessionId;
      const oldCookie = browser.sidCookie;

      const page = await browser.submit(home, '/sign-out');
      expect(page.path).toBe('/sign-in');
      expect(page.setCookies.some((c) => /^sid=;.*Expires=Thu, 01 Jan 1970/.test(c))).toBe(true);
      expect(browser.sidCookie).toBeUndefined();
      expect(await store.get(sid)).toBeNull();
      expect(await store.countSessionsForUser('alice')).toBe(0);

      // Someone who kept a copy of the old cookie is not signed in with it.
      const replay = device(UA.chromeWindows);
      replay.sidCookie = oldCookie;
      expect((await replay.get('/')).path).toBe('/sign-in');
      expect((await replay.get('/devices')).path).toBe('/sign-in');
      expect(await store.length()).toBe(0);
    });

    it('refuses signed-in form posts without this session’s token', async () => {
      const browser = device(UA.chromeWindows);
      const phone = device(UA.safariIphone);
      await browser.signIn('alice', 'wonderland');
      await phone.signIn('alice', 'wonderland');
      for (const action of [
        '/sign-out',
        '/devices/sign-out-others',
        `/devices/${deviceKey(phone.sessionId)}/sign-out`,
      ]) {
        expect((await browser.post(action)).status).toBe(403);
        expect((await browser.post(action, { csrf: 'x'.repeat(32) })).status).toBe(403);
      }
      expect(await store.countSessionsForUser('alice')).toBe(2);
    });
  });
}
