/** Whole-table operations for operators (records.table), per dialect: stats and moving rows. */
import { SessionRecordStore, sessionKey, sessionMigrations } from '@sessionsql/core';
import { Migrator } from 'kysely';
import { describe, expect, it } from 'vitest';
import { selectedDialects, useStoreHarness } from './dialects.js';

const HOUR = 3_600_000;

for (const dialect of selectedDialects()) {
  describe(`${dialect}: session table`, () => {
    const h = useStoreHarness(dialect);
    const open = (options: Record<string, unknown> = {}) =>
      new SessionRecordStore(h().createBackend(), { tableName: h().table, pruneIntervalMs: false, ...options });

    it('reports live and expired sessions, users, the top users, times, sizes and the schema version', async () => {
      let now = 80_000_000;
      const records = open({ clock: () => now });
      await records.save('a1', { userId: 'alice' }, now + HOUR);
      now += 1000;
      await records.save('a2', { userId: 'alice' }, now + HOUR);
      await records.save('b1', { userId: 'bob' }, now + HOUR);
      await records.save('anon', {}, now + HOUR);
      await records.save('old', { userId: 'carol' }, now + 10);
      now += 100;
      const stats = await records.table.stats({ topUsers: 1 });
      expect(stats).toMatchObject({
        live: 4,
        expired: 1,
        users: 2,
        topUsers: [{ userId: 'alice', sessions: 2 }],
        oldestCreatedAt: 80_000_000,
        newestCreatedAt: 80_001_000,
        migrations: [
          '0001_create_sessions',
          '0002_hash_session_ids',
          '0003_expiry_index_with_created_at',
          '0004_user_index_without_expiry',
        ],
      });
      expect(stats.tableBytes).toBeGreaterThan(0);
      expect(stats.indexBytes).toBeGreaterThan(0);
    });

    it('upgrades a 0002 table: the expiry index gets created_at and the user, the user index loses the expiry, stats reads from them', async () => {
      const backend = h().createBackend();
      const all = sessionMigrations({ schema: backend.schema, table: h().table }, backend);
      const upTo0002 = new Migrator({
        db: backend.db,
        provider: {
          getMigrations: async () => ({
            '0001_create_sessions': all['0001_create_sessions']!,
            '0002_hash_session_ids': all['0002_hash_session_ids']!,
          }),
        },
        migrationTableName: `${h().table}_migrations`,
        migrationLockTableName: `${h().table}_migrations_lock`,
        ...(backend.schema === undefined ? {} : { migrationTableSchema: backend.schema }),
      });
      expect((await upTo0002.migrateToLatest()).error).toBeUndefined();
      const t = h().table;
      expect(await h().indexes()).toEqual([
        `${t}_expires_at_idx(expires_at)`,
        `${t}_user_id_idx(user_id, expires_at) partial`,
      ]);
      const now = Date.now();
      await h().insertRows(50, now + HOUR, 'live-', 'alice');
      await h().insertRows(5, now - 1, 'gone-', 'alice');
      await h().insertRows(3, now + HOUR, 'bob-', 'bob');
      await h().insertRows(4, now + HOUR, 'anon-', null);
      await h().query(`update ${h().qualifiedTable} set created_at = ? where id = ?`, [
        h().dialect === 'postgres' ? new Date(now - HOUR) : now - HOUR,
        'live-7',
      ]);
      const records = open();
      const stats = await records.table.stats();
      expect(await h().indexes()).toEqual([
        `${t}_by_user_idx(user_id) partial`,
        `${t}_expiry_user_idx(expires_at, created_at, user_id)`,
      ]);
      expect(stats).toMatchObject({
        live: 57,
        expired: 5,
        users: 2,
        topUsers: [
          { userId: 'alice', sessions: 50 },
          { userId: 'bob', sessions: 3 },
        ],
        oldestCreatedAt: now - HOUR,
      });
      expect(await records.countSessionsForUser('alice')).toBe(50);
      expect((await records.listSessionsForUser('bob')).map((s) => s.userId)).toEqual(['bob', 'bob', 'bob']);
      // Run again, as after an interruption: nothing changes.
      await all['0004_user_index_without_expiry']!.up(backend.db);
      expect(await h().indexes()).toEqual([
        `${t}_by_user_idx(user_id) partial`,
        `${t}_expiry_user_idx(expires_at, created_at, user_id)`,
      ]);
      expect(stats.newestCreatedAt).toBeGreaterThanOrEqual(now);
      expect(stats.migrations.at(-1)).toBe('0004_user_index_without_expiry');
      expect(await records.table.migrations()).toEqual(stats.migrations);
      expect(stats.migrations).toHaveLength(4);
    });

    it('analyze() brings the database statistics of the table up to date', async () => {
      const records = open();
      await records.ready();
      await h().insertRows(200, Date.now() + HOUR, 'bulk-', 'alice');
      await records.table.analyze();
      if (h().dialect === 'postgres') {
        const [row] = await h().query<{ vacuumed: boolean; analyzed: boolean }>(
          `select last_vacuum is not null as vacuumed, last_analyze is not null as analyzed
             from pg_stat_user_tables where relid = '${h().qualifiedTable}'::regclass`,
        );
        expect(row).toEqual({ vacuumed: true, analyzed: true });
      } else {
        const rows = await h().query<{ idx: string }>('select idx from sqlite_stat1 where tbl = ? order by idx', [
          h().table,
        ]);
        expect(rows.map((r) => r.idx)).toEqual([
          `${h().table}_by_user_idx`,
          `${h().table}_expiry_user_idx`,
          `sqlite_autoindex_${h().table}_1`,
        ]);
      }
      expect(await records.table.stats()).toMatchObject({ live: 200, users: 1 });
    });

    it('moves rows as stored, page by page, idempotently; an older copy never overwrites a newer row', async () => {
      const from = open();
      const expiresAt = Date.now() + HOUR;
      for (let i = 0; i < 25; i++) await from.save(`s${i}`, { userId: `u${i % 3}`, i }, expiresAt);
      await from.save('expired', { userId: 'u0' }, Date.now() - 1);
      const rows = [];
      for (let after: string | undefined; ; ) {
        const page = await from.table.exportRows({ limit: 10, ...(after === undefined ? {} : { after }) });
        rows.push(...page);
        if (page.length < 10) break;
        after = page[page.length - 1]!.key;
      }
      expect(rows.map((r) => r.key)).toEqual(Array.from({ length: 25 }, (_, i) => sessionKey(`s${i}`)).sort());
      await from.clearAll();
      expect(await from.table.importRows(rows)).toBe(25);
      expect(await from.table.importRows(rows)).toBeGreaterThanOrEqual(0);
      expect(await from.count()).toBe(25);
      expect((await from.load('s7'))?.data).toEqual({ userId: 'u1', i: 7 });
      expect(await from.countSessionsForUser('u0')).toBe(9);
      await from.save('s7', { userId: 'u1', i: 'newer' }, expiresAt);
      await from.table.importRows(rows);
      expect((await from.load('s7'))?.data).toEqual({ userId: 'u1', i: 'newer' });
      await expect(from.table.importRows([{ ...rows[0]!, key: 'raw-id' }])).rejects.toThrow(TypeError);
    });

    it('imports sessions under their ids, with their users from getUserId', async () => {
      const records = open({ getUserId: (s: { account?: string }) => s.account });
      const expiresAt = Date.now() + HOUR;
      expect(
        await records.table.importSessions([
          { id: 'peer-1', data: { account: 'alice', cart: [1] }, expiresAt },
          { id: 'peer-2', data: { cart: [] }, expiresAt },
        ]),
      ).toBe(2);
      expect((await records.load('peer-1'))?.data).toEqual({ account: 'alice', cart: [1] });
      expect(await records.listSessionHandlesForUser('alice')).toEqual([sessionKey('peer-1')]);
    });

    if (dialect !== 'postgres') {
      it('counts users for stats from the two indexes alone, the users in index order', async () => {
        const records = open();
        await records.ready();
        const backend = h().createBackend();
        const query = backend.statements?.(backend.db, { schema: undefined, table: h().table }).liveUserCounts;
        expect(query).toBeDefined();
        const plan = (await h().query<{ detail: string }>(`explain query plan ${query!.sql}`, [Date.now(), 10])).map(
          (row) => row.detail,
        );
        expect(plan).toContain(`SEARCH ${h().table} USING COVERING INDEX ${h().table}_by_user_idx (user_id>?)`);
        expect(plan).toContain(`SEARCH ${h().table} USING COVERING INDEX ${h().table}_expiry_user_idx (expires_at<?)`);
        expect(plan.filter((step) => step.startsWith(`SCAN ${h().table}`))).toEqual([]);
        await backend.close();
      });
    }

    if (dialect === 'postgres') {
      it('keeps data as json (text as stored, a NUL too); a jsonb table from an earlier sessionsql works the same', async () => {
        let now = 90_000_000;
        const dataType = async () =>
          (
            await h().query<{ type: string }>(
              `select format_type(atttypid, atttypmod) as type from pg_attribute
                where attrelid = '${h().qualifiedTable}'::regclass and attname = 'data'`,
            )
          )[0]?.type;
        const fresh = open({ clock: () => now });
        await fresh.save('nul', { v: 'a\u0000b' }, now + HOUR);
        expect((await fresh.load('nul'))?.data).toEqual({ v: 'a\u0000b' });
        expect(await dataType()).toBe('json');
        await fresh.save('ordered', { z: 1, a: { y: 2, b: 3 } }, now + HOUR);
        const [stored] = await h().query<{ text: string }>(
          `select data::text as text from ${h().qualifiedTable} where id = ?`,
          [sessionKey('ordered')],
        );
        expect(stored?.text).toBe('{"z":1,"a":{"y":2,"b":3}}');
        await fresh.clearAll();
        await fresh.close();

        await h().query(`alter table ${h().qualifiedTable} alter column data type jsonb`);
        expect(await dataType()).toBe('jsonb');
        // A new store: named statements prepared before a type change fail on their connection.
        const old = open({ clock: () => now, touchAfterMs: 60_000 });
        // Keys jsonb hands back in another order than they were written.
        const data = { zeta: 1, alpha: { b: 2, a: 1 }, userId: 'alice' };
        await Promise.all(Array.from({ length: 20 }, (_, i) => old.save(`s${i}`, { ...data, i }, now + HOUR)));
        const loaded = await Promise.all(Array.from({ length: 20 }, (_, i) => old.load(`s${i}`)));
        expect(loaded.map((row) => row?.data)).toEqual(Array.from({ length: 20 }, (_, i) => ({ ...data, i })));
        now += 1000;
        const updatedAt = async (id: string) =>
          (
            await h().query<{ updated_at: Date }>(`select updated_at from ${h().qualifiedTable} where id = ?`, [
              sessionKey(id),
            ])
          )[0]?.updated_at.getTime();
        // The same data, an expiry moved by less than touchAfterMs: nothing is written.
        await old.save('s0', { ...data, i: 0 }, now + HOUR);
        expect(await updatedAt('s0')).toBe(now - 1000);
        await Promise.all(Array.from({ length: 20 }, (_, i) => old.touch(`s${i}`, now + 2 * HOUR)));
        expect(await updatedAt('s0')).toBe(now);
        // Changed data of loaded sessions: updates, in one statement.
        await Promise.all(Array.from({ length: 20 }, (_, i) => old.save(`s${i}`, { ...data, i, v: 2 }, now + HOUR)));
        const changed = await Promise.all(Array.from({ length: 20 }, (_, i) => old.load(`s${i}`)));
        expect(changed.map((row) => row?.data)).toEqual(Array.from({ length: 20 }, (_, i) => ({ ...data, i, v: 2 })));
        expect(await old.countSessionsForUser('alice')).toBe(20);
      });
    }
  });
}
