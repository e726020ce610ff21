/**
 * SessionRecordStore used directly (as the Fastify, Koa and Hono adapters use it), per dialect:
 * callbacks, STORE_CLOSED, the touchAfterMs save throttle, and the guard that keeps a session
 * signed out when a request that loaded it before saves it afterwards.
 */
import { ExpressSessionStore, SessionRecordStore, type SessionStoreError, sessionKey } from '@sessionsql/core';
import { describe, expect, it } from 'vitest';
import { selectedDialects, useStoreHarness } from './dialects.js';

const HOUR = 3_600_000;

for (const dialect of selectedDialects()) {
  describe(`${dialect}: record store`, () => {
    const h = useStoreHarness(dialect);
    const open = (options: Record<string, unknown> = {}) =>
      new SessionRecordStore(h().createBackend(), { tableName: h().table, pruneIntervalMs: false, ...options });
    const updatedAt = async (id: string) => {
      const rows = await h().query<{ updated_at: unknown }>(
        `select updated_at from ${h().qualifiedTable} where id = ?`,
        [sessionKey(id)],
      );
      return rows.length === 0 ? undefined : new Date(rows[0]!.updated_at as number | Date).getTime();
    };

    it('loads, saves, touches and deletes through promises and callbacks', async () => {
      const records = open();
      await records.save('r', { userId: 'u', n: 1 }, Date.now() + HOUR);
      expect(await records.load('r')).toEqual({ data: { userId: 'u', n: 1 }, expiresAt: expect.any(Number) });
      const viaCallback = <T>(call: (cb: (err: unknown, value?: T) => void) => void) =>
        new Promise<{ err: unknown; value?: T }>((resolve) => call((err, value) => resolve({ err, value })));
      const expiresAt = Date.now() + 2 * HOUR;
      expect((await viaCallback((cb) => records.touch('r', expiresAt, cb))).err).toBeNull();
      const loaded = await viaCallback((cb) => records.load('r', cb));
      expect(loaded.value).toEqual({ data: { userId: 'u', n: 1 }, expiresAt });
      expect((await viaCallback((cb) => records.delete('r', cb))).err).toBeNull();
      expect((await viaCallback((cb) => records.load('r', cb))).value).toBeNull();
      const bad = await viaCallback((cb) => records.save('r', { n: 1 }, Number.NaN, cb));
      expect(bad.err).toBeInstanceOf(TypeError);
      expect(await records.countSessionsForUser('u')).toBe(0);
    });

    it('refuses every call after close() with STORE_CLOSED, even a write the throttle would skip', async () => {
      const now = Date.now();
      const records = open({ touchAfterMs: 60_000, clock: () => now });
      await records.save('c', { v: 1 }, now + HOUR);
      await records.load('c');
      await records.close();
      for (const call of [
        () => records.load('c'),
        () => records.save('c', { v: 1 }, now + HOUR),
        () => records.touch('c', now + HOUR),
        () => records.delete('c'),
      ]) {
        await expect(call()).rejects.toMatchObject({ code: 'STORE_CLOSED' });
      }
      const err = await new Promise<unknown>((resolve) => records.touch('c', now + HOUR, resolve));
      expect((err as SessionStoreError).code).toBe('STORE_CLOSED');
    });

    it('with touchAfterMs skips a save of unchanged data (in any key order) and writes changed data', async () => {
      let now = 50_000_000;
      const records = open({ touchAfterMs: 60_000, clock: () => now });
      await records.save('s', { b: { y: 1, x: [1, 2] }, a: 'one' }, now + HOUR);
      const first = await updatedAt('s');
      now += 10_000;
      await records.load('s');
      await records.save('s', { a: 'one', b: { x: [1, 2], y: 1 } }, now + HOUR);
      expect(await updatedAt('s')).toBe(first);
      now += 10_000;
      await records.load('s');
      await records.save('s', { a: 'two', b: { x: [1, 2], y: 1 } }, now + HOUR);
      expect(await updatedAt('s')).toBe(now);
      expect((await records.load('s'))?.data).toEqual({ a: 'two', b: { x: [1, 2], y: 1 } });
      now += 70_000;
      await records.save('s', { a: 'two', b: { x: [1, 2], y: 1 } }, now + HOUR);
      expect(await updatedAt('s')).toBe(now);
    });

    it('keeps alive a session whose lifetime is shorter than touchAfterMs', async () => {
      let now = 60_000_000;
      const records = open({ touchAfterMs: 60_000, clock: () => now });
      await records.save('short', { v: 1 }, now + 10_000);
      for (let i = 0; i < 10; i++) {
        now += 4_000;
        expect(await records.load('short')).not.toBeNull();
        await records.touch('short', now + 10_000);
      }
      expect(await records.load('short')).not.toBeNull();
    });

    it('never saves back a session signed out while a request that loaded it was running', async () => {
      const records = open();
      const elsewhere = open();
      const expiresAt = Date.now() + HOUR;
      await records.save('device-1', { userId: 'alice' }, expiresAt);
      await records.save('device-2', { userId: 'alice' }, expiresAt);
      // Requests on both devices load their sessions; meanwhile device 2 signs out device 1 …
      expect(await records.load('device-1')).not.toBeNull();
      expect(await records.load('device-2')).not.toBeNull();
      expect(await elsewhere.clearSessionsForUser('alice', { except: 'device-2' })).toBe(1);
      // … then device 1's request ends with a rolling save: it must not bring the session back.
      await records.save('device-1', { userId: 'alice' }, expiresAt + 1000);
      expect(await records.load('device-1')).toBeNull();
      // The same after a sign-out in this process, and for a save with a callback.
      await records.delete('device-2');
      await new Promise((resolve) => records.save('device-2', { userId: 'alice' }, expiresAt, resolve));
      expect(await elsewhere.countSessionsForUser('alice')).toBe(0);
      // A new id is still created.
      await records.save('device-3', { userId: 'alice' }, expiresAt);
      expect(await elsewhere.listSessionHandlesForUser('alice')).toEqual(['device-3'].map(sessionKey));
    });

    // Unbatched (SQLite, or PostgreSQL without coalescing) a save that keeps the user leaves it out and falls back.
    it.each([true, false])(
      "keeps each session's user and data together when another process changes the user meanwhile (coalesceStatements: %s)",
      async (coalesceStatements) => {
        const records = open({ coalesceStatements });
        const elsewhere = open();
        const expiresAt = Date.now() + HOUR;
        await records.save('shared', { userId: 'alice', cart: 1 }, expiresAt);
        expect(await records.load('shared')).not.toBeNull();
        // Another process signs alice out, keeping the id; then this one saves her session: the
        // last save wins, as before, and the user index follows it.
        expect(await elsewhere.load('shared')).not.toBeNull();
        await elsewhere.save('shared', { cart: 1 }, expiresAt);
        await records.save('shared', { userId: 'alice', cart: 2 }, expiresAt);
        expect((await elsewhere.load('shared'))?.data).toEqual({ userId: 'alice', cart: 2 });
        expect(await elsewhere.listSessionHandlesForUser('alice')).toEqual(['shared'].map(sessionKey));
        // The same when the other process signs someone else in, and through a callback.
        await elsewhere.save('shared', { userId: 'carol' }, expiresAt);
        await new Promise((resolve) => records.save('shared', { userId: 'alice', cart: 3 }, expiresAt, resolve));
        expect((await elsewhere.load('shared'))?.data).toEqual({ userId: 'alice', cart: 3 });
        expect(await elsewhere.countSessionsForUser('carol')).toBe(0);
        expect(await elsewhere.countSessionsForUser('alice')).toBe(1);
        // Saves that keep or change the user, one after the other.
        await records.save('shared', { userId: 'alice', cart: 4 }, expiresAt);
        await records.save('shared', { userId: 'bob', cart: 5 }, expiresAt);
        await records.save('shared', { userId: 'bob', cart: 6 }, expiresAt);
        await records.save('shared', { cart: 7 }, expiresAt);
        await records.save('shared', { cart: 8 }, expiresAt);
        expect((await elsewhere.load('shared'))?.data).toEqual({ cart: 8 });
        expect(await elsewhere.countSessionsForUser('alice')).toBe(0);
        expect(await elsewhere.countSessionsForUser('bob')).toBe(0);
        // A session deleted elsewhere stays deleted, whichever statement its save tries first.
        await elsewhere.delete('shared');
        await records.save('shared', { cart: 9 }, expiresAt);
        expect(await elsewhere.load('shared')).toBeNull();
      },
    );

    it('closes a backend it opened when the store cannot be built', () => {
      const backend = h().createBackend();
      let closed = 0;
      const close = backend.close.bind(backend);
      const broken = Object.assign(Object.create(backend), {
        statements: () => {
          throw new Error('a dialect bug');
        },
        close: async () => {
          closed++;
          await close();
        },
      });
      expect(() => new SessionRecordStore(() => broken, { tableName: h().table })).toThrow('a dialect bug');
      expect(closed).toBe(1);
    });

    it('refuses options given with a record store, and names no prototype member as a hint', () => {
      const records = open();
      expect(() => new ExpressSessionStore(records, { touchAfterMs: 60_000 })).toThrow(/takes no options/);
      expect(() => open({ constructor: 1 })).toThrow(/no option `constructor`\. Its options/);
    });
  });
}
