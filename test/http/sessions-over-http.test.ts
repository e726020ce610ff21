/**
 * One suite for every framework adapter over real HTTP, on SQLite (file) and PostgreSQL: sign
 * in, read, sign out other devices (also while another device's request is running), sign out,
 * expiry, and the writes of a session that is only read. Each framework is a row of
 * FRAMEWORKS; each app has the same routes (see framework.ts).
 */
import { SessionRecordStore, sessionKey } from '@sessionsql/core';
import { afterEach, describe, expect, it } from 'vitest';
import { selectedDialects, useStoreHarness } from '../dialects.js';
import { CookieClient } from './cookie-client.js';
import { countingBackend } from './counting-backend.js';
import { Gate, type RunningApp, userNamed } from './framework.js';
import { FRAMEWORKS } from './frameworks.js';

/** HTTP runs on the dialects a deployment uses; sqlite-memory adds nothing here. */
const DIALECTS = selectedDialects().filter((dialect) => dialect !== 'sqlite-memory');
const HOUR_MS = 3_600_000;
/** The session lifetime of the expiry test. */
const SHORT_MAX_AGE_MS = 400;
const alice = userNamed('alice');
const bob = userNamed('bob');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

interface Me {
  user: { id: string; name: string } | null;
  sid: string | null;
}

