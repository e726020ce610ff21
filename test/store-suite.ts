/**
 * The behaviour every dialect must show, written once and run per dialect by store.test.ts.
 */
import { createHash } from 'node:crypto';
import { SessionStoreError, sessionKey } from '@sessionsql/core';
import type { SessionData } from 'express-session';
import { describe, expect, it, vi } from 'vitest';
import { type DialectName, useStoreHarness } from './dialects.js';

const HOUR = 3_600_000;

export function session(extra: Record<string, unknown> = {}, expires: number | null = Date.now() + HOUR): SessionData {
  return {
    cookie: {
      originalMaxAge: HOUR,
      expires: expires === null ? null : new Date(expires).toISOString(),
      httpOnly: true,
      path: '/',
    },
    ...extra,
  } as unknown as SessionData;
}

/** Runs `body`, then fails if any promise was rejected unhandled while it ran (or just after). */
async function expectNoUnhandledRejection(body: () => Promise<void>): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await body();
    await new Promise((r) => setTimeout(r, 50));
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

/** Calls `fn` with a callback and resolves what the callback received, failing if it is called twice. */
function viaCallback<T>(
  fn: (cb: (err: unknown, value?: T) => void) => unknown,
): Promise<{ err: unknown; value?: T; returned: unknown }> {
  return new Promise((resolve, reject) => {
    let calls = 0;
    let returned: unknown;
    returned = fn((err, value) => {
      calls++;
      if (calls > 1) reject(new Error('callback called twice'));
      setTimeout(() => resolve({ err, value, returned }), 20);
    });
  });
}

