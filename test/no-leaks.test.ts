/**
 * Bad input gets the same answer on every dialect, and no error the store produces carries a
 * session id or session data: message, String(), stack, JSON, util.inspect and causes.
 */
import { inspect } from 'node:util';
import { SessionRecordStore, SessionStoreError, sessionKey } from '@sessionsql/core';
import { describe, expect, it } from 'vitest';
import { selectedDialects, useStoreHarness } from './dialects.js';

const HOUR = 3_600_000;
const SID = 'sid-that-must-never-leak-0042';
const SECRET = 'csrf-token-that-must-never-leak-0043';

/** Everything a log line or a bug report could show of `error`, causes included. */
function everythingShown(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    const e = current as Error & { cause?: unknown };
    parts.push(String(e), String(e.message), String(e.stack), JSON.stringify(e), inspect(e, { depth: 10 }));
    for (const key of Object.keys(e)) parts.push(`${key}=${inspect((e as unknown as Record<string, unknown>)[key])}`);
    current = e.cause;
  }
  return parts.join('\n');
}

for (const dialect of selectedDialects()) {
  describe(`${dialect}: bad input and leaks`, () => {
    const h = useStoreHarness(dialect);
    const open = (options: Record<string, unknown> = {}) =>
      new SessionRecordStore(h().createBackend(), { tableName: h().table, pruneIntervalMs: false, ...options });

    it('refuses malformed ids with a TypeError and writes nothing (lone surrogates, NUL)', async () => {
      const records = open();
      await records.ready();
      for (const id of ['\uD800', '\uDC00', 'a\u0000b', `${SID}\uD83D`]) {
        await expect(records.save(id, { v: 1 }, Date.now() + HOUR)).rejects.toThrow(TypeError);
        await expect(records.load(id)).rejects.toThrow(/well-formed Unicode without NUL/);
        await expect(records.touch(id, Date.now() + HOUR)).rejects.toThrow(TypeError);
        await expect(records.delete(id)).rejects.toThrow(TypeError);
        const err = await new Promise((resolve) => records.save(id, { v: 1 }, Date.now() + HOUR, resolve));
        expect(err).toBeInstanceOf(TypeError);
        expect(everythingShown(err)).not.toContain(SID);
      }
      await expect(records.countSessionsForUser('u\u0000')).rejects.toThrow(TypeError);
      await expect(records.save('ok', { userId: '\uD800' }, Date.now() + HOUR)).rejects.toThrow(TypeError);
      expect(await records.count()).toBe(0);
    });

    it('refuses an expiry past the year 275760 (or before 1970) the same way on every dialect', async () => {
      const store = h().createStore();
      const far = { cookie: { expires: new Date(1e20).toString(), originalMaxAge: 1 } };
      await expect(store.set('far', { cookie: { expires: 1e20 } } as never)).rejects.toThrow(/expiry must be/);
      await expect(store.set('far', far as never)).resolves.toBeUndefined(); // an unparsable date falls back to ttlMs
      const records = open();
      await expect(records.save('far', { v: 1 }, 1e20)).rejects.toThrow(TypeError);
      await expect(records.save('far', { v: 1 }, -1)).rejects.toThrow(TypeError);
      await expect(records.save('far', { v: 1 }, 8.64e15)).resolves.toBeUndefined();
      expect((await records.load('far'))?.expiresAt).toBe(8.64e15);
    });

    it('puts no session id or data in any error: refused data, failed queries, bad JSON', async () => {
      const errors: unknown[] = [];
      const records = open({ onError: (e: SessionStoreError) => errors.push(e) });
      await records.save(SID, { csrf: SECRET, userId: 'u' }, Date.now() + HOUR);
      // PostgreSQL refuses a NUL in jsonb (DATA_REJECTED, whose driver error quotes the data), the
      // type of a table created by an earlier sessionsql; SQLite, and json, store it.
      if (dialect === 'postgres') await h().query(`alter table ${h().qualifiedTable} alter column data type jsonb`, []);
      errors.push(await records.save(SID, { csrf: SECRET, v: 'a\u0000b' }, Date.now() + HOUR).catch((e: unknown) => e));
      const circular: Record<string, unknown> = { [SECRET]: 1 };
      circular.self = circular;
      errors.push(await records.save(SID, circular, Date.now() + HOUR).catch((e: unknown) => e));
      // A row that is not JSON (SQLite) or not an object (PostgreSQL) quotes nothing of itself.
      await h().query(`update ${h().qualifiedTable} set data = ? where id = ?`, [
        dialect === 'postgres' ? JSON.stringify([SECRET]) : `{"csrf":"${SECRET}"`,
        sessionKey(SID),
      ]);
      expect(await records.load(SID)).toBeNull();
      await h().query(`drop table ${h().qualifiedTable}`);
      errors.push(await records.load(SID).catch((e: unknown) => e));
      errors.push(await records.save(SID, { csrf: SECRET }, Date.now() + HOUR).catch((e: unknown) => e));
      const codes = errors
        .filter((e) => e !== undefined)
        .map((e) => (e as SessionStoreError).code ?? (e as Error).name);
      expect(codes).toContain('CORRUPT_SESSION');
      expect(codes).toContain('QUERY_FAILED');
      expect(codes).toContain('TypeError');
      if (dialect === 'postgres') expect(codes).toContain('DATA_REJECTED');
      for (const error of errors) {
        if (error === undefined) continue;
        const shown = everythingShown(error);
        expect(shown).not.toContain(SID);
        expect(shown).not.toContain(SECRET);
        expect(shown).not.toContain(sessionKey(SID));
      }
    });

    it('counts a session that cannot be decoded the same in every per-user listing: not at all', async () => {
      const records = open({ onError: () => undefined });
      for (const id of ['good', 'bad']) await records.save(id, { userId: 'u' }, Date.now() + HOUR);
      await h().query(`update ${h().qualifiedTable} set data = ? where id = ?`, ['"text"', sessionKey('bad')]);
      expect(await records.countSessionsForUser('u')).toBe(1);
      expect(await records.listSessionHandlesForUser('u')).toEqual([sessionKey('good')]);
      expect((await records.listSessionsForUser('u')).map((s) => s.handle)).toEqual([sessionKey('good')]);
      const dumped: string[] = [];
      for await (const s of records.dump()) dumped.push(s.handle);
      expect(dumped).toEqual([sessionKey('good')]);
      expect(Object.keys(await records.all())).toEqual([sessionKey('good')]);
      expect(await records.clearSessionsForUser('u')).toBe(2);
    });

    it('reports a SessionStoreError subclass with a code for every database failure', async () => {
      const records = open({ autoMigrate: false });
      const error = await records.load(SID).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SessionStoreError);
      expect(everythingShown(error)).not.toContain(SID);
    });
  });
}
