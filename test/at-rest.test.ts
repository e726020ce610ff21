/**
 * Nothing sensitive at rest, per dialect: the table holds hashes of session ids, never the
 * ids (older tables are converted without signing anyone out), and with encryptionKeys the
 * data column holds ciphertext only, with rotation.
 */
import { randomBytes } from 'node:crypto';
import { SessionRecordStore, type SessionStoreError, sessionKey, sessionMigrations } from '@sessionsql/core';
import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { selectedDialects, useStoreHarness } from './dialects.js';

const HOUR = 3_600_000;
const SECRET = 'top-secret-oauth-token-4711';

for (const dialect of selectedDialects()) {
  describe(`${dialect}: at rest`, () => {
    const h = useStoreHarness(dialect);
    const open = (options: Record<string, unknown> = {}) =>
      new SessionRecordStore(h().createBackend(), { tableName: h().table, pruneIntervalMs: false, ...options });
    /** Every value of every row, as text. */
    const tableText = async () => JSON.stringify(await h().query(`select * from ${h().qualifiedTable}`));

    describe('hashed ids', () => {
      it('stores a fixed-size hash of each id and never the id, whatever its length', async () => {
        const records = open();
        const ids = ['s3cr3t-session-id-0001', 'x'.repeat(10_000), 'ü李🎉'.repeat(50)];
        for (const id of ids) await records.save(id, { userId: 'alice', note: 'hello' }, Date.now() + HOUR);
        for (const id of ids) expect((await records.load(id))?.data).toEqual({ userId: 'alice', note: 'hello' });
        const rows = await h().query<{ id: string }>(`select id from ${h().qualifiedTable}`);
        expect(rows.map((r) => r.id).sort()).toEqual(ids.map(sessionKey).sort());
        for (const row of rows) expect(row.id).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(await tableText()).not.toContain('s3cr3t-session-id');
        const listed = await records.listSessionsForUser('alice');
        expect(listed.map((s) => s.handle).sort()).toEqual(ids.map((id) => records.handleOf(id)).sort());
        await records.deleteByHandle(records.handleOf(ids[0]!));
        expect(await records.load(ids[0]!)).toBeNull();
        await expect(records.deleteByHandle(ids[1]!)).rejects.toThrow(TypeError);
        expect(await records.countSessionsForUser('alice')).toBe(2);
      });

      it('converts a table of raw ids in batches, keeping every live session and its user', async () => {
        const now = Date.now();
        const backend = h().createBackend();
        const where = { schema: backend.schema, table: h().table };
        const all = sessionMigrations(where, backend);
        // The table as sessionsql 0.1 left it: only the first migration, raw ids in rows.
        const old = new Migrator({
          db: backend.db,
          provider: { getMigrations: async () => ({ '0001_create_sessions': all['0001_create_sessions']! }) },
          migrationTableName: `${h().table}_migrations`,
          migrationLockTableName: `${h().table}_migrations_lock`,
          ...(backend.schema === undefined ? {} : { migrationTableSchema: backend.schema }),
        });
        expect((await old.migrateToLatest()).error).toBeUndefined();
        await h().insertRows(2_500, now + HOUR, 'raw-', 'alice');
        await h().insertRows(300, now - 1, 'gone-', 'alice');
        await h().insertRows(1, now + HOUR, 'raw-anon-');
        const records = open();
        await records.ready();
        expect((await records.load('raw-1'))?.data).toEqual({ cookie: {} });
        expect((await records.load('raw-2500'))?.data).toEqual({ cookie: {} });
        expect(await records.load('raw-anon-1')).not.toBeNull();
        expect(await records.countSessionsForUser('alice')).toBe(2_500);
        const count = await h().query<{ n: number | string }>(`select count(*) as n from ${h().qualifiedTable}`);
        expect(Number(count[0]!.n)).toBe(2_501);
        expect(await tableText()).not.toContain('raw-');
        // The holding table is gone, and a second start has nothing to do.
        await expect(
          h().query(`select count(*) from ${h().qualifiedTable.replace(/"$/, '_unhashed"')}`),
        ).rejects.toThrow();
        const again = open();
        await again.ready();
        expect(await again.count()).toBe(2_501);
      });
    });

    describe('encryption', () => {
      const k1 = randomBytes(32).toString('base64');
      const k2 = randomBytes(32).toString('hex');

      it('stores ciphertext only; reads, lists and throttles as usual', async () => {
        let now = 70_000_000;
        const records = open({ encryptionKeys: [k1], touchAfterMs: 60_000, clock: () => now });
        await records.save('enc', { userId: 'alice', token: SECRET }, now + HOUR);
        expect(await tableText()).not.toContain(SECRET);
        expect(await tableText()).not.toContain('alice","token');
        expect((await records.load('enc'))?.data).toEqual({ userId: 'alice', token: SECRET });
        expect((await records.listSessionsForUser('alice'))[0]!.data).toEqual({ userId: 'alice', token: SECRET });
        const dumped = [];
        for await (const s of records.dump()) dumped.push(s.data);
        expect(dumped).toEqual([{ userId: 'alice', token: SECRET }]);
        const before = await tableText();
        now += 1000;
        await records.save('enc', { userId: 'alice', token: SECRET }, now + HOUR);
        expect(await tableText()).toBe(before);
      });

      it('rotates keys: the first encrypts, all decrypt; a missing or wrong key is reported and reads as missing', async () => {
        const reported: SessionStoreError[] = [];
        const onError = (e: SessionStoreError) => reported.push(e);
        const old = open({ encryptionKeys: [k1] });
        await old.save('written-with-k1', { userId: 'u', token: SECRET }, Date.now() + HOUR);
        const rotated = open({ encryptionKeys: [k2, k1], onError });
        expect((await rotated.load('written-with-k1'))?.data).toEqual({ userId: 'u', token: SECRET });
        await rotated.save('written-with-k2', { userId: 'u', token: SECRET }, Date.now() + HOUR);
        const onlyNew = open({ encryptionKeys: [k2], onError });
        expect((await onlyNew.load('written-with-k2'))?.data).toEqual({ userId: 'u', token: SECRET });
        expect(await onlyNew.load('written-with-k1')).toBeNull();
        expect(reported.map((e) => e.code)).toEqual(['DECRYPTION_FAILED']);
        expect(reported[0]!.message).toMatch(/key that is not in encryptionKeys/);
        const wrong = open({ encryptionKeys: [randomBytes(32)], onError });
        expect(await wrong.load('written-with-k2')).toBeNull();
        const none = open({ onError });
        expect(await none.load('written-with-k2')).toBeNull();
        expect(reported.map((e) => e.code)).toEqual(['DECRYPTION_FAILED', 'DECRYPTION_FAILED', 'DECRYPTION_FAILED']);
        expect(reported[2]!.message).toMatch(/no encryptionKeys/);
        for (const e of reported) expect(`${e.message} ${String(e.stack)}`).not.toContain(SECRET);
      });

      it('refuses a row moved to another session, and plaintext unless readUnencrypted', async () => {
        const reported: SessionStoreError[] = [];
        const records = open({ encryptionKeys: [k1], onError: (e: SessionStoreError) => reported.push(e) });
        await records.save('victim', { userId: 'v', role: 'admin' }, Date.now() + HOUR);
        await records.save('attacker', { userId: 'a', role: 'user' }, Date.now() + HOUR);
        const [victim] = await h().query<{ data: unknown }>(`select data from ${h().qualifiedTable} where id = ?`, [
          sessionKey('victim'),
        ]);
        const data = typeof victim!.data === 'string' ? victim!.data : JSON.stringify(victim!.data);
        await h().query(`update ${h().qualifiedTable} set data = ? where id = ?`, [data, sessionKey('attacker')]);
        expect(await records.load('attacker')).toBeNull();
        expect(reported[0]?.message).toMatch(/does not authenticate/);
        const plain = open();
        await plain.save('from-before', { userId: 'p' }, Date.now() + HOUR);
        expect(await records.load('from-before')).toBeNull();
        expect(reported[1]?.message).toMatch(/stored unencrypted; set readUnencrypted/);
        const migrating = open({ encryptionKeys: [k1], readUnencrypted: true });
        expect((await migrating.load('from-before'))?.data).toEqual({ userId: 'p' });
      });

      it('refuses keys that are not 32 bytes, before opening anything', () => {
        for (const keys of [[], ['short'], [randomBytes(16)], 'not-an-array']) {
          expect(() => open({ encryptionKeys: keys })).toThrow(/encryptionKeys/);
        }
      });
    });
  });
}