export function defineStoreSuite(dialect: DialectName): void {
  describe(`${dialect}: store`, () => {
    const h = useStoreHarness(dialect);

    describe('get and set', () => {
      it('round-trips nested, unicode and 100 KB data', async () => {
        const store = h().createStore();
        const big = 'x'.repeat(100 * 1024);
        const data = session({
          user: {
            id: 42,
            name: 'Zoë 李 🎉',
            roles: ['admin', 'editor'],
            nested: { deep: { deeper: [1, 2.5, null, true] } },
          },
          text: 'quotes \' " \\ and newline\n and tab\t',
          big,
        });
        await store.set('sid-1', data);
        const got = await store.get('sid-1');
        expect(got).toEqual(JSON.parse(JSON.stringify(data)));
        expect((got as unknown as { big: string }).big.length).toBe(100 * 1024);
      });

      it('resolves null for an unknown id, through the promise and the callback', async () => {
        const store = h().createStore();
        expect(await store.get('nope')).toBeNull();
        const { err, value, returned } = await viaCallback<SessionData | null>((cb) => store.get('nope', cb));
        expect(err).toBeNull();
        expect(value).toBeNull();
        await expect(returned).resolves.toBeUndefined();
      });

      it('keeps the last write', async () => {
        const store = h().createStore();
        await store.set('sid', session({ n: 1 }));
        await store.set('sid', session({ n: 2 }));
        expect(await store.get('sid')).toMatchObject({ n: 2 });
        expect(await store.length()).toBe(1);
      });

      it('accepts 50 concurrent writes to one id', async () => {
        const store = h().createStore();
        const results = await Promise.allSettled(
          Array.from({ length: 50 }, (_, i) => store.set('hot', session({ n: i }))),
        );
        expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
        const got = (await store.get('hot')) as unknown as { n: number };
        expect(got.n).toBeGreaterThanOrEqual(0);
        expect(got.n).toBeLessThan(50);
        expect(await store.length()).toBe(1);
      });

      it('keeps ids byte-exact: long unicode ids, quotes, % and /, case and trailing space', async () => {
        const store = h().createStore();
        const ids = [
          `${'ü李🎉a'.repeat(200)}`.slice(0, 1000),
          `it's "quoted" %_ /path/../x \\ ; drop table x; --`,
          'abc',
          'ABC',
          'abc ',
          ' abc',
          'a%',
          'a_',
        ];
        expect(ids[0]!.length).toBe(1000);
        for (const [i, id] of ids.entries()) await store.set(id, session({ i }));
        for (const [i, id] of ids.entries()) expect(await store.get(id)).toMatchObject({ i });
        expect(Object.keys(await store.all()).sort()).toEqual(ids.map(sessionKey).sort());
        expect(await store.get('abc  ')).toBeNull();
        expect(await store.get('Abc')).toBeNull();
      });

      it('keeps sessions across store instances', async () => {
        const first = h().createStore();
        await first.set('persist', session({ kept: true }));
        await first.close();
        const second = h().createStore();
        expect(await second.get('persist')).toMatchObject({ kept: true });
      });

      it('keys all() by handle, never by id, and keeps an id such as __proto__ ordinary', async () => {
        const store = h().createStore();
        await store.set('__proto__', session({ p: 1 }));
        expect(await store.get('__proto__')).toMatchObject({ p: 1 });
        const all = await store.all();
        expect(Object.keys(all)).toEqual([sessionKey('__proto__')]);
        expect(Object.getPrototypeOf(all)).toBe(Object.prototype);
      });
    });

    describe('per-user operations', () => {
      it('tracks the user of each session and keeps users apart', async () => {
        const store = h().createStore();
        await store.set('a1', session({ userId: 'alice' }));
        await store.set('a2', session({ user: { id: 'alice', name: 'A' } }));
        await store.set('b1', session({ passport: { user: 'bob' } }));
        await store.set('n1', session({ user: { id: 7 } }));
        await store.set('anon', session({ cart: [1] }));
        expect(await store.countSessionsForUser('alice')).toBe(2);
        expect(await store.countSessionsForUser('bob')).toBe(1);
        expect(await store.countSessionsForUser(7)).toBe(1);
        expect(await store.countSessionsForUser('7')).toBe(1);
        expect(await store.countSessionsForUser('carol')).toBe(0);
        expect((await store.listSessionHandlesForUser('alice')).sort()).toEqual(['a1', 'a2'].map(sessionKey).sort());
        expect(await store.listSessionHandlesForUser('bob')).toEqual(['b1'].map(sessionKey));
        const [row] = await h().query<{ user_id: unknown }>(`select user_id from ${h().qualifiedTable} where id = ?`, [
          sessionKey('anon'),
        ]);
        expect(row!.user_id).toBeNull();
      });

      it('clears a user everywhere, or everywhere but one session', async () => {
        const store = h().createStore();
        for (const id of ['a1', 'a2', 'a3']) await store.set(id, session({ userId: 'alice' }));
        await store.set('b1', session({ userId: 'bob' }));
        expect(await store.clearSessionsForUser('alice', { except: 'a2' })).toBe(2);
        expect(await store.listSessionHandlesForUser('alice')).toEqual(['a2'].map(sessionKey));
        expect(await store.get('a2')).not.toBeNull();
        expect(await store.get('a1')).toBeNull();
        expect(await store.clearSessionsForUser('alice')).toBe(1);
        expect(await store.countSessionsForUser('alice')).toBe(0);
        expect(await store.countSessionsForUser('bob')).toBe(1);
        const { err, value } = await viaCallback<number>((cb) => store.clearSessionsForUser('bob', cb));
        expect(err).toBeNull();
        expect(value).toBe(1);
      });

      it('ignores expired sessions in every per-user result', async () => {
        let now = 20_000_000;
        const store = h().createStore({ clock: () => now });
        await store.set('live', session({ userId: 'u' }, now + HOUR));
        await store.set('dead', session({ userId: 'u' }, now + 5));
        now += 10;
        expect(await store.countSessionsForUser('u')).toBe(1);
        expect(await store.listSessionHandlesForUser('u')).toEqual(['live'].map(sessionKey));
        expect((await store.listSessionsForUser('u')).map((s) => s.handle)).toEqual(['live'].map(sessionKey));
        expect(await store.clearSessionsForUser('u')).toBe(1);
        const ids: string[] = [];
        for await (const s of store.dump()) ids.push(s.handle);
        expect(ids).toEqual([]);
      });

      it('drops a session from its user when it is saved again without one (logout)', async () => {
        const store = h().createStore();
        await store.set('s', session({ userId: 'alice' }));
        expect(await store.countSessionsForUser('alice')).toBe(1);
        await store.set('s', session({}));
        expect(await store.countSessionsForUser('alice')).toBe(0);
        await store.set('s', session({ userId: 'bob' }));
        expect(await store.listSessionHandlesForUser('bob')).toEqual(['s'].map(sessionKey));
        expect(await store.listSessionHandlesForUser('alice')).toEqual([].map(sessionKey));
      });

      it("lists a user's sessions newest first with times and data, paged", async () => {
        let now = 30_000_000;
        const store = h().createStore({ clock: () => now });
        for (const n of [1, 2, 3]) {
          await store.set(`d${n}`, session({ userId: 'alice', agent: `browser ${n}` }, now + HOUR));
          now += 1000;
        }
        await store.touch('d1', session({}, now + 2 * HOUR));
        const list = await store.listSessionsForUser('alice');
        expect(list.map((s) => s.handle)).toEqual(['d3', 'd2', 'd1'].map(sessionKey));
        expect(list[2]).toEqual({
          handle: sessionKey('d1'),
          userId: 'alice',
          createdAt: 30_000_000,
          updatedAt: now,
          expiresAt: now + 2 * HOUR,
          data: expect.objectContaining({ agent: 'browser 1' }),
        });
        expect((await store.listSessionsForUser('alice', { limit: 1, offset: 1 })).map((s) => s.handle)).toEqual(
          ['d2'].map(sessionKey),
        );
        const { value } = await viaCallback<unknown[]>((cb) => store.listSessionsForUser('alice', { limit: 2 }, cb));
        expect(value).toHaveLength(2);
        await expect(store.listSessionsForUser('alice', { limit: 0 })).rejects.toThrow(/limit/);
      });

      it('uses a custom getUserId, and rejects what it cannot store', async () => {
        const store = h().createStore({
          getUserId: (s) => (s as unknown as { account?: { uuid: string } }).account?.uuid,
        });
        await store.set('s', session({ account: { uuid: 'u-1' }, userId: 'ignored' }));
        expect(await store.listSessionHandlesForUser('u-1')).toEqual(['s'].map(sessionKey));
        expect(await store.countSessionsForUser('ignored')).toBe(0);
        const bad = h().createStore({ getUserId: () => ({}) as unknown as string });
        await expect(bad.set('x', session())).rejects.toThrow(/getUserId returned object/);
      });

      it('rejects a missing user id with a TypeError', async () => {
        const store = h().createStore();
        for (const bad of [undefined, null, '', Number.NaN, {}]) {
          await expect(store.countSessionsForUser(bad as unknown as string)).rejects.toThrow(TypeError);
          await expect(store.clearSessionsForUser(bad as unknown as string)).rejects.toThrow(TypeError);
        }
        await expect(store.clearSessionsForUser('u', { except: '' })).rejects.toThrow(TypeError);
      });

      it('clearAll deletes everything and says how many', async () => {
        const store = h().createStore();
        await store.set('a', session({ userId: 'u' }));
        await store.set('b', session());
        await store.set('c', session({}, Date.now() - 1));
        expect(await store.clearAll()).toBe(3);
        expect(await store.clearAll()).toBe(0);
      });

      it('dumps 50,000 live sessions page by page, never holding them all', async () => {
        const store = h().createStore();
        await store.ready();
        await h().insertRows(50_000, Date.now() + HOUR, 'dump-', 'owner');
        await h().insertRows(100, Date.now() - 1, 'expired-');
        let count = 0;
        let lastId = '';
        let ordered = true;
        for await (const s of store.dump({ pageSize: 2000 })) {
          if (s.handle <= lastId) ordered = false;
          lastId = s.handle;
          expect(s.userId).toBe('owner');
          count++;
        }
        expect(ordered).toBe(true);
        expect(count).toBe(50_000);

        // The proof that it streams: rows deleted after the first page never arrive.
        const seen: string[] = [];
        for await (const s of store.dump({ pageSize: 1000 })) {
          seen.push(s.handle);
          if (seen.length === 1) await h().query(`delete from ${h().qualifiedTable}`);
        }
        expect(seen.length).toBe(1000);
      });
    });

    describe('destroy and touch', () => {
      it('destroys a session, and destroying an unknown id is no error', async () => {
        const store = h().createStore();
        await store.set('a', session());
        await store.set('b', session());
        await store.destroy('a');
        await store.destroy('never-existed');
        expect(await store.get('a')).toBeNull();
        expect(await store.get('b')).not.toBeNull();
        const { err } = await viaCallback((cb) => store.destroy('b', cb));
        expect(err).toBeNull();
        expect(await store.length()).toBe(0);
      });

      it('touch extends the expiry and never creates a session', async () => {
        let now = 1_000_000;
        const store = h().createStore({ clock: () => now });
        await store.set('t', session({ v: 1 }, now + 1000));
        await store.touch('t', session({ v: 'ignored' }, now + 5000));
        await store.touch('unknown', session({}, now + 5000));
        now += 3000;
        expect(await store.get('t')).toMatchObject({ v: 1 });
        expect(await store.get('unknown')).toBeNull();
        expect(await store.length()).toBe(1);
        now += 2001;
        expect(await store.get('t')).toBeNull();
      });

      it('touch does not bring an expired session back, and always calls back', async () => {
        let now = 5_000_000;
        const store = h().createStore({ clock: () => now });
        await store.set('gone', session({}, now + 10));
        now += 11;
        const { err } = await viaCallback((cb) => store.touch('gone', session({}, now + HOUR), cb));
        expect(err).toBeNull();
        expect(await store.get('gone')).toBeNull();
      });
    });

    describe('touchAfter', () => {
      const storedExpiry = async (id: string) => {
        const rows = await h().query<{ expires_at: unknown }>(
          `select expires_at from ${h().qualifiedTable} where id = ?`,
          [sessionKey(id)],
        );
        return new Date(rows[0]!.expires_at as number | Date).getTime();
      };

      it('writes a session that is only read at most once per touchAfter, never expiring more than touchAfter early', async () => {
        let now = 10_000_000;
        const start = now;
        const store = h().createStore({ clock: () => now, touchAfterMs: 60_000 });
        await store.set('reader', session({ v: 1 }, now + HOUR));
        let last = await storedExpiry('reader');
        const writtenAt: number[] = [];
        // A reader comes back every 10 s for 3 minutes; express-session does get, then touch.
        for (let t = 10_000; t <= 180_000; t += 10_000) {
          now = start + t;
          expect(await store.get('reader')).toMatchObject({ v: 1 });
          await store.touch('reader', session({ v: 1 }, now + HOUR));
          const stored = await storedExpiry('reader');
          if (stored !== last) writtenAt.push(t);
          last = stored;
          expect(stored).toBeGreaterThanOrEqual(now + HOUR - 60_000);
        }
        expect(writtenAt).toEqual([70_000, 140_000]);
      });

      it('still writes a touch it has no read for, and a touch that moves the expiry by more', async () => {
        let now = 20_000_000;
        const a = h().createStore({ clock: () => now, touchAfterMs: 60_000 });
        const b = h().createStore({ clock: () => now, touchAfterMs: 60_000 });
        await a.set('s', session({}, now + HOUR));
        now += 1000;
        await b.touch('s', session({}, now + HOUR));
        expect(await storedExpiry('s')).toBe(now + HOUR);
        expect(await a.get('s')).not.toBeNull();
        await a.touch('s', session({}, now + 2 * HOUR));
        expect(await storedExpiry('s')).toBe(now + 2 * HOUR);
      });

      it('never revives a destroyed or expired session', async () => {
        let now = 30_000_000;
        const store = h().createStore({ clock: () => now, touchAfterMs: 60_000 });
        await store.set('gone', session({}, now + 100));
        expect(await store.get('gone')).not.toBeNull();
        await store.destroy('gone');
        await store.touch('gone', session({}, now + HOUR));
        expect(await store.get('gone')).toBeNull();
        await store.set('old', session({}, now + 100));
        expect(await store.get('old')).not.toBeNull();
        now += 101;
        expect(await store.get('old')).toBeNull();
        await store.touch('old', session({}, now + HOUR));
        expect(await store.get('old')).toBeNull();
      });

      it('rejects a touchAfterMs that is not a whole number of milliseconds, and the old seconds option', () => {
        expect(() => h().createStore({ touchAfterMs: -1 })).toThrow(/touchAfterMs.*whole number/);
        expect(() => h().createStore({ touchAfterMs: 0.5 })).toThrow(TypeError);
        expect(() => h().createStore({ touchAfterMs: '60' as unknown as number })).toThrow(/touchAfterMs/);
        expect(() => h().createStore({ touchAfter: 60 })).toThrow(/no option `touchAfter`; use `touchAfterMs`/);
      });
    });

    describe('expiry', () => {
      it('is exact to the millisecond: returned before it, never after, never pruned before it', async () => {
        const expires = 1_700_000_000_123;
        let now = expires - 1;
        const store = h().createStore({ clock: () => now });
        await store.set('edge', session({ e: 1 }, expires));
        expect(await store.get('edge')).toMatchObject({ e: 1 });
        expect(await store.length()).toBe(1);
        expect(await store.deleteExpired()).toBe(0);
        now = expires;
        expect(await store.get('edge')).toBeNull();
        expect(await store.length()).toBe(0);
        expect(await store.all()).toEqual({});
        now = expires - 1;
        expect(await store.get('edge')).toMatchObject({ e: 1 });
        now = expires + 1;
        expect(await store.deleteExpired()).toBe(1);
        now = expires - 1;
        expect(await store.get('edge')).toBeNull();
      });

      it('uses ttlMs when the cookie has no expiry', async () => {
        let now = 2_000_000;
        const store = h().createStore({ clock: () => now, ttlMs: 500 });
        await store.set('browser-session', session({ b: 1 }, null));
        now += 499;
        expect(await store.get('browser-session')).toMatchObject({ b: 1 });
        now += 1;
        expect(await store.get('browser-session')).toBeNull();
      });

      it('expires sessions in real time', async () => {
        const store = h().createStore();
        await store.set('soon', session({}, Date.now() + 300));
        expect(await store.get('soon')).not.toBeNull();
        await new Promise((r) => setTimeout(r, 350));
        expect(await store.get('soon')).toBeNull();
      });
    });

    describe('all, length and clear', () => {
      it('count live sessions only; clear removes everything', async () => {
        let now = 10_000_000;
        const store = h().createStore({ clock: () => now });
        await store.set('live-1', session({ n: 1 }, now + HOUR));
        await store.set('live-2', session({ n: 2 }, now + HOUR));
        await store.set('dead', session({ n: 3 }, now + 5));
        now += 10;
        expect(await store.length()).toBe(2);
        expect(Object.keys(await store.all()).sort()).toEqual(['live-1', 'live-2'].map(sessionKey).sort());
        expect((await store.all())[sessionKey('live-2')]).toMatchObject({ n: 2 });
        const { err, value } = await viaCallback<number>((cb) => store.length(cb));
        expect(err).toBeNull();
        expect(value).toBe(2);
        await store.clear();
        expect(await store.length()).toBe(0);
        expect(await h().query(`select count(*) as n from ${h().qualifiedTable}`)).toEqual([{ n: expect.anything() }]);
        const [row] = await h().query<{ n: unknown }>(`select count(*) as n from ${h().qualifiedTable}`);
        expect(Number(row!.n)).toBe(0);
      });
    });

    describe('pruning', () => {
      it('deletes 100,000 expired rows in batches and keeps live ones, while other queries go on', async () => {
        const store = h().createStore({ pruneBatchSize: 5000 });
        await store.ready();
        await h().insertRows(100_000, Date.now() - 1000, 'old-');
        await store.set('live', session());
        let pruneDone = false;
        const pruning = store.deleteExpired().then((n) => {
          pruneDone = true;
          return n;
        });
        // A read issued after the prune began finishes before it: the prune yields between batches.
        expect(await store.get('live')).not.toBeNull();
        expect(pruneDone).toBe(false);
        expect(await pruning).toBe(100_000);
        expect(await store.length()).toBe(1);
        const [row] = await h().query<{ n: unknown }>(`select count(*) as n from ${h().qualifiedTable}`);
        expect(Number(row!.n)).toBe(1);
        expect(await store.deleteExpired()).toBe(0);
      });

      it('prunes in the background, and close() stops the pruner', async () => {
        let now = 50_000_000;
        const store = h().createStore({ clock: () => now, pruneIntervalMs: 20 });
        await store.ready();
        await store.set('x', session({}, now + 5));
        now += 10;
        await vi.waitFor(async () => {
          const [row] = await h().query<{ n: unknown }>(`select count(*) as n from ${h().qualifiedTable}`);
          expect(Number(row!.n)).toBe(0);
        });
        await store.close();
        await h().insertRows(3, now - 1, 'later-');
        await new Promise((r) => setTimeout(r, 100));
        const [row] = await h().query<{ n: unknown }>(`select count(*) as n from ${h().qualifiedTable}`);
        expect(Number(row!.n)).toBe(3);
      });

      it('reports a failing background prune and tries again, without crashing', async () => {
        const errors: SessionStoreError[] = [];
        const store = h().createStore({ pruneIntervalMs: 20, autoMigrate: false, onError: (e) => errors.push(e) });
        await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2));
        expect(errors[0]).toBeInstanceOf(SessionStoreError);
        expect(errors[0]!.code).toBe('PRUNE_FAILED');
        expect(errors[0]!.cause).toBeInstanceOf(SessionStoreError);
        await store.migrate();
        await h().insertRows(2, Date.now() - 1, 'p-');
        await vi.waitFor(async () => {
          const [row] = await h().query<{ n: unknown }>(`select count(*) as n from ${h().qualifiedTable}`);
          expect(Number(row!.n)).toBe(0);
        });
      });
    });

    describe('schema', () => {
      it('two stores migrating the same new table at once both come up', async () => {
        const a = h().createStore();
        const b = h().createStore();
        await Promise.all([a.ready(), b.ready(), a.migrate(), b.migrate()]);
        await a.set('from-a', session());
        expect(await b.get('from-a')).not.toBeNull();
        const rows = await h().query<{ name: string }>(
          `select name from ${h().qualifiedTable.replace(/"$/, '_migrations"')}`,
        );
        expect(rows.map((r) => r.name)).toEqual([
          '0001_create_sessions',
          '0002_hash_session_ids',
          '0003_expiry_index_with_created_at',
          '0004_user_index_without_expiry',
        ]);
      });

      it('does not cache a failed migration: the next call tries again', async () => {
        // A view with the table's name makes creating the indexes fail.
        await h().query(`create view ${h().qualifiedTable} as select 1 as id`);
        const store = h().createStore();
        const first = await store.get('x').catch((e: unknown) => e);
        expect(first).toBeInstanceOf(SessionStoreError);
        expect((first as SessionStoreError).code).toBe('MIGRATION_FAILED');
        expect((first as Error).message).toContain(h().table);
        await h().query(`drop view ${h().qualifiedTable}`);
        await store.set('x', session({ ok: true }));
        expect(await store.get('x')).toMatchObject({ ok: true });
      });

      it('with autoMigrate off, creates nothing until migrate() is called', async () => {
        const store = h().createStore({ autoMigrate: false });
        const err = await store.get('x').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(SessionStoreError);
        expect((err as SessionStoreError).code).toBe('QUERY_FAILED');
        await expect(store.ready()).rejects.toBeInstanceOf(SessionStoreError);
        await store.migrate();
        await store.ready();
        await store.set('x', session());
        expect(await store.length()).toBe(1);
      });
    });

    describe('errors and bad input', () => {
      it('rejects a non-string or empty id with a TypeError, through the promise or the callback only', async () => {
        const store = h().createStore();
        for (const bad of [undefined, null, 42, {}, '']) {
          await expect(store.get(bad as unknown as string)).rejects.toThrow(TypeError);
          await expect(store.set(bad as unknown as string, session())).rejects.toThrow(
            /session id must be a non-empty string/,
          );
          await expect(store.destroy(bad as unknown as string)).rejects.toThrow(TypeError);
          await expect(store.touch(bad as unknown as string, session())).rejects.toThrow(TypeError);
          const { err, returned } = await viaCallback((cb) => store.get(bad as unknown as string, cb));
          expect(err).toBeInstanceOf(TypeError);
          await expect(returned).resolves.toBeUndefined();
        }
        expect(await store.length()).toBe(0);
      });

      it('rejects data JSON cannot encode and keeps the stored session', async () => {
        const store = h().createStore();
        await store.set('s', session({ v: 'before' }));
        const circular: Record<string, unknown> = { v: 'after' };
        circular.self = circular;
        await expect(store.set('s', session({ circular }))).rejects.toThrow(/circular/i);
        await expect(store.set('s', session({ n: 10n }))).rejects.toThrow(TypeError);
        const { err } = await viaCallback((cb) => store.set('s', session({ n: 1n }), cb));
        expect(err).toBeInstanceOf(TypeError);
        await expect(store.set('s', null as unknown as SessionData)).rejects.toThrow(TypeError);
        expect(await store.get('s')).toMatchObject({ v: 'before' });
      });

      it('either stores a NUL character or refuses it with DATA_REJECTED, never half-writes', async () => {
        const store = h().createStore();
        await store.set('nul', session({ v: 'before' }));
        const outcome = await store.set('nul', session({ v: 'a\u0000b' })).then(
          () => 'stored',
          (e: unknown) => e,
        );
        if (outcome === 'stored') {
          expect(await store.get('nul')).toMatchObject({ v: 'a\u0000b' });
        } else {
          expect(outcome).toBeInstanceOf(SessionStoreError);
          expect((outcome as SessionStoreError).code).toBe('DATA_REJECTED');
          expect(await store.get('nul')).toMatchObject({ v: 'before' });
        }
      });

      it('treats an undecodable row as missing and reports it', async () => {
        const reported: SessionStoreError[] = [];
        const store = h().createStore({ onError: (e) => reported.push(e) });
        await store.set('good', session({ g: 1 }));
        await store.set('bad', session({ b: 1 }));
        // On PostgreSQL json cannot hold invalid JSON; a JSON array is the undecodable case there.
        await h().query(`update ${h().qualifiedTable} set data = ? where id = ?`, [
          dialect === 'postgres' ? '[1,2]' : '{"cookie":',
          sessionKey('bad'),
        ]);
        expect(await store.get('bad')).toBeNull();
        expect(Object.keys(await store.all())).toEqual([sessionKey('good')]);
        expect(reported.length).toBe(2);
        expect(reported[0]!.code).toBe('CORRUPT_SESSION');
        expect(reported[0]!.message).not.toContain('bad');
      });

      it('emits undecodable rows as an error event when there is a listener and no onError', async () => {
        const store = h().createStore();
        await store.set('bad', session());
        await h().query(`update ${h().qualifiedTable} set data = ? where id = ?`, ['"text"', sessionKey('bad')]);
        const events: unknown[] = [];
        store.on('error', (e) => events.push(e));
        expect(await store.get('bad')).toBeNull();
        expect(events).toHaveLength(1);
        expect((events[0] as SessionStoreError).code).toBe('CORRUPT_SESSION');
      });

      it('answers callback calls like promise calls: results, TypeErrors and getUserId throws, once each', async () => {
        const store = h().createStore({
          getUserId: (s) => {
            if ((s as { boom?: boolean }).boom) throw new Error('getUserId failed');
            return (s as { userId?: string }).userId;
          },
        });
        await store.ready();
        expect((await viaCallback((cb) => store.set('cb', session({ userId: 'u', v: 1 }), cb))).err).toBeNull();
        const got = await viaCallback<unknown>((cb) => store.get('cb', cb));
        expect(got.err).toBeNull();
        expect(got.value).toMatchObject({ v: 1 });
        expect(
          (await viaCallback((cb) => store.touch('cb', session({ v: 1 }, Date.now() + 2 * HOUR), cb))).err,
        ).toBeNull();
        expect(await store.countSessionsForUser('u')).toBe(1);
        const failed = await viaCallback((cb) => store.set('cb', session({ boom: true }), cb));
        expect((failed.err as Error).message).toBe('getUserId failed');
        for (const call of [
          (cb: (e: unknown) => void) => store.set('', session(), cb),
          (cb: (e: unknown) => void) => store.touch(42 as unknown as string, session(), cb),
          (cb: (e: unknown) => void) => store.destroy(undefined as unknown as string, cb),
        ]) {
          const { err, returned } = await viaCallback(call);
          expect(err).toBeInstanceOf(TypeError);
          await expect(returned).resolves.toBeUndefined();
        }
        expect((await viaCallback((cb) => store.destroy('cb', cb))).err).toBeNull();
        expect((await viaCallback<unknown>((cb) => store.get('cb', cb))).value).toBeNull();
      });

      it('delivers a database error exactly once, to the callback, with no unhandled rejection', async () => {
        await expectNoUnhandledRejection(async () => {
          const store = h().createStore({ autoMigrate: false });
          for (const call of [
            (cb: (e: unknown) => void) => store.get('x', cb),
            (cb: (e: unknown) => void) => store.set('x', session(), cb),
            (cb: (e: unknown) => void) => store.touch('x', session(), cb),
            (cb: (e: unknown) => void) => store.destroy('x', cb),
            (cb: (e: unknown) => void) => store.length(cb),
            (cb: (e: unknown) => void) => store.all(cb),
            (cb: (e: unknown) => void) => store.clear(cb),
          ]) {
            const { err, returned } = await viaCallback(call);
            expect(err).toBeInstanceOf(SessionStoreError);
            expect((err as SessionStoreError).code).toBe('QUERY_FAILED');
            expect((err as SessionStoreError).cause).toBeDefined();
            await expect(returned).resolves.toBeUndefined();
          }
        });
      });

      it('delivers an error of a ready store exactly once, to the callback, when its table is gone', async () => {
        await expectNoUnhandledRejection(async () => {
          const store = h().createStore();
          await store.set('x', session({ v: 1 }));
          expect(await store.get('x')).toMatchObject({ v: 1 });
          await h().query(`drop table ${h().qualifiedTable}`);
          for (const call of [
            (cb: (e: unknown) => void) => store.get('x', cb),
            (cb: (e: unknown) => void) => store.set('x', session(), cb),
            (cb: (e: unknown) => void) => store.touch('x', session(), cb),
            (cb: (e: unknown) => void) => store.destroy('x', cb),
          ]) {
            const { err, returned } = await viaCallback(call);
            expect(err).toBeInstanceOf(SessionStoreError);
            expect((err as SessionStoreError).code).toBe('QUERY_FAILED');
            expect((err as SessionStoreError).message).toContain(h().table);
            expect((err as SessionStoreError).cause).toBeDefined();
            await expect(returned).resolves.toBeUndefined();
          }
        });
      });

      it('rejects calls after close() with STORE_CLOSED', async () => {
        const store = h().createStore();
        await store.set('x', session());
        await store.close();
        await store.close();
        const err = await store.get('x').catch((e: unknown) => e);
        expect((err as SessionStoreError).code).toBe('STORE_CLOSED');
      });

      it('rejects invalid table names in the constructor', () => {
        for (const bad of ['', 'drop table x', 'a-b', '1abc', 'x'.repeat(41), 'sessions; --', 42]) {
          expect(() => h().createStore({ tableName: bad as string })).toThrow(TypeError);
        }
      });

      it('rejects bad options in the constructor with the fix in the message', () => {
        expect(() => h().createStore({ ttlMs: -1 })).toThrow(/ttlMs.*whole number/);
        expect(() => h().createStore({ ttlMs: 1.5 })).toThrow(TypeError);
        expect(() => h().createStore({ pruneIntervalMs: 0 })).toThrow(/pruneIntervalMs/);
        expect(() => h().createStore({ pruneBatchSize: 0 })).toThrow(/pruneBatchSize/);
        expect(() => h().createStore({ autoMigrate: 'yes' as unknown as boolean })).toThrow(/autoMigrate/);
        expect(() => h().createStore({ onError: 'log' as unknown as () => void })).toThrow(/onError/);
      });

      it("refuses unknown options, naming the right key for the peers' names", () => {
        const cases: [Record<string, unknown>, RegExp][] = [
          [{ ttl: 3600 }, /no option `ttl`; use `ttlMs`/],
          [{ pruneSessionInterval: 60 }, /use `pruneIntervalMs`/],
          [{ conString: 'postgres://x@y/z' }, /use `connectionString`/],
          [{ createTableIfMissing: true }, /use `autoMigrate`/],
          [{ disableTouch: true }, /use `touchAfterMs`/],
          [{ tableNmae: 'x' }, /no option `tableNmae`\. Its options are .*`tableName`/],
        ];
        for (const [options, message] of cases) {
          expect(() => h().createStore(options)).toThrow(TypeError);
          expect(() => h().createStore(options)).toThrow(message);
        }
      });
    });
  });
}

/** The advisory-lock key the PostgreSQL backend derives from a lock name. */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}