for (const framework of FRAMEWORKS) {
  for (const dialect of DIALECTS) {
    describe(`${framework.name} on ${dialect}`, () => {
      const h = useStoreHarness(dialect);
      const running: { app: RunningApp; gate: Gate }[] = [];

      // Registered after the harness's hooks, so it runs before them: apps stop before their database.
      afterEach(async () => {
        for (const { app, gate } of running.splice(0)) {
          gate.open();
          await app.flush();
          await app.close();
        }
      });

      async function start({ touchAfterMs = 0, maxAgeMs = HOUR_MS } = {}) {
        const counter = countingBackend(h().createBackend());
        const records = new SessionRecordStore(counter.backend, {
          tableName: h().table,
          pruneIntervalMs: false,
          touchAfterMs,
          ...framework.recordOptions?.(maxAgeMs),
        });
        await records.ready();
        const gate = new Gate();
        const app = await framework.start(records, { maxAgeMs, gate });
        running.push({ app, gate });
        return { app, records, counter, gate, client: () => new CookieClient(app.base) };
      }

      /** The user_id of the session's row; `[]` when there is no row. */
      const rowsOf = (sid: string | null) =>
        h().query<{ user_id: string | null }>(`select user_id from ${h().qualifiedTable} where id = ?`, [
          sid === null ? '' : sessionKey(sid),
        ]);

      /** Signs `client` in as `user`, checks it reads back, and returns the session id. */
      async function signIn(client: CookieClient, user: string): Promise<string> {
        expect((await client.post(`/sign-in?user=${user}`)).status).toBe(200);
        const me = await client.get<Me>('/me');
        expect(me.body.user).toEqual(userNamed(user));
        expect(me.body.sid).toEqual(expect.any(String));
        return me.body.sid!;
      }

      it('signs in: the row holds the user id, and signing in again replaces the session id', async () => {
        const { app, records, client } = await start();
        const browser = client();
        const first = await signIn(browser, 'alice');
        await app.flush();
        expect(await rowsOf(first)).toEqual([{ user_id: 'alice' }]);

        const second = await signIn(browser, 'alice');
        await app.flush();
        if (framework.regenerates) {
          expect(second).not.toBe(first);
          expect(await rowsOf(first)).toEqual([]);
        }
        expect(await rowsOf(second)).toEqual([{ user_id: 'alice' }]);
        expect(await records.listSessionHandlesForUser('alice')).toEqual([second].map(sessionKey));
      });

      it('reads the session on every request; without one the client is anonymous', async () => {
        const { client } = await start();
        expect((await client().get<Me>('/me')).body).toEqual({ user: null, sid: null });
        const browser = client();
        const sid = await signIn(browser, 'alice');
        for (let i = 0; i < 3; i++) expect((await browser.get<Me>('/me')).body).toEqual({ user: alice, sid });
      });

      it("signs out other devices: the user's other sessions go, this one and other users' stay", async () => {
        const { app, records, client } = await start();
        const [laptop, phone, bobs] = [client(), client(), client()];
        const laptopSid = await signIn(laptop, 'alice');
        const phoneSid = await signIn(phone, 'alice');
        const bobSid = await signIn(bobs, 'bob');

        const cleared = await laptop.post('/sign-out-others');
        expect(cleared).toEqual({ status: 200, body: { cleared: 1 } });
        expect(await rowsOf(phoneSid)).toEqual([]);
        expect((await phone.get<Me>('/me')).body.user).toBeNull();
        expect((await laptop.get<Me>('/me')).body).toEqual({ user: alice, sid: laptopSid });
        expect((await bobs.get<Me>('/me')).body).toEqual({ user: bob, sid: bobSid });
        await app.flush();
        expect(await records.listSessionHandlesForUser('alice')).toEqual([laptopSid].map(sessionKey));
      });

      it("signs out other devices during another device's request: its end-of-request save does not bring the session back", async () => {
        const { app, records, counter, gate, client } = await start();
        const [laptop, phone] = [client(), client()];
        const laptopSid = await signIn(laptop, 'alice');
        const phoneSid = await signIn(phone, 'alice');
        await app.flush();

        // The phone's request loads its session, then waits at the gate.
        const slow = phone.get<Me>('/slow');
        const answeredEarly = slow.then((answer) => {
          throw new Error(`GET /slow answered without waiting at the gate: ${JSON.stringify(answer)}`);
        });
        await Promise.race([gate.arrived(), answeredEarly]);
        expect(await laptop.post('/sign-out-others')).toEqual({ status: 200, body: { cleared: 1 } });
        expect(await rowsOf(phoneSid)).toEqual([]);

        // Let it finish: the framework saves the session it loaded, signed in, at its end.
        counter.reset();
        gate.open();
        expect((await slow).body).toEqual({ user: alice, sid: phoneSid });
        await app.flush();
        expect(counter.writes).toBeGreaterThan(0);

        expect(await rowsOf(phoneSid)).toEqual([]);
        expect((await phone.get<Me>('/me')).body).toEqual({ user: null, sid: null });
        expect((await laptop.get<Me>('/me')).body).toEqual({ user: alice, sid: laptopSid });
        await app.flush();
        expect(await rowsOf(phoneSid)).toEqual([]);
        expect(await records.listSessionHandlesForUser('alice')).toEqual([laptopSid].map(sessionKey));
      });

      it('signs out: the row is gone and the client is anonymous', async () => {
        const { app, client } = await start();
        const browser = client();
        const sid = await signIn(browser, 'alice');
        expect((await browser.post('/sign-out')).status).toBe(200);
        await app.flush();
        expect(await rowsOf(sid)).toEqual([]);
        expect((await browser.get<Me>('/me')).body).toEqual({ user: null, sid: null });
      });

      it('honours the expiry: the row expires as configured, and afterwards the client is anonymous', async () => {
        const { app, records, client } = await start({ maxAgeMs: SHORT_MAX_AGE_MS });
        const browser = client();
        const before = Date.now();
        const sid = await signIn(browser, 'alice');
        const lastUsed = Date.now();
        await app.flush();
        const record = await records.load(sid);
        expect(record?.expiresAt).toBeGreaterThanOrEqual(before + SHORT_MAX_AGE_MS);
        expect(record?.expiresAt).toBeLessThanOrEqual(lastUsed + SHORT_MAX_AGE_MS);

        await sleep(lastUsed + SHORT_MAX_AGE_MS + 50 - Date.now());
        expect((await browser.get<Me>('/me')).body).toEqual({ user: null, sid: null });
        await app.flush();
        expect(await records.load(sid)).toBeNull();
      });

      it('writes an unchanged session at most once for 10 reads with touchAfterMs', async () => {
        const { app, counter, client } = await start({ touchAfterMs: 60_000 });
        const browser = client();
        await signIn(browser, 'alice');
        await app.flush();
        expect(counter.writes).toBeGreaterThan(0);

        counter.reset();
        for (let i = 0; i < 10; i++) expect((await browser.get<Me>('/me')).body.user).toEqual(alice);
        await app.flush();
        expect(counter.writes).toBeLessThanOrEqual(1);
      });
    });
  }
}
