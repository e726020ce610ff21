/**
 * How each framework adapter hands over failures: exactly once, to the callback or the
 * promise the framework waits on, never as an unhandled rejection; for @hono/session's
 * `set`/`delete`, which return nothing, to the record store's error reporting. No message
 * carries the session id or its data. The failures are real: the session table is dropped
 * under a ready store.
 */
import { SessionRecordStore, type SessionStoreOptions } from '@sessionsql/core';
import { SessionStoreError } from 'sessionsql';
import { FastifySessionStore } from 'sessionsql/fastify';
import { HonoSessionStorage, HonoSessionsStore } from 'sessionsql/hono';
import { KoaSessionStore } from 'sessionsql/koa';
import { describe, expect, it } from 'vitest';
import { selectedDialects, useStoreHarness } from '../dialects.js';

const DIALECTS = selectedDialects().filter((dialect) => dialect !== 'sqlite-memory');
const SID = 'sid-that-must-not-leak';
const SECRET = 'data-that-must-not-leak';
const HOUR_MS = 3_600_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `body` and fails if a promise was rejected unhandled meanwhile (or just after). */
async function expectNoUnhandledRejection(body: () => Promise<void>): Promise<void> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await body();
    await sleep(50);
    expect(unhandled).toEqual([]);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

/** Calls `call` with a callback and resolves every error it was called with (waiting for a second call). */
async function callbackErrors(call: (callback: (error?: unknown) => void) => void): Promise<unknown[]> {
  const errors: unknown[] = [];
  await new Promise<void>((resolve) => {
    call((error) => {
      errors.push(error);
      setTimeout(resolve, 20);
    });
  });
  return errors;
}

/** A failed query of the store, whose message names neither the session nor its data. */
function expectQueryFailed(error: unknown): void {
  expect(error).toBeInstanceOf(SessionStoreError);
  expect((error as SessionStoreError).code).toBe('QUERY_FAILED');
  expect((error as SessionStoreError).message).not.toContain(SID);
  expect((error as SessionStoreError).message).not.toContain(SECRET);
}

const fastifySession = () => ({ cookie: { originalMaxAge: HOUR_MS, expires: new Date(Date.now() + HOUR_MS) }, SECRET });

for (const dialect of DIALECTS) {
  describe(`${dialect}: framework adapters hand over failures once`, () => {
    const h = useStoreHarness(dialect);

    async function records(options: SessionStoreOptions = {}): Promise<SessionRecordStore> {
      const store = new SessionRecordStore(h().createBackend(), {
        tableName: h().table,
        pruneIntervalMs: false,
        ...options,
      });
      await store.ready();
      return store;
    }

    /** A ready record store whose table has been dropped: every statement fails. */
    async function brokenRecords(options: SessionStoreOptions = {}): Promise<SessionRecordStore> {
      const store = await records(options);
      await h().query(`drop table ${h().qualifiedTable}`);
      return store;
    }

    it('Fastify: each callback gets the error exactly once', async () => {
      await expectNoUnhandledRejection(async () => {
        const store = new FastifySessionStore(await brokenRecords());
        for (const call of [
          (cb: (error?: unknown) => void) => store.get(SID, cb),
          (cb: (error?: unknown) => void) => store.set(SID, fastifySession(), cb),
          (cb: (error?: unknown) => void) => store.destroy(SID, cb),
        ]) {
          const errors = await callbackErrors(call);
          expect(errors).toHaveLength(1);
          expectQueryFailed(errors[0]);
        }
        const unencodable = await callbackErrors((cb) => store.set(SID, { ...fastifySession(), n: 1n }, cb));
        expect(unencodable).toHaveLength(1);
        expect(unencodable[0]).toBeInstanceOf(TypeError);
      });
    });

    it('Koa: each call rejects with the error', async () => {
      await expectNoUnhandledRejection(async () => {
        const store = new KoaSessionStore(await brokenRecords());
        for (const call of [
          () => store.get(SID, HOUR_MS, { rolling: false }),
          () => store.set(SID, { SECRET, _expire: Date.now() + HOUR_MS }, HOUR_MS, { changed: true }),
          () => store.destroy(SID, {}),
        ]) {
          expectQueryFailed(
            await call().then(
              () => 'resolved',
              (error: unknown) => error,
            ),
          );
        }
      });
    });

    it('hono-sessions: each call rejects with the error', async () => {
      await expectNoUnhandledRejection(async () => {
        const store = new HonoSessionsStore(await brokenRecords());
        const session = {
          _data: { SECRET: { value: SECRET, flash: false } },
          _expire: null,
          _delete: false,
          _accessed: null,
        };
        for (const call of [
          () => store.getSessionById(SID),
          () => store.createSession(SID, session),
          () => store.persistSessionData(SID, session),
          () => store.deleteSession(SID),
        ]) {
          expectQueryFailed(
            await call().then(
              () => 'resolved',
              (error: unknown) => error,
            ),
          );
        }
      });
    });

    it('@hono/session: get rejects; set and delete never throw and report each failure once to onError', async () => {
      await expectNoUnhandledRejection(async () => {
        const reported: unknown[] = [];
        const storage = new HonoSessionStorage(await brokenRecords({ onError: (error) => reported.push(error) }));
        expectQueryFailed(
          await storage.get(SID).then(
            () => 'resolved',
            (error: unknown) => error,
          ),
        );
        expect(() => storage.set(SID, { SECRET })).not.toThrow();
        expect(() => storage.delete(SID)).not.toThrow();
        await storage.flush();
        expect(reported).toHaveLength(2);
        for (const error of reported) expectQueryFailed(error);
      });
    });

    it("@hono/session: without onError, failures go to the record store's 'error' listeners", async () => {
      await expectNoUnhandledRejection(async () => {
        const store = await brokenRecords();
        const emitted: unknown[] = [];
        store.on('error', (error) => emitted.push(error));
        const storage = new HonoSessionStorage(store);
        storage.set(SID, { SECRET });
        await storage.flush();
        expect(emitted).toHaveLength(1);
        expectQueryFailed(emitted[0]);
      });
    });

    it('@hono/session: data that cannot be stored is reported as DATA_REJECTED, naming neither id nor data', async () => {
      const reported: SessionStoreError[] = [];
      const storage = new HonoSessionStorage(await records({ onError: (error) => reported.push(error) }));
      storage.set(SID, { SECRET, n: 1n });
      await storage.flush();
      expect(reported.map((error) => error.code)).toEqual(['DATA_REJECTED']);
      expect(reported[0]!.message).not.toContain(SID);
      expect(reported[0]!.message).not.toContain(SECRET);
      expect(await storage.get(SID)).toBeNull();
    });

    it("@hono/session: get waits for this storage's unfinished writes to the same id, in order", async () => {
      const storage = new HonoSessionStorage(await records());
      storage.set(SID, { n: 1 });
      expect(await storage.get(SID)).toEqual({ n: 1 });
      storage.set(SID, { n: 2 });
      storage.delete(SID);
      expect(await storage.get(SID)).toBeNull();
      storage.set(SID, { n: 3 });
      await storage.close();
    });
  });
}
